"""The digits set is read from scikit-learn's data file without importing scikit-learn, and equals
sklearn.datasets.load_digits exactly."""
import numpy as np


def test_digits_read_directly_equal_load_digits():
    from sklearn.datasets import load_digits

    from layerlab.core.data.builtin import _digits_arrays, _digits_file, digits
    from layerlab.core.data.options import Options

    assert _digits_file() is not None
    images, target = _digits_arrays()
    b = load_digits()
    assert images.dtype == b.images.dtype and target.dtype == b.target.dtype
    assert np.array_equal(images, b.images) and np.array_equal(target, b.target)
    raw = digits(Options({}, "test"), 0)
    assert raw.class_names == [str(int(c)) for c in b.target_names]
    assert np.array_equal(raw.x, (b.images.astype(np.float32) / 16.0)[:, None])
