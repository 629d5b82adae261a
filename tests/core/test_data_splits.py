"""Splits: seeded, sized by the spec's fractions, stratified for classification, with a clear
fallback when a class is too small."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from layerlab.core.data import DataError, load
from layerlab.core.data.splits import split_indices, split_sizes
from layerlab.core.specs import DataSpec


def _shares(y: torch.Tensor, k: int) -> np.ndarray:
    return np.bincount(y.numpy(), minlength=k) / len(y)


def test_stratification_keeps_class_ratios():
    # breast cancer is imbalanced (37% / 63%): every split keeps that ratio
    ds = load(DataSpec(dataset="breast_cancer", val_fraction=0.2, test_fraction=0.2))
    all_y = torch.cat([ds.y_train, ds.y_val, ds.y_test])
    overall = _shares(all_y, 2)
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert np.abs(_shares(y, 2) - overall).max() < 0.01
    assert ds.notes == []


def test_stratified_split_of_an_imbalanced_label_vector():
    y = np.array([0] * 900 + [1] * 90 + [2] * 10)
    tr, va, te, note = split_indices(y, 0.1, 0.1, seed=0, stratify=True)
    assert note == ""
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(1000))   # a partition
    assert np.bincount(y[va]).tolist() == [90, 9, 1] and np.bincount(y[te]).tolist() == [90, 9, 1]


def test_split_is_seeded():
    y = np.arange(200) % 4
    a = split_indices(y, 0.2, 0.2, seed=5, stratify=True)
    b = split_indices(y, 0.2, 0.2, seed=5, stratify=True)
    c = split_indices(y, 0.2, 0.2, seed=6, stratify=True)
    assert all(np.array_equal(p, q) for p, q in zip(a[:3], b[:3]))
    assert not np.array_equal(a[0], c[0])


def test_fallback_when_a_class_is_too_small_says_so():
    y = np.array([0] * 50 + [1] * 50 + [2])          # class 2 has a single sample
    tr, va, te, note = split_indices(y, 0.2, 0.2, seed=0, stratify=True, class_names=["a", "b", "rare"])
    assert len(tr) + len(va) + len(te) == 101
    assert "not stratified" in note and "'rare'" in note and "1 sample" in note and "add samples" in note


def test_fallback_reaches_the_dataset_notes(tmp_path):
    rows = ["x,y"] + [f"{i},{'a' if i % 2 else 'b'}" for i in range(40)] + ["99,c"]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    ds = load(DataSpec(dataset="csv", path="d.csv"), base_dir=tmp_path)
    assert ds.num_classes == 3 and any("not stratified" in n and "'c'" in n for n in ds.notes)


def test_sizes_follow_fractions_and_zero_fractions_give_empty_splits():
    assert split_sizes(100, 0.15, 0.15) == (70, 15, 15)
    assert split_sizes(10, 0.01, 0.01) == (8, 1, 1)            # asked-for splits get at least one
    ds = load(DataSpec(dataset="iris", val_fraction=0.0, test_fraction=0.0))
    assert ds.sizes == (150, 0, 0)
    assert ds.x_val.shape == (0, 4) and ds.y_test.shape == (0,) and ds.y_val.dtype == torch.int64


def test_too_few_samples_is_a_clear_error():
    with pytest.raises(DataError, match="leave none for training"):
        split_sizes(2, 0.3, 0.3)


def test_sequence_targets_are_split_without_stratification():
    ds = load(DataSpec(dataset="reverse", options={"n_samples": 100}))
    assert ds.sizes == (70, 15, 15) and ds.notes == []
