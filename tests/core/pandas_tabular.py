"""The CSV reader as it was with pandas (commit 5b43daf), kept for tests only: the reference the
standard-library reader (core/data/tabular.py) is cross-checked against."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from layerlab.core.data.dataset import Raw, plural
from layerlab.core.safe_text import shown
from layerlab.core.data.errors import DataError
from layerlab.core.data.limits import check_bytes, dataset_bytes, regular_file
from layerlab.core.data.options import OPTIONS, Options
from layerlab.core.data.splits import row_list
from layerlab.core.data.targets import make_target

IMPUTE = ("mean", "median", "drop")
F32_MAX = float(np.finfo(np.float32).max)   # features and targets become float32 tensors
MAX_NAME = 200      # a column name; longer is a broken header or a crafted file
TEXT_COPIES = 10    # a table of Python strings takes about ten times the file's bytes
FIX = 'clean it, or set data.options {"impute": "mean"} (or "median", or "drop" to drop such rows)'


@dataclass
class _Column:
    name: str
    values: np.ndarray | None  # float64 [N] with NaN where missing / junk; None for text (see codes)
    names: list[str]          # k feature names
    missing: np.ndarray       # bool [N]
    junk: np.ndarray          # bool [N]: present but not a number
    text: pd.Series           # the raw cells, for messages
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


def read_csv(path: Path, watch=None) -> pd.DataFrame:
    size = regular_file(path, "CSV file").st_size
    check_bytes(size * TEXT_COPIES, f"CSV file {path.name} ({size / 2**20:,.1f} MB of text, read into a table)")
    try:
        if watch is None:
            df = pd.read_csv(path, skipinitialspace=True)
        else:   # the same bytes, read through a file that reports progress and can be cancelled
            with watch.file(path) as f:
                df = pd.read_csv(f, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"CSV file {path.name} is empty: it needs a header row and data rows") from None
    except pd.errors.ParserError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "bad layout"
        raise DataError(f"CSV file {path.name} cannot be parsed ({first}): check that every row has the same "
                        "number of comma-separated fields and that quotes are closed") from None
    except UnicodeDecodeError:
        raise DataError(f"CSV file {path.name} is not UTF-8 text: save it as UTF-8 CSV") from None
    except OSError as e:
        raise DataError(f"CSV file {path} cannot be read ({e.strerror or e}): check the path and permissions") from None
    if len(df) == 0:
        raise DataError(f"CSV file {path.name} has a header but no data rows: add data")
    if df.shape[1] < 2:
        hint = " (is it separated by ';' or tabs? LayerLab reads comma-separated files)" if ";" in str(df.columns[0]) or "\t" in str(df.columns[0]) else ""
        raise DataError(f"CSV file {path.name} has one column{hint}: it needs feature columns and a target column")
    df.columns = [str(c) for c in df.columns]
    long = next((c for c in df.columns if len(c) > MAX_NAME), None)
    if long is not None:
        raise DataError(f"CSV file {path.name} has a column name {len(long):,} characters long (at most "
                        f"{MAX_NAME}): fix its header row ({shown(long, 40)!r})")
    return df


def load_csv(path: Path, target: str, task: str, opts: Options, watch=None) -> Raw:
    impute = opts.choice("impute", "mean", IMPUTE) if opts.str("impute", "") else ""
    max_cat = opts.int("max_categories", OPTIONS["csv"]["max_categories"][0], 2, 100_000)
    df = read_csv(path, None if watch is None else watch.part(0.0, 0.85))
    notes: list[str] = []
    if _is_saved_index(df, target):
        df = df.drop(columns=[df.columns[0]])
        notes.append("dropped the unnamed first column: it is a saved row index (0, 1, 2, …), not a feature")
    target = target or df.columns[-1]
    if target not in df.columns:
        names = ", ".join(repr(c) for c in df.columns[:20]) + (", …" if len(df.columns) > 20 else "")
        raise DataError(f"CSV file {path.name} has no column {shown(target)!r}: set data.target to one of {names}")
    y_cells = _blank_to_nan(df[target])
    cols = []
    for name in df.columns:
        if name != target:
            if watch is not None:
                watch.step(0.85 + 0.1 * len(cols) / df.shape[1])
            cols.append(_column(name, _blank_to_nan(df[name]), max_cat))

    y_missing = y_cells.isna().to_numpy()
    y_num = pd.to_numeric(y_cells, errors="coerce")
    y_numeric = y_cells.dtype.kind in "iuf" or (y_cells.dtype.kind == "O" and _mostly_numbers(y_cells, y_num))
    y_float = y_num.to_numpy(dtype=np.float64, na_value=np.nan) if y_numeric else None
    y_junk = ~y_missing & ~_in_range(y_float) if y_numeric else np.zeros(len(df), bool)
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
        keep = np.ones(len(df), bool)

    x = _features(cols, keep, path.name)
    y_values = (y_float if y_numeric else y_cells.astype(str).to_numpy())[keep]
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


def _is_saved_index(df: pd.DataFrame, target: str) -> bool:
    """pandas' to_csv without index=False writes an unnamed first column 0..N-1."""
    first = df.columns[0]
    if not first.startswith("Unnamed: 0") or first == target or df.shape[1] < 3:
        return False
    col = pd.to_numeric(df[first], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return bool((col == np.arange(len(df))).all() or (col == np.arange(1, len(df) + 1)).all())


def _blank_to_nan(s: pd.Series) -> pd.Series:
    """Text cells stripped; blank ones become missing. Numeric and bool columns pass through."""
    if s.dtype.kind in "iufb":
        return s

    def clean(v):
        if isinstance(v, str):
            v = v.strip()
            return v if v else np.nan
        return v
    return pd.Series([clean(v) for v in s.astype(object)], index=s.index, dtype=object)


def _mostly_numbers(cells: pd.Series, num: pd.Series) -> bool:
    present = int(cells.notna().sum())
    parsed = int(num.notna().sum())
    return parsed > 0 and parsed >= 0.5 * present


def _column(name: str, cells: pd.Series, max_cat: int) -> _Column:
    missing = cells.isna().to_numpy()
    if missing.all():
        raise DataError(f"CSV column {name!r} has no values: remove it from the file")
    if cells.dtype.kind == "b":
        return _Column(name, cells.astype(float).to_numpy(), [name], missing, np.zeros_like(missing), cells)
    num = pd.to_numeric(cells, errors="coerce") if cells.dtype.kind not in "iuf" else cells
    if cells.dtype.kind in "iuf" or _mostly_numbers(cells, num):
        values = num.to_numpy(dtype=np.float64, na_value=np.nan)
        junk = ~missing & ~_in_range(values)
        values = np.where(_in_range(values), values, np.nan)
        return _Column(name, values, [name], missing, junk, cells)
    # text: one-hot, categories in sorted order; a missing cell is NaN in every indicator
    cats = sorted(cells.dropna().astype(str).unique())
    if len(cats) > max_cat:
        raise DataError(f"CSV column {name!r} holds {len(cats):,} distinct text values, too many to one-hot "
                        f"encode (limit {max_cat:,}): remove the column (an id or free text?) or raise "
                        "data.options.max_categories")
    labels = [str(v) if not m else None for v, m in zip(cells, missing)]
    codes = np.asarray(pd.Categorical(labels, categories=cats).codes)
    return _Column(name, None, [f"{name}={c}" for c in cats], missing, np.zeros_like(missing), cells, codes)


def _refuse(name: str, missing: np.ndarray, junk: np.ndarray, cells: pd.Series, is_target: bool = False,
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


def _in_range(values: np.ndarray) -> np.ndarray:
    """Finite and within float32's range (a larger number would become inf in the tensors)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (np.abs(values) <= F32_MAX)


def _junk_kind(cells: pd.Series, row: int) -> str:
    v = pd.to_numeric(pd.Series([cells.iloc[row]]), errors="coerce").iloc[0]
    if pd.notna(v) and np.isfinite(v):
        return f"a number too large for 32-bit floats {_cell(cells, row)} (limit ±3.4e38)"
    return f"a non-numeric value {_cell(cells, row)}"


def _cell(cells: pd.Series, where) -> str:
    if isinstance(where, (int, np.integer)):
        v = cells.iloc[int(where)]
    else:
        v = cells[where].iloc[0] if where.any() else ""
    text = str(v)
    return repr(text if len(text) <= 30 else text[:27] + "...")
