"""Preprocessing: statistics from the train split only, serialisation, PCA whitening, edge cases."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from layerlab.core.data import DataError, Preprocessor, load
from layerlab.core.specs import DataSpec


def _flat(x):
    return x.reshape(len(x), -1).double()


def test_standardize_uses_train_statistics_only():
    ds = load(DataSpec(dataset="wine", preprocessing="standardize"))
    tr, va = _flat(ds.x_train), _flat(ds.x_val)
    assert tr.mean(0).abs().max() < 1e-5
    assert (tr.std(0, unbiased=False) - 1).abs().max() < 1e-4
    # val is transformed with the train statistics, so it is not forced to mean 0 / std 1
    assert va.mean(0).abs().max() > 0.05
    # and the statistics differ from those of all the data
    raw_all = torch.cat([ds.raw_x_train, _raw_rest(ds)]).double()
    assert not np.allclose(ds.preprocessor.shift, raw_all.mean(0).numpy(), rtol=1e-4)
    assert np.allclose(ds.preprocessor.shift, ds.raw_x_train.double().mean(0).numpy(), rtol=1e-6)


def _raw_rest(ds):
    """Undo standardization on val/test to get their raw features back."""
    p = ds.preprocessor
    rest = torch.cat([ds.x_val, ds.x_test]).double().numpy()
    return torch.from_numpy(rest / p.scale + p.shift)


@pytest.mark.parametrize("kind", ["none", "center", "standardize", "minmax", "pca_whiten"])
def test_to_dict_from_dict_reproduces_transform(kind):
    ds = load(DataSpec(dataset="digits", preprocessing=kind))
    d = json.loads(json.dumps(ds.preprocessor.to_dict()))        # JSON-able
    assert d["kind"] == kind and d["input_shape"] == [1, 8, 8]
    if kind in ("center", "standardize", "minmax"):
        assert len(d["shift"]) == 64 and len(d["scale"]) == 64
    elif kind == "pca_whiten":
        assert len(d["shift"]) == 64 and np.asarray(d["matrix"]).shape == (64, 64)
    again = Preprocessor.from_dict(d)
    assert torch.equal(again.transform(ds.raw_x_train), ds.x_train)
    assert again.fitted_on == ds.preprocessor.fitted_on == len(ds.x_train)


def test_documented_formulas_hold_without_layerlab():
    ds = load(DataSpec(dataset="iris", preprocessing="minmax"))
    d = ds.preprocessor.to_dict()
    raw = ds.raw_x_train.double().numpy()
    manual = (raw - np.array(d["shift"])) * np.array(d["scale"])
    assert np.allclose(manual, ds.x_train.numpy(), atol=1e-5)
    assert manual.min() == pytest.approx(0, abs=1e-6) and manual.max() == pytest.approx(1, abs=1e-6)
    ds = load(DataSpec(dataset="iris", preprocessing="pca_whiten"))
    d = ds.preprocessor.to_dict()
    manual = (ds.raw_x_train.double().numpy() - np.array(d["shift"])) @ np.array(d["matrix"])
    assert np.allclose(manual, ds.x_train.numpy(), atol=1e-4)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "diabetes"])
def test_pca_whitening_gives_identity_covariance_on_train(name):
    ds = load(DataSpec(dataset=name, preprocessing="pca_whiten"))
    z = _flat(ds.x_train)
    assert z.mean(0).abs().max() < 1e-4
    cov = (z - z.mean(0)).T @ (z - z.mean(0)) / len(z)
    assert torch.allclose(cov, torch.eye(cov.shape[0], dtype=cov.dtype), atol=2e-2)
    assert ds.x_train.shape == ds.raw_x_train.shape            # full dimension kept


def test_pca_whitening_leaves_zero_variance_directions_finite():
    ds = load(DataSpec(dataset="digits", preprocessing="pca_whiten"))   # some pixels are always 0
    assert ds.preprocessor.constant > 0
    for x in (ds.x_train, ds.x_val, ds.x_test):
        assert torch.isfinite(x).all() and x.abs().max() < 1e3
    assert "constant direction" in ds.preprocessor.stats_summary()


@pytest.mark.parametrize("kind", ["center", "standardize", "minmax", "pca_whiten"])
def test_constant_features_stay_finite(kind):
    x = torch.randn(50, 3)
    x[:, 1] = 7.0
    p = Preprocessor.fit(kind, x)
    out = p.transform(x)
    assert torch.isfinite(out).all()
    if kind in ("standardize", "minmax"):
        assert p.scale[1] == 1.0 and p.constant == 1
        assert torch.all(out[:, 1] == 0)
    other = x.clone()
    other[:, 1] = 8.0   # unseen value in the constant column: still finite and moderate
    assert torch.isfinite(p.transform(other)).all() and p.transform(other).abs().max() < 100


def test_center_only_subtracts_the_mean():
    x = torch.tensor([[1.0, 10.0], [3.0, 30.0]])
    p = Preprocessor.fit("center", x)
    assert torch.allclose(p.transform(x), torch.tensor([[-1.0, -10.0], [1.0, 10.0]]))
    assert p.stats_summary() == "center: mean of 2 training samples, 2 features"


def test_stats_summary_is_a_sentence():
    ds = load(DataSpec(dataset="digits"))
    assert ds.preprocessor.stats_summary().startswith("standardize: mean/std of 1,257 training samples, 64 features")
    assert Preprocessor.fit("none", torch.zeros(4, 2)).stats_summary().startswith("none")


def test_transform_takes_one_sample_and_checks_shapes():
    ds = load(DataSpec(dataset="digits"))
    p = ds.preprocessor
    assert torch.equal(p.transform(ds.raw_x_train[0]), ds.x_train[0])
    with pytest.raises(DataError, match=r"\[1, 8, 8\]"):
        p.transform(torch.zeros(3, 64))


@pytest.mark.parametrize("bad, words", [
    ({"kind": "zca", "input_shape": [2]}, "unknown"),
    ({"kind": "standardize", "input_shape": [2], "shift": [0.0, 0.0]}, "'scale'"),
    ({"kind": "standardize", "input_shape": [2], "shift": [0.0], "scale": [1.0]}, "'shift'"),
    ({"kind": "pca_whiten", "input_shape": [2], "shift": [0, 0], "matrix": [[1, 0]]}, "'matrix'"),
    ({"kind": "center", "input_shape": [2], "shift": ["a", "b"], "scale": [1, 1]}, "numbers"),
    ({"kind": "center", "input_shape": [-2]}, "input_shape"),
    ([1, 2], "object"),
])
def test_from_dict_refuses_malformed_stats(bad, words):
    with pytest.raises(DataError, match=words):
        Preprocessor.from_dict(bad)


def test_pca_refuses_huge_feature_counts_and_nan():
    with pytest.raises(DataError, match="standardize"):
        Preprocessor.fit("pca_whiten", torch.zeros(4, 2000))
    x = torch.randn(10, 2)
    x[3, 1] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        Preprocessor.fit("standardize", x)


def test_preprocessing_is_reproducible_and_kind_follows_the_spec():
    for kind in ("none", "center", "standardize", "minmax", "pca_whiten"):
        ds = load(DataSpec(dataset="moons", preprocessing=kind))
        assert ds.preprocessor.kind == kind
        if kind == "none":
            assert torch.equal(ds.x_train, ds.raw_x_train)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 30), d=st.integers(1, 5), const=st.lists(st.booleans(), min_size=5, max_size=5),
       scale=st.sampled_from([1e-3, 1.0, 1e4]), seed=st.integers(0, 10_000),
       kind=st.sampled_from(["center", "standardize", "minmax", "pca_whiten"]))
def test_any_train_matrix_gives_finite_reproducible_transforms(n, d, const, scale, seed, kind):
    x = torch.from_numpy(np.random.default_rng(seed).normal(size=(n, d)) * scale).float()
    for j in range(d):
        if const[j]:
            x[:, j] = 3.0 * scale
    p = Preprocessor.fit(kind, x)
    out = p.transform(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert torch.equal(Preprocessor.from_dict(json.loads(json.dumps(p.to_dict()))).transform(x), out)
    if kind in ("center", "standardize"):   # train mean 0 (in units of the data for center)
        tol = 1e-5 * scale if kind == "center" else 1e-4
        assert (out.double().mean(0).abs() <= tol).all()
    if kind == "minmax":
        assert float(out.min()) >= -1e-5 and float(out.max()) <= 1 + 1e-5
