"""Seeded train / validation / test splits (stratified for classification), and filling the gaps
an `impute` option left with statistics of the train split only."""
from __future__ import annotations

import numpy as np

from .dataset import plural
from .errors import DataError


def split_sizes(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """Rounded split sizes; a split asked for gets at least one sample, train keeps the rest."""
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    n_val = max(1, round(n * val_fraction)) if val_fraction > 0 else 0
    n_train = n - n_val - n_test
    if n_train < 1:
        raise DataError(f"{plural(n, 'sample')} leave none for training after {n_val} validation and "
                        f"{n_test} test samples: add data or lower data.val_fraction / data.test_fraction")
    return n_train, n_val, n_test


def split_indices(y: np.ndarray, val_fraction: float, test_fraction: float, seed: int,
                  stratify: bool, class_names: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Shuffled index arrays (train, val, test) and a note ("" unless stratification fell back).

    Stratified splits keep every class's share in each split (the same draws as sklearn's
    train_test_split, without importing sklearn: seconds at start-up on a path that needs none). When a
    class is too small to appear in every split, the split falls back to a plain shuffle and the
    note says which class and what to do."""
    n = len(y)
    n_train, n_val, n_test = split_sizes(n, val_fraction, test_fraction)
    idx = np.arange(n)
    note = ""
    if stratify and y.ndim == 1:
        try:
            return (*_split(idx, y, n_val, n_test, seed, stratified=True), "")
        except ValueError:
            note = _fallback_note(y, n_train, n_val, n_test, class_names)
    tr, va, te = _split(idx, y, n_val, n_test, seed, stratified=False)
    return tr, va, te, note


def _fallback_note(y, n_train, n_val, n_test, class_names) -> str:
    counts = np.bincount(y)
    present = np.flatnonzero(counts)
    worst = present[np.argmin(counts[present])]
    name = class_names[worst] if class_names and worst < len(class_names) else str(worst)
    sizes = [(n, what) for n, what in ((n_train, "train"), (n_val, "validation"), (n_test, "test")) if n > 0]
    smallest = min(sizes)
    if counts[worst] < len(sizes):
        cause = f"class {name!r} has {plural(int(counts[worst]), 'sample')} for {len(sizes)} splits"
        fix = "add samples of that class"
    else:
        cause = (f"the {smallest[1]} split ({plural(smallest[0], 'sample')}) cannot hold all "
                 f"{len(present)} classes")
        fix = "add data or change data.val_fraction / data.test_fraction"
    return f"split not stratified (plain shuffle instead): {cause}; {fix}"


def _split(idx, y, n_val, n_test, seed, stratified):
    rng_state = int(seed) % (2 ** 32)
    if n_test:
        rest, test = _train_test_split(idx, n_test, rng_state, y[idx] if stratified else None)
    else:
        rest, test = np.random.default_rng(rng_state).permutation(idx), idx[:0]
    if n_val:
        train, val = _train_test_split(rest, n_val, rng_state, y[rest] if stratified else None)
    else:
        train, val = rest, idx[:0]
    return np.asarray(train), np.asarray(val), np.asarray(test)


def _train_test_split(idx: np.ndarray, n_test: int, seed: int, stratify: np.ndarray | None):
    """sklearn.model_selection.train_test_split(idx, test_size=n_test, random_state=seed,
    stratify=stratify), draw for draw (a test checks it against sklearn); ValueError where it
    raises one (a class with one sample, or fewer samples in a split than classes)."""
    rs = np.random.RandomState(seed)
    n_train = len(idx) - n_test
    if stratify is None:
        perm = rs.permutation(len(idx))
        return idx[perm[n_test:]], idx[perm[:n_test]]
    classes, y_indices, class_counts = np.unique(stratify, return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or n_train < len(classes) or n_test < len(classes):
        raise ValueError("too few samples per class to stratify")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rs)
    t_i = _approximate_mode(class_counts - n_i, n_test, rs)
    train, test = [], []
    for i in range(len(classes)):
        members = class_indices[i].take(rs.permutation(class_counts[i]), mode="clip")
        train.append(members[:n_i[i]])
        test.append(members[n_i[i]:n_i[i] + t_i[i]])
    # arrays, not lists of Python ints: the same draws, without holding the GIL for a
    # million boxed ints (the GUI loads data in a thread)
    return idx[rs.permutation(np.concatenate(train))], idx[rs.permutation(np.concatenate(test))]


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rs: np.random.RandomState) -> np.ndarray:
    """Per-class draws in proportion to the counts; leftovers go by largest remainder, ties broken
    at random (sklearn.utils.extmath._approximate_mode)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            floored[rs.choice(inds, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def row_list(rows: np.ndarray, shown: int = 5) -> str:
    """'data rows 4, 9 and 12' (1-based, as a spreadsheet numbers data rows below the header)."""
    idx = [int(i) + 1 for i in np.flatnonzero(rows)]
    if len(idx) == 1:
        return f"data row {idx[0]}"
    head = ", ".join(str(i) for i in idx[:shown])
    return f"data rows {head}" + (f" … ({len(idx) - shown:,} more)" if len(idx) > shown else "")


def impute_after_split(x: np.ndarray, train: np.ndarray, how: str, columns: list[str]) -> tuple[np.ndarray, list[str]]:
    """Fill NaNs feature by feature with the train split's mean or median (never val/test stats).

    `columns` names the source column of each feature (one-hot indicators share their column's
    name); the notes say, per source column, how many cells were filled and with what."""
    if how not in ("mean", "median") or not np.isnan(x).any():
        return x, []
    x = x.copy()
    flat = x.reshape(len(x), -1)
    stat = np.nanmean if how == "mean" else np.nanmedian
    filled: dict[str, tuple[int, list[float]]] = {}
    for j in np.flatnonzero(np.isnan(flat).any(axis=0)):
        col = flat[train, j]
        fill = float(stat(col)) if np.isfinite(col).any() else 0.0
        gaps = np.isnan(flat[:, j])
        flat[gaps, j] = fill
        name = columns[j] if j < len(columns) else f"feature {j}"
        rows, fills, where = filled.get(name, (0, [], np.zeros(len(flat), bool)))
        filled[name] = (max(rows, int(gaps.sum())), fills + [fill], where | gaps)
    notes = []
    for name, (rows, fills, where) in filled.items():
        value = f"{fills[0]:.4g}" if len(fills) == 1 else f"per category ({len(fills)} indicators)"
        notes.append(f"{name}: {plural(rows, 'missing value')} filled with the train {how} {value} "
                     f"({row_list(where)})")
    if len(notes) > 4:
        notes = notes[:3] + [f"… and {len(notes) - 3} more columns filled with the train {how}"]
    return flat.reshape(x.shape), notes
