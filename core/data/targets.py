"""Turning a file's target values into LayerLab targets: classification (int64 class ids, [N]
or per-position [N, T]) or regression (float32 [N, k]), with the "auto" rule for the task."""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DataError

MAX_AUTO_CLASSES = 20


def guess_task(y: np.ndarray) -> str:
    """auto: text/bool targets, and whole numbers with at most 20 distinct values, are classes."""
    if y.dtype.kind in "OUSb":
        return "classification"
    if y.dtype.kind in "iu" or (y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all()):
        return "classification" if len(np.unique(y)) <= MAX_AUTO_CLASSES else "regression"
    return "regression"


def make_target(y: np.ndarray, task: str, source: str) -> tuple[np.ndarray, str, int, list[str]]:
    """-> (targets, task, num_classes, class_names). `source` names the target in messages."""
    y = np.asarray(y)
    if y.ndim == 0 or len(y) == 0:
        raise DataError(f"{source} is empty: the data set needs samples")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        bad = int(np.flatnonzero(~np.isfinite(y.reshape(len(y), -1)).any(axis=1))[0])
        raise DataError(f"{source} has a missing or infinite value at sample {bad + 1}: clean it")
    if task == "auto":
        task = guess_task(y)
    if task == "regression":
        if y.dtype.kind not in "iufb":
            raise DataError(f"{source} holds text ({_example(y)}), which regression cannot predict: "
                            "set data.task to classification or choose a numeric target")
        return y.astype(np.float32).reshape(len(y), -1), task, 0, []
    if y.ndim == 1:
        ids, k, names = class_table(y, source)
        if k > MAX_AUTO_CLASSES and k > len(y) // 2:
            raise DataError(f"{source} has {k:,} distinct values for {len(y):,} samples, too many for classes "
                            "(it looks continuous): set data.task to regression (or auto)")
        return ids, task, k, names
    if y.ndim == 2 and y.dtype.kind in "iuf":
        if y.dtype.kind == "f" and not (y == np.round(y)).all():
            raise DataError(f"{source} is 2-D with fractional values: per-position classes must be whole "
                            "numbers; set data.task to regression for real-valued targets")
        if y.min() < 0:
            raise DataError(f"{source} has a negative class id ({int(y.min())}): per-position classes must be "
                            "0, 1, 2, …")
        k = int(y.max()) + 1
        return y.astype(np.int64), task, max(k, 2), [str(i) for i in range(max(k, 2))]
    raise DataError(f"{source} is shaped {list(y.shape)}: classification targets must be one label per sample "
                    "[N] or per position [N, T]")


def class_table(labels: np.ndarray, source: str) -> tuple[np.ndarray, int, list[str]]:
    """Map arbitrary class labels (ints, strings) to ids 0..K-1 in sorted label order."""
    try:
        values, ids = np.unique(labels, return_inverse=True)
    except TypeError:   # mixed types in an object column
        values, ids = np.unique(labels.astype(str), return_inverse=True)
    if len(values) < 2:
        only = repr(_label(values[0])) if len(values) else "none"   # repr: a label may hold a line break
        raise DataError(f"{source} has a single class ({only}): classification needs at least two; "
                        "check the target or set data.task to regression")
    return ids.astype(np.int64).reshape(labels.shape), len(values), [_label(v) for v in values]


def _label(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8", errors="replace")
    return str(v)


def _example(y: np.ndarray) -> str:
    return repr(_label(y.reshape(-1)[0]))
