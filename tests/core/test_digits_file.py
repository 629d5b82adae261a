"""The digits set is read from the bundled copy of scikit-learn's data file without importing
scikit-learn, and equals sklearn.datasets.load_digits exactly."""
import numpy as np


def test_digits_read_directly_equal_load_digits():
    from sklearn.datasets import load_digits

    from layerlab.core.data.builtin import digits
    from layerlab.core.data.options import Options

    b = load_digits()
    raw = digits(Options({}, "test"), 0)
    assert raw.class_names == [str(int(c)) for c in b.target_names]
    assert np.array_equal(raw.x, (b.images.astype(np.float32) / 16.0)[:, None])
    assert np.array_equal(raw.y, b.target)
