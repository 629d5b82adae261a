"""Built-in data sets: shapes, dtypes, classes, seeding, options, and the text / reverse tasks."""
from __future__ import annotations

import json

import pytest
import torch

from layerlab.core.data import DATASETS, OPTIONS, DataError, Dataset, decode_text, load
from layerlab.core.resources import template_path
from layerlab.core.specs import BUILTIN_DATASETS, FILE_SOURCES, DataSpec

# name -> (task, input_shape, input_dtype, num_classes, per-sample target shape)
EXPECTED = {
    "spiral": ("classification", (2,), "float", 3, ()),
    "moons": ("classification", (2,), "float", 2, ()),
    "circles": ("classification", (2,), "float", 2, ()),
    "xor": ("classification", (2,), "float", 2, ()),
    "blobs": ("classification", (2,), "float", 3, ()),
    "sine": ("regression", (1,), "float", 0, (1,)),
    "digits": ("classification", (1, 8, 8), "float", 10, ()),
    "iris": ("classification", (4,), "float", 3, ()),
    "wine": ("classification", (13,), "float", 3, ()),
    "breast_cancer": ("classification", (30,), "float", 2, ()),
    "diabetes": ("regression", (10,), "float", 0, (1,)),
    "reverse": ("classification", (8,), "long", 10, (8,)),
    "text": ("classification", (32,), "long", 128, (32,)),
}


def test_every_builtin_is_described_and_tested():
    assert set(EXPECTED) == set(BUILTIN_DATASETS)
    assert set(DATASETS) == set(BUILTIN_DATASETS) | set(FILE_SOURCES)
    assert all(isinstance(v, str) and v for v in DATASETS.values())
    assert set(OPTIONS) == set(DATASETS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_loads_with_contract_shapes(name):
    task, shape, dtype, k, tshape = EXPECTED[name]
    ds = load(DataSpec(dataset=name))
    assert isinstance(ds, Dataset)
    assert (ds.name, ds.task, ds.input_shape, ds.input_dtype, ds.num_classes) == (name, task, shape, dtype, k)
    xdt = torch.int64 if dtype == "long" else torch.float32
    ydt = torch.int64 if task == "classification" else torch.float32
    n_total = 0
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)):
        assert x.dtype == xdt and y.dtype == ydt
        assert tuple(x.shape[1:]) == shape and tuple(y.shape[1:]) == tshape
        assert len(x) == len(y) > 0
        n_total += len(x)
        if dtype == "float":
            assert torch.isfinite(x).all()
    tr, va, te = ds.sizes
    assert abs(va / n_total - 0.15) < 0.02 and abs(te / n_total - 0.15) < 0.02
    assert ds.raw_x_train.shape == ds.x_train.shape and ds.raw_x_train.dtype == xdt
    assert ds.preprocessor.fitted_on == tr
    if task == "classification":
        assert len(ds.class_names) == k
        assert int(ds.y_train.min()) >= 0 and int(ds.y_train.max()) < k
        if tshape == ():   # every class shows up in train
            assert set(ds.y_train.tolist()) == set(range(k))
    else:
        assert ds.class_names == []


def test_digits_are_images_scaled_to_unit_range():
    ds = load(DataSpec(dataset="digits", preprocessing="none"))
    assert ds.x_train.shape[1:] == (1, 8, 8)
    assert float(ds.x_train.min()) == 0.0 and float(ds.x_train.max()) == 1.0
    assert ds.feature_names == [] and ds.class_names == [str(d) for d in range(10)]
    assert sum(ds.sizes) == 1797


def test_tabular_builtins_name_their_features():
    assert load(DataSpec(dataset="iris")).feature_names[0].startswith("sepal length")
    assert len(load(DataSpec(dataset="diabetes")).feature_names) == 10


def test_same_seed_same_data_other_seed_other_data():
    a = load(DataSpec(dataset="spiral", seed=3))
    b = load(DataSpec(dataset="spiral", seed=3))
    c = load(DataSpec(dataset="spiral", seed=4))
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "raw_x_train"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.raw_x_train, c.raw_x_train)
    # a real data set: the same seed gives the same split, another seed another split
    d1, d2, d3 = (load(DataSpec(dataset="iris", seed=s)) for s in (1, 1, 2))
    assert torch.equal(d1.raw_x_train, d2.raw_x_train) and not torch.equal(d1.raw_x_train, d3.raw_x_train)


def test_options_size_and_shape_the_synthetic_sets():
    ds = load(DataSpec(dataset="spiral", options={"classes": 5, "n_samples": 1000, "noise": 0.0}))
    assert ds.num_classes == 5 and sum(ds.sizes) == 1000 and len(ds.class_names) == 5
    ds = load(DataSpec(dataset="blobs", options={"classes": 4, "n_samples": 200}))
    assert ds.num_classes == 4 and sum(ds.sizes) == 200
    ds = load(DataSpec(dataset="sine", options={"noise": 0.0}, preprocessing="none"))
    assert torch.allclose(ds.y_train[:, 0], torch.sin(ds.x_train[:, 0]), atol=1e-6)
    ds = load(DataSpec(dataset="moons", options={"n_samples": 100.0}))   # JSON may give 100.0
    assert sum(ds.sizes) == 100


def test_xor_labels_follow_the_quadrants_without_noise():
    ds = load(DataSpec(dataset="xor", options={"noise": 0.0}, preprocessing="none"))
    x, y = ds.raw_x_train, ds.y_train
    assert torch.equal(y, (x[:, 0] * x[:, 1] > 0).long())


@pytest.mark.parametrize("options, words", [
    ({"n_sample": 10}, ["'n_sample'", "n_samples"]),
    ({"n_samples": -5}, ["n_samples", "between"]),
    ({"n_samples": "many"}, ["n_samples", "whole number"]),
    ({"noise": "loud"}, ["noise", "number"]),
    ({"classes": 1}, ["classes", "between 2"]),
])
def test_bad_options_are_named(options, words):
    with pytest.raises(DataError) as e:
        load(DataSpec(dataset="spiral", options=options))
    for w in words:
        assert w in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("spec, words", [
    (DataSpec(dataset="nope"), ["unknown"]),
    (DataSpec(dataset="iris", task="regression"), ["classification", "auto"]),
    (DataSpec(dataset="iris", val_fraction=0.5, test_fraction=0.45), ["under 10%"]),
    (DataSpec(dataset="iris", seed=-1), ["seed"]),
    (DataSpec(dataset="iris", preprocessing="zca"), ["preprocessing"]),
    (DataSpec(dataset="csv"), ["data.path is empty"]),
    (DataSpec(dataset="iris", options={"size": 3}), ["'size'", "takes none"]),
])
def test_bad_specs_are_data_errors(spec, words):
    with pytest.raises(DataError) as e:
        load(spec)
    for w in words:
        assert w in str(e.value)


def test_reverse_targets_are_the_reversed_inputs():
    ds = load(DataSpec(dataset="reverse", options={"seq_len": 5, "n_samples": 300}))
    assert ds.input_shape == (5,) and ds.x_train.dtype == torch.int64
    assert torch.equal(ds.y_train, ds.x_train.flip(1))
    assert int(ds.x_train.max()) <= 9 and int(ds.x_train.min()) >= 0
    assert ds.preprocessor.kind == "none" and "token" in ds.preprocessor.stats_summary()


def test_text_is_next_character_prediction_on_ascii():
    ds = load(DataSpec(dataset="text"))
    x, y = ds.x_train, ds.y_train
    assert torch.equal(x[:, 1:], y[:, :-1])          # y is x shifted by one
    assert int(x.max()) < 128 and int(y.max()) < 128 and int(x.min()) >= 0
    assert ds.num_classes == 128 and len(ds.class_names) == 128 and ds.class_names[ord("a")] == "a"
    assert ds.preprocessor.kind == "none"            # token ids are never preprocessed
    text = decode_text(x[0])
    assert len(text) == 32 and text.isascii()
    total = sum(ds.sizes)
    assert total * 32 >= 30_000                       # the shipped corpus is 30-80 KB
    short = load(DataSpec(dataset="text", options={"seq_len": 16, "stride": 8}))
    assert short.input_shape == (16,) and sum(short.sizes) > 3 * total


def test_tiny_transformer_template_matches_the_text_set():
    project = json.loads(template_path("tiny_transformer").read_text())
    inp = next(n for n in project["graph"]["nodes"] if n["type"] == "Input")
    emb = next(n for n in project["graph"]["nodes"] if n["type"] == "Embedding")
    ds = load(DataSpec(dataset="text"))
    assert tuple(inp["params"]["shape"]) == ds.input_shape and inp["params"]["dtype"] == "int64"
    assert emb["params"]["vocab"] == ds.num_classes


def test_summary_is_one_line():
    s = load(DataSpec(dataset="digits")).summary()
    assert "digits" in s and "10 classes" in s and "\n" not in s


def test_options_from_forms_null_means_default_and_numeric_text_is_a_number():
    ds = load(DataSpec(dataset="text", options={"seq_len": "16", "stride": None}))
    assert ds.input_shape == (16,)
    ds = load(DataSpec(dataset="spiral", options={"noise": "0.1", "n_samples": " 300 "}))
    assert sum(ds.sizes) == 300
    with pytest.raises(DataError, match="whole number"):
        load(DataSpec(dataset="spiral", options={"n_samples": "3.5"}))


@pytest.mark.parametrize("seed", [0, 7, 12345])
@pytest.mark.parametrize("n, noise", [(100, 0.1), (101, 0.0), (1000, 0.3)])
def test_generated_toys_draw_what_sklearn_draws(seed, n, noise):
    """moons, circles and blobs are numpy copies of sklearn's make_* (no sklearn import, and the
    packaged app leaves sklearn out): the same seed gives the same points, draw for draw."""
    import numpy as np
    from sklearn import datasets as skd

    from layerlab.core.data.options import Options
    from layerlab.core.data.synthetic import blobs, circles, moons

    cases = [(moons, {}, lambda: skd.make_moons(n_samples=n, noise=noise, random_state=seed)),
             (circles, {"factor": 0.4}, lambda: skd.make_circles(n_samples=n, noise=noise, factor=0.4,
                                                                 random_state=seed))]
    cases += [(blobs, {"classes": k, "noise": noise + 0.5},
               lambda k=k: skd.make_blobs(n_samples=n, centers=k, cluster_std=noise + 0.5, random_state=seed))
              for k in (2, 3, 7)]
    for fn, extra, sk in cases:
        raw = fn(Options({"n_samples": n, "noise": noise, **extra}, fn.__name__), seed)
        x, y = sk()
        assert np.array_equal(raw.x, x.astype(np.float32)) and np.array_equal(raw.y, y), (fn.__name__, extra)


@pytest.mark.parametrize("name", ["digits", "iris", "wine", "breast_cancer", "diabetes"])
def test_bundled_tables_equal_sklearns_sets(name):
    """resources/datasets holds scikit-learn's files (re-laid out): the same values, feature and
    class names as its load_* functions, read without importing sklearn."""
    import numpy as np
    from sklearn import datasets as skd

    from layerlab.core.data.builtin import BUILTINS

    raw = BUILTINS[name](None, 0)
    if name == "digits":
        b = skd.load_digits()
        assert np.array_equal(raw.x, (b.images.astype(np.float32) / 16.0)[:, None])
    else:
        b = skd.load_diabetes(scaled=False) if name == "diabetes" else getattr(skd, f"load_{name}")()
        assert np.array_equal(raw.x, np.asarray(b.data, np.float32))
        assert raw.feature_names == [str(f) for f in b.feature_names]
    if name == "diabetes":
        assert np.array_equal(raw.y, np.asarray(b.target, np.float32).reshape(-1, 1)) and raw.class_names == []
    else:
        assert np.array_equal(raw.y, b.target) and raw.y.dtype == np.int64
        assert raw.class_names == [str(c) for c in b.target_names]


def test_loading_every_builtin_imports_no_sklearn():
    import subprocess
    import sys
    code = ("import sys\nfrom layerlab.core.data import load\nfrom layerlab.core.specs import BUILTIN_DATASETS, DataSpec\n"
            "for n in BUILTIN_DATASETS: load(DataSpec(dataset=n))\n"
            "print(sorted(m for m in ('sklearn', 'scipy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
