"""CSV files (the standard library's csv module; numpy's loadtxt reads the common all-numbers layout
in C): choose the target column, keep numeric features, one-hot encode text features, and refuse
missing or non-numeric cells with the column and the 1-based data row — or fill / drop them when
`options.impute` says so (filling happens after the split, with the train split's statistics).

The reader keeps pandas.read_csv's reading of a file (skipinitialspace, pandas' default missing-value
strings, 'True'/'False' columns, 'Unnamed: N' and 'a.1' header names, the first column taken as a
row index when the first data row has one field more than the header): tests/core/test_csv_parity.py
cross-checks it against pandas."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .csv_cells import Cells, in_range
from .csv_file import read_csv, Table
from .dataset import Raw, plural
from ..safe_text import shown
from .errors import DataError
from .limits import check_bytes, dataset_bytes
from .options import OPTIONS, Options
from .splits import row_list
from .targets import make_target

IMPUTE = ("mean", "median", "drop")
FIX = 'clean it, or set data.options {"impute": "mean"} (or "median", or "drop" to drop such rows)'


@dataclass
class _Column:
    name: str
    values: np.ndarray | None  # float64 [N] with NaN where missing / junk; None for text (see codes)
    names: list[str]          # k feature names
    missing: np.ndarray       # bool [N]
    junk: np.ndarray          # bool [N]: present but not a number
    text: Cells              # the cells, for messages
    codes: np.ndarray | None = None   # text: category index per row (-1 missing), one-hot when written

    def write(self, out: np.ndarray, keep: np.ndarray) -> None:
        """Fill `out` [kept rows, k] (float32): the number, or the one-hot indicators (NaN where missing)."""
        if self.codes is None:
            out[:, 0] = self.values[keep]
            return
        codes = self.codes[keep]
        out[:] = 0.0
        present = codes >= 0
        out[np.flatnonzero(present), codes[present]] = 1.0
        out[self.missing[keep]] = np.nan


def load_csv(path: Path, target: str, task: str, opts: Options, watch=None) -> Raw:
    impute = opts.choice("impute", "mean", IMPUTE) if opts.str("impute", "") else ""
    max_cat = opts.int("max_categories", OPTIONS["csv"]["max_categories"][0], 2, 100_000)
    df = read_csv(path, None if watch is None else watch.part(0.0, 0.85))
    notes: list[str] = []
    if _is_saved_index(df, target):
        df.drop_first()
        notes.append("dropped the unnamed first column: it is a saved row index (0, 1, 2, …), not a feature")
    target = target or df.columns[-1]
    if target not in df.columns:
        names = ", ".join(repr(c) for c in df.columns[:20]) + (", …" if len(df.columns) > 20 else "")
        raise DataError(f"CSV file {path.name} has no column {shown(target)!r}: set data.target to one of {names}")
    y_cells = df.cells[target]
    cols = []
    for name in df.columns:
        if name != target:
            if watch is not None:
                watch.step(0.85 + 0.1 * len(cols) / df.shape[1])
            cols.append(_column(name, df.cells[name], max_cat))

    y_missing = y_cells.missing
    y_numeric = y_cells.numeric()
    y_float = y_cells.values if y_numeric else None
    y_junk = ~y_missing & ~in_range(y_float) if y_numeric else np.zeros(df.rows, bool)
    if task == "regression" and not y_numeric:
        raise DataError(f"CSV target column {target!r} holds text (e.g. {_cell(y_cells, ~y_missing)}): set "
                        "data.task to classification, or data.target to a numeric column")

    if impute == "drop":
        bad = y_missing | y_junk
        for c in cols:
            bad |= c.missing | c.junk
        if bad.all():
            raise DataError(f"CSV file {path.name}: every row has a missing or non-numeric value, so impute "
                            "'drop' leaves nothing: clean the file or use impute 'mean'")
        if bad.any():
            notes.append(f"dropped {plural(int(bad.sum()), 'row')} with missing or non-numeric values "
                         f"({row_list(bad)})")
        keep = ~bad
    else:
        _refuse(target, y_missing, y_junk, y_cells, is_target=True)
        if not impute:
            for c in cols:
                _refuse(c.name, c.missing, c.junk, c.text, extra=sum(int((o.missing | o.junk).sum()) for o in cols))
        keep = np.ones(df.rows, bool)

    x = _features(cols, keep, path.name)
    y_values = (y_float if y_numeric else y_cells.strings())[keep]
    y, task, k, class_names = make_target(y_values, task, f"CSV target column {target!r}")
    return Raw(x=x, y=y, task=task, num_classes=k, class_names=class_names,
               feature_names=[n for c in cols for n in c.names], columns=[c.name for c in cols for _ in c.names],
               impute=impute if impute in ("mean", "median") else "", notes=notes)


def _features(cols: list[_Column], keep: np.ndarray, name: str) -> np.ndarray:
    """The float32 feature matrix, its size checked against the memory budget before allocating."""
    rows, width = int(keep.sum()), sum(len(c.names) for c in cols)
    check_bytes(rows * width * 4 + dataset_bytes(rows * width),
                f"CSV file {name} ({rows:,} rows × {width:,} features after one-hot encoding text columns)")
    x = np.empty((rows, width), dtype=np.float32)
    start = 0
    for c in cols:
        c.write(x[:, start:start + len(c.names)], keep)
        start += len(c.names)
    return x


def _is_saved_index(df: Table, target: str) -> bool:
    """pandas' to_csv without index=False writes an unnamed first column 0..N-1."""
    first = df.columns[0]
    if not first.startswith("Unnamed: 0") or first == target or df.shape[1] < 3:
        return False
    col = df.cells[first].values
    return bool((col == np.arange(df.rows)).all() or (col == np.arange(1, df.rows + 1)).all())


def _column(name: str, cells: Cells, max_cat: int) -> _Column:
    missing = cells.missing
    if missing.all():
        raise DataError(f"CSV column {name!r} has no values: remove it from the file")
    if cells.kind == "b":
        return _Column(name, cells.values, [name], missing, np.zeros_like(missing), cells)
    if cells.numeric():
        values = cells.values
        junk = ~missing & ~in_range(values)
        values = np.where(in_range(values), values, np.nan)
        return _Column(name, values, [name], missing, junk, cells)
    # text: one-hot, categories in sorted order; a missing cell is NaN in every indicator
    cats = sorted(set(cells.texts[c] for c in np.unique(cells.codes[~missing])))
    if len(cats) > max_cat:
        raise DataError(f"CSV column {name!r} holds {len(cats):,} distinct text values, too many to one-hot "
                        f"encode (limit {max_cat:,}): remove the column (an id or free text?) or raise "
                        "data.options.max_categories")
    order = {t: i for i, t in enumerate(cats)}
    remap = np.array([order.get(t, -1) for t in cells.texts] + [-1], dtype=np.int64)
    codes = remap[cells.codes]
    return _Column(name, None, [f"{name}={c}" for c in cats], missing, np.zeros_like(missing), cells, codes)


def _refuse(name: str, missing: np.ndarray, junk: np.ndarray, cells: Cells, is_target: bool = False,
            extra: int = 0) -> None:
    bad = missing | junk
    if not bad.any():
        return
    row = int(np.flatnonzero(bad)[0])
    what = "a missing value" if missing[row] else _junk_kind(cells, row)
    count = int(bad.sum())
    more = max(count, extra) - 1
    tail = f" (and {plural(more, 'more bad cell')} in the file)" if more > 0 else ""
    if is_target:
        raise DataError(f"CSV target column {name!r} has {what} at data row {row + 1}{tail}: clean it, or set "
                        'data.options {"impute": "drop"} to drop such rows (targets are never filled in)')
    raise DataError(f"CSV column {name!r} has {what} at data row {row + 1}{tail}: {FIX}")


def _junk_kind(cells: Cells, row: int) -> str:
    v = cells.values[row]
    if not np.isnan(v) and np.isfinite(v):
        return f"a number too large for 32-bit floats {_cell(cells, row)} (limit ±3.4e38)"
    return f"a non-numeric value {_cell(cells, row)}"


def _cell(cells: Cells, where) -> str:
    if isinstance(where, (int, np.integer)):
        text = cells.text(int(where))
    else:
        text = cells.text(int(np.flatnonzero(where)[0])) if where.any() else ""
    return repr(text if len(text) <= 30 else text[:27] + "...")
