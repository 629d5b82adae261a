"""Image folders (Pillow), MNIST-style IDX files and NumPy .npz files, written for real."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from layerlab.core.data import DataError, load
from layerlab.core.data.arrays import read_idx
from layerlab.core.specs import DataSpec

# ------------------------------------------------------------------ image folders


def _image_folder(root, per_class=6):
    """red/ holds red squares, blue/ blue ones (PNG, JPEG and a transparent PNG), different sizes."""
    for name, rgb in (("red", (250, 10, 10)), ("blue", (10, 10, 250))):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            size = (12 + i, 20 - i)
            Image.new("RGB", size, rgb).save(root / name / f"{i}.png")
        Image.new("RGB", (40, 30), rgb).save(root / name / "big.jpg", quality=95)
        Image.new("RGBA", (9, 9), rgb + (255,)).save(root / name / "alpha.png")
        (root / name / "notes.txt").write_text("not an image, skipped")
        (root / name / ".DS_Store").write_bytes(b"\0\1")
    return root


def test_image_folder_loads_channel_first_in_unit_range(tmp_path):
    root = _image_folder(tmp_path / "imgs")
    ds = load(DataSpec(dataset="images", path="imgs", options={"size": 16}, val_fraction=0.2,
                       test_fraction=0.2, preprocessing="none"), base_dir=tmp_path)
    assert ds.class_names == ["blue", "red"] and ds.num_classes == 2
    assert ds.input_shape == (3, 16, 16) and ds.x_train.dtype == torch.float32
    assert sum(ds.sizes) == 16 and ds.feature_names == []
    x = torch.cat([ds.x_train, ds.x_val, ds.x_test])
    y = torch.cat([ds.y_train, ds.y_val, ds.y_test])
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    red = x[:, 0].mean((1, 2)) > x[:, 2].mean((1, 2))
    assert torch.equal(red, y == 1)                        # the pixels match the class folder
    assert root.exists()


def test_image_folder_grayscale_and_rectangular_size(tmp_path):
    _image_folder(tmp_path / "imgs")
    ds = load(DataSpec(dataset="images", path=str(tmp_path / "imgs"),
                       options={"size": [8, 12], "grayscale": True}), base_dir=None)
    assert ds.input_shape == (1, 8, 12)
    assert ds.preprocessor.kind == "standardize" and ds.preprocessor.n_features == 96


def test_broken_image_is_named(tmp_path):
    root = _image_folder(tmp_path / "imgs")
    (root / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
    with pytest.raises(DataError) as e:
        load(DataSpec(dataset="images", path="imgs"), base_dir=tmp_path)
    assert "broken.png" in str(e.value) and "remove or replace" in str(e.value)


@pytest.mark.parametrize("layout, words", [
    ("flat", ["sub-folder"]),
    ("empty_class", ["'dogs'", "no images"]),
    ("file", ["needs a folder"]),
])
def test_bad_image_folders(tmp_path, layout, words):
    root = tmp_path / "imgs"
    root.mkdir()
    if layout == "flat":
        Image.new("RGB", (4, 4)).save(root / "a.png")
        (root / "cats").mkdir()
    elif layout == "empty_class":
        (root / "cats").mkdir()
        Image.new("RGB", (4, 4)).save(root / "cats" / "a.png")
        (root / "dogs").mkdir()
    else:
        root = tmp_path / "x.png"
        Image.new("RGB", (4, 4)).save(root)
    with pytest.raises(DataError) as e:
        load(DataSpec(dataset="images", path=str(root)))
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("opts", [{"size": 0}, {"size": "big"}, {"grayscale": "yes"}])
def test_bad_image_options(tmp_path, opts):
    _image_folder(tmp_path / "imgs", per_class=2)
    with pytest.raises(DataError, match="data.options"):
        load(DataSpec(dataset="images", path="imgs", options=opts), base_dir=tmp_path)


# ------------------------------------------------------------------ IDX


def _idx_bytes(arr: np.ndarray, code: int, fmt: str) -> bytes:
    """Hand-written IDX: 0, 0, type code, ndim, dims (big-endian uint32), big-endian values."""
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(fmt).tobytes()


def _mnist_like(tmp_path, n=40, gz=False):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 5, 4), dtype=np.uint8)
    labels = (np.arange(n) % 4).astype(np.uint8)
    img_b, lab_b = _idx_bytes(images, 0x08, ">u1"), _idx_bytes(labels, 0x08, ">u1")
    if gz:
        img_b, lab_b = gzip.compress(img_b), gzip.compress(lab_b)
    (tmp_path / "raw").mkdir(exist_ok=True)
    (tmp_path / "raw" / "imgs.idx").write_bytes(img_b)
    (tmp_path / "raw" / "labels.idx").write_bytes(lab_b)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    images, labels = _mnist_like(tmp_path, gz=gz)
    ds = load(DataSpec(dataset="idx", path="raw/imgs.idx", options={"labels": "raw/labels.idx"},
                       preprocessing="none"), base_dir=tmp_path)
    assert ds.input_shape == (1, 5, 4) and ds.num_classes == 4 and ds.class_names == ["0", "1", "2", "3"]
    x = torch.cat([ds.x_train, ds.x_val, ds.x_test]).numpy()
    y = torch.cat([ds.y_train, ds.y_val, ds.y_test]).numpy()
    # every loaded sample is one of the written images (scaled to [0, 1]) with its own label
    written = {images[i].tobytes(): int(labels[i]) for i in range(len(images))}
    for xi, yi in zip(x, y):
        key = np.rint(xi[0] * 255).astype(np.uint8).tobytes()
        assert written[key] == yi


def test_idx_labels_beside_the_images_and_other_dtypes(tmp_path):
    _mnist_like(tmp_path)
    ds = load(DataSpec(dataset="idx", path="raw/imgs.idx", options={"labels": "labels.idx"}), base_dir=tmp_path)
    assert sum(ds.sizes) == 40
    arr = np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5
    (tmp_path / "f.idx").write_bytes(_idx_bytes(arr, 0x0D, ">f4"))
    assert np.array_equal(read_idx(tmp_path / "f.idx"), arr)
    shorts = np.array([[-300, 2], [7, 30000]], dtype=np.int16)
    (tmp_path / "s.idx").write_bytes(_idx_bytes(shorts, 0x0B, ">i2"))
    assert np.array_equal(read_idx(tmp_path / "s.idx"), shorts)


@pytest.mark.parametrize("damage, words", [
    (lambda b: b[:-7], ["truncated", "promises 40×5×4 unsigned byte", "800 bytes", "793"]),
    (lambda b: b[:9], ["truncated inside its header"]),
    (lambda b: b + b"\0\0", ["2 bytes after"]),
    (lambda b: b"\1\2" + b[2:], ["not an IDX file"]),
    (lambda b: b[:2] + b"\x42" + b[3:], ["unknown type code 0x42"]),
    (lambda b: b[:2], ["too short"]),
])
def test_damaged_idx_is_refused(tmp_path, damage, words):
    _mnist_like(tmp_path)
    path = tmp_path / "raw" / "imgs.idx"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError) as e:
        load(DataSpec(dataset="idx", path="raw/imgs.idx", options={"labels": "raw/labels.idx"}), base_dir=tmp_path)
    for w in words:
        assert w in str(e.value)


def test_idx_needs_matching_labels(tmp_path):
    _mnist_like(tmp_path)
    with pytest.raises(DataError, match="labels file"):
        load(DataSpec(dataset="idx", path="raw/imgs.idx"), base_dir=tmp_path)
    (tmp_path / "few.idx").write_bytes(_idx_bytes(np.zeros(3, np.uint8), 0x08, ">u1"))
    with pytest.raises(DataError, match="40 samples but few.idx holds 3"):
        load(DataSpec(dataset="idx", path="raw/imgs.idx", options={"labels": "few.idx"}), base_dir=tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load(DataSpec(dataset="idx", path="raw/imgs.idx", options={"labels": "nope.idx"}), base_dir=tmp_path)


# ------------------------------------------------------------------ NPZ


def test_npz_features_and_labels(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 3)).astype(np.float64)
    y = np.array(["no", "yes"])[(x[:, 0] > 0).astype(int)]
    np.savez(tmp_path / "d.npz", X=x, y=y)
    ds = load(DataSpec(dataset="npz", path="d.npz", preprocessing="none"), base_dir=tmp_path)
    assert ds.class_names == ["no", "yes"] and ds.input_shape == (3,) and ds.x_train.dtype == torch.float32
    assert torch.equal(ds.y_train, (ds.raw_x_train[:, 0] > 0).long())


def test_npz_regression_images_and_tokens(tmp_path):
    x = np.random.default_rng(2).random((30, 2, 4, 4), dtype=np.float32)
    np.savez(tmp_path / "r.npz", X=x, y=x.sum(axis=(1, 2, 3)))
    ds = load(DataSpec(dataset="npz", path="r.npz"), base_dir=tmp_path)
    assert ds.task == "regression" and ds.input_shape == (2, 4, 4) and ds.y_train.shape[1:] == (1,)
    tokens = np.random.default_rng(3).integers(0, 50, size=(40, 6))
    np.savez(tmp_path / "t.npz", X=tokens, y=np.roll(tokens, -1, axis=1))
    ds = load(DataSpec(dataset="npz", path="t.npz", task="classification", options={"input_dtype": "long"}),
              base_dir=tmp_path)
    assert ds.input_dtype == "long" and ds.x_train.dtype == torch.int64 and ds.y_train.shape[1:] == (6,)
    assert ds.preprocessor.kind == "none" and ds.num_classes == int(tokens.max()) + 1


def test_npz_object_array_is_refused_without_unpickling(tmp_path):
    x = np.empty(4, dtype=object)
    x[:] = [{"a": 1}, [1, 2], "s", None]
    np.savez(tmp_path / "o.npz", X=x, y=np.arange(4))
    with pytest.raises(DataError) as e:
        load(DataSpec(dataset="npz", path="o.npz"), base_dir=tmp_path)
    msg = str(e.value)
    assert "'X'" in msg and "dtype=object" in msg and "never unpickles" in msg and "np.asarray" in msg


@pytest.mark.parametrize("arrays, words", [
    ({"features": np.zeros((4, 2)), "y": np.arange(4)}, ["no 'X'", "np.savez"]),
    ({"X": np.zeros((4, 2))}, ["no 'y'"]),
    ({"X": np.zeros((4, 2)), "y": np.arange(5)}, ["4 samples but y has 5"]),
    ({"X": np.array([[1.0, np.nan]] * 4), "y": np.arange(4) % 2}, ["NaN", "sample 1"]),
    ({"X": np.array([["a", "b"]] * 4), "y": np.arange(4) % 2}, ["not numbers"]),
])
def test_bad_npz_contents(tmp_path, arrays, words):
    np.savez(tmp_path / "b.npz", **arrays)
    with pytest.raises(DataError) as e:
        load(DataSpec(dataset="npz", path="b.npz"), base_dir=tmp_path)
    for w in words:
        assert w in str(e.value)


def test_not_an_npz(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"hello, not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load(DataSpec(dataset="npz", path="junk.npz"), base_dir=tmp_path)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(DataError, match="single array"):
        load(DataSpec(dataset="npz", path="one.npy"), base_dir=tmp_path)
