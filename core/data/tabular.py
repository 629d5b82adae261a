"""CSV files (the standard library's csv module; numpy's loadtxt reads the common all-numbers layout
in C): choose the target column, keep numeric features, one-hot encode text features, and refuse
missing or non-numeric cells with the column and the 1-based data row — or fill / drop them when
`options.impute` says so (filling happens after the split, with the train split's statistics).

The reader keeps pandas.read_csv's reading of a file (skipinitialspace, pandas' default missing-value
strings, 'True'/'False' columns, 'Unnamed: N' and 'a.1' header names, the first column taken as a
row index when the first data row has one field more than the header): tests/core/test_csv_parity.py
cross-checks it against pandas."""
from __future__ import annotations

import csv
import io
import itertools
import re
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .dataset import Raw, plural
from ..safe_text import shown
from .errors import DataError
from .limits import check_bytes, dataset_bytes, regular_file
from .options import OPTIONS, Options
from .splits import row_list
from .targets import make_target

IMPUTE = ("mean", "median", "drop")
F32_MAX = float(np.finfo(np.float32).max)   # features and targets become float32 tensors
MAX_NAME = 200      # a column name; longer is a broken header or a crafted file
# Bytes held per byte of text, at most: a cell takes >= 2 bytes ("1,"); a number column keeps float64
# + a missing flag (<= 4.5x), twice that while its chunks are joined; a text column float64 + flag +
# int32 code (<= 6.5x) and its distinct strings; the strings of one chunk of rows at a time
TEXT_COPIES = 10
FIX = 'clean it, or set data.options {"impute": "mean"} (or "median", or "drop" to drop such rows)'
# pandas' default missing-value strings (na_values); blank and whitespace-only cells are missing too
NA = frozenset(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"])
BOOLS = {"True": 1.0, "TRUE": 1.0, "true": 1.0, "False": 0.0, "FALSE": 0.0, "false": 0.0}
# what pandas.to_numeric reads as a number: ASCII decimals with an optional exponent, and infinities
NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?)", re.IGNORECASE)
NOT_PLAIN = re.compile(r"[^0-9eE+\-.\x00 ]")   # a chunk without these converts in one numpy call
CHUNK = 50_000      # rows parsed per step by the csv module
FIELD_LIMIT = 2**31 - 1  # the csv module's cell size limit (128 KiB by default; pandas had none)
LINES = 10_000      # lines per loadtxt call (~1.5 MB of numbers: ~10 ms holding the GIL)
SAMPLE = 1 << 16    # characters read to choose the fast path


class _Fallback(Exception):
    """The fast path met something only the csv module reads as pandas did."""


@dataclass
class _Cells:
    """One column as read: pandas' dtype kind ('f' every present cell a number, 'b' every cell
    True/False, 'O' otherwise), the numbers, what is missing, and text as codes into `texts`
    (every present cell of a text column; for others only non-numbers and out-of-range numbers)."""
    kind: str
    values: np.ndarray            # float64 [N]: the number (True/False as 1/0), NaN where missing or not a number
    missing: np.ndarray           # bool [N]
    codes: np.ndarray | None      # int32 [N], -1 where no text is kept
    texts: list[str]
    full: bool = True             # every present cell has a code

    def text(self, row: int) -> str:
        """The cell as pandas showed it: the number for numeric columns, the stripped text otherwise."""
        if self.kind == "b":
            return str(bool(self.values[row]))
        if self.kind == "f" or self.codes is None or self.codes[row] < 0:
            return "nan" if self.missing[row] else str(self.values[row])
        return self.texts[self.codes[row]]

    def strings(self) -> np.ndarray:
        """Object array of the cells' text ('nan' where missing), for text targets."""
        if self.kind == "b":
            return np.where(self.values == 1.0, "True", "False").astype(object)
        return np.array(self.texts + ["nan"], dtype=object)[self.codes]

    def numbers(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.values)))

    def numeric(self) -> bool:
        """pandas' numeric dtype, or text cells that are mostly numbers (to_numeric)."""
        if self.kind in "fb":
            return self.kind == "f"
        present, parsed = int(np.count_nonzero(~self.missing)), self.numbers()
        return parsed > 0 and parsed >= 0.5 * present


class _Accumulator:
    """Accumulates one column chunk by chunk."""

    def __init__(self):
        self.values: list[np.ndarray] = []
        self.missing: list[np.ndarray] = []
        self.codes: list[np.ndarray | None] = []
        self.texts: dict[str, int] = {}
        self.bools = 0
        self.spaces = 0               # whitespace-only cells: missing, yet not empty to pandas' C parser
        self.full = True              # every present cell has a code

    def add(self, cells: list, raw: bool = False) -> None:
        """One chunk of the column: cells as the csv module gives them (None past a short row's end),
        or `raw` as loadtxt gives them (leading spaces kept; a quote or line break in a cell means
        the csv module must read the file). Few distinct cells are classified once each; many
        (numbers) are converted by numpy in one call where they are plain."""
        uniq = dict.fromkeys(cells)
        if len(uniq) * 4 > len(cells) and None not in uniq and self._numbers(cells, raw):
            return
        self._coded(cells, uniq, raw)

    def _numbers(self, cells: list[str], raw: bool) -> bool:
        n = len(cells)
        joined = "\x00".join(cells)
        if raw and ('"' in joined or "\r" in joined or "\n" in joined):
            raise _Fallback
        if raw and (joined.startswith(" ") or "\x00 " in joined):
            return False
        missing = np.zeros(n, bool)
        try:
            if NOT_PLAIN.search(joined):
                raise ValueError
            v = np.array(cells, dtype=np.float64)
            present = None
        except ValueError:   # blanks or missing-value strings among plain numbers
            missing = np.fromiter((c in NA or c.isspace() for c in cells), bool, n)
            present = np.flatnonzero(~missing)
            self.spaces += sum(1 for i in np.flatnonzero(missing) if cells[i] not in NA)
            rest = [cells[i] for i in present]
            if not rest or NOT_PLAIN.search("\x00".join(rest)):
                return False
            try:
                v = np.array(rest, dtype=np.float64)
            except ValueError:
                return False
        values = v if present is None else np.full(n, np.nan)
        if present is not None:
            values[present] = v
        codes = None
        odd = np.flatnonzero(~missing & ~_in_range(values))
        if len(odd):            # out of float32's range: keep the text for messages
            codes = np.full(n, -1, np.int32)
            for i in odd:
                codes[i] = self.texts.setdefault(cells[i].strip(), len(self.texts))
        self.full = False
        self.values.append(values)
        self.missing.append(missing)
        self.codes.append(codes)
        return True

    def _coded(self, cells: list, uniq: dict, raw: bool) -> None:
        m = len(uniq)
        uval, umiss = np.full(m, np.nan), np.zeros(m, bool)
        ucode, ubool, plain = np.full(m, -1, np.int32), np.zeros(m, bool), np.zeros(m, bool)
        uspace = np.zeros(m, bool)
        for i, key in enumerate(list(uniq)):
            uniq[key] = i
            if key is None:
                umiss[i] = True
                continue
            if raw:
                if '"' in key or "\r" in key or "\n" in key:
                    raise _Fallback
                bare = key.lstrip(" ")
                if bare != key and (bare in NA or bare in BOOLS):
                    raise _Fallback     # ' NA' quoted is text to pandas, unquoted it is missing: the csv module tells
                key = bare
            if key in NA or key.isspace():
                umiss[i] = True
                uspace[i] = key not in NA
                continue
            s = key.strip()
            if NUMBER.fullmatch(s):
                uval[i] = float(s)
                if abs(uval[i]) <= F32_MAX:
                    plain[i] = True
                    continue
            ubool[i] = key in BOOLS     # exactly: pandas reads 'True ' and a quoted ' True' as text
            ucode[i] = self.texts.setdefault(s, len(self.texts))
        inv = np.fromiter(map(uniq.__getitem__, cells), np.intp, len(cells))
        self.full = self.full and not plain.any()
        self.bools += int(np.count_nonzero(ubool[inv]))
        self.spaces += int(np.count_nonzero(uspace[inv]))
        self.values.append(uval[inv])
        self.missing.append(umiss[inv])
        self.codes.append(ucode[inv])

    def done(self) -> _Cells:
        if not self.values:
            return _Cells("f", np.empty(0), np.zeros(0, bool), None, [])
        values = np.concatenate(self.values)
        missing = np.concatenate(self.missing)
        codes = None
        if any(c is not None for c in self.codes):
            codes = np.concatenate([np.full(len(v), -1, np.int32) if c is None else c
                                    for v, c in zip(self.values, self.codes)])
        texts = list(self.texts)
        present = int(np.count_nonzero(~missing))
        parsed = int(np.count_nonzero(~np.isnan(values)))
        if parsed == present and not self.spaces:
            return _Cells("f", values, missing, codes, texts)
        if self.bools == present and present and not self.spaces:      # True / False only: pandas' bool column, or object with gaps
            flags = np.array([BOOLS.get(t, np.nan) for t in texts] + [np.nan])
            values = flags[codes]
            return _Cells("b" if not missing.any() else "f", values, missing, None, [])
        return _Cells("O", values, missing, codes, texts, self.full)


def _header(row: list[str]) -> list[str]:
    """pandas' names (its C parser's header pass): an empty name is 'Unnamed: i'; a repeated one
    becomes 'a.1', 'a.2', skipping names the header already has, named columns before unnamed ones."""
    names = [c if c != "" else f"Unnamed: {i}" for i, c in enumerate(row)]
    unnamed = [i for i, c in enumerate(row) if c == ""]
    counts: dict[str, int] = {}
    for i in [i for i in range(len(names)) if row[i] != ""] + unnamed:
        col = old = names[i]
        cur = counts.get(col, 0)
        while cur > 0:
            counts[old] = cur + 1
            col = f"{old}.{cur}"
            cur = cur + 1 if col in names else counts.get(col, 0)
        names[i] = col
        counts[col] = cur + 1
    return names


@dataclass
class _Table:
    columns: list[str]
    cells: dict[str, _Cells]
    rows: int
    index: bool = False           # the first field of each row was a row index (dropped)

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, len(self.columns)

    def drop_first(self) -> None:
        self.cells.pop(self.columns.pop(0))


def _open(path: Path, watch):
    """Text through the watch (progress and cancel per 256 KB block), lines split as the csv module wants."""
    raw = io.BufferedReader(watch.file(path), 1 << 18) if watch is not None else open(path, "rb", buffering=1 << 18)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _csv_rows(f, last: list[str] | None = None):
    """csv rows, blank and whitespace-only lines skipped (as pandas skips them), with the line each
    ends on; `last` receives the source lines of the latest row."""
    lines: list[str] = []
    if csv.field_size_limit() < FIELD_LIMIT:    # 128 KiB by default; pandas had no limit (the file size is checked)
        csv.field_size_limit(FIELD_LIMIT)

    def source():
        for line in f:
            lines.append(line)
            yield line
    reader = csv.reader(source(), skipinitialspace=True)
    number = 0      # pandas' line numbers: a newline inside quotes does not count
    for row in reader:
        number += 1
        blank = not row or (len(row) == 1 and not "".join(lines).strip(" \t\r\n"))
        if last is not None:
            last[:] = lines
        lines.clear()
        if not blank:
            yield row, number


def _open_quote(lines: list[str]) -> bool:
    """Whether the row made of `lines` ends inside a quoted field (the csv module's strict mode says so)."""
    try:
        for _ in csv.reader(lines, skipinitialspace=True, strict=True):
            pass
    except csv.Error as e:
        return "unexpected end of data" in str(e)
    return False


def read_csv(path: Path, watch=None) -> _Table:
    size = regular_file(path, "CSV file").st_size
    check_bytes(size * TEXT_COPIES, f"CSV file {path.name} ({size / 2**20:,.1f} MB of text, read into a table)")
    try:
        table = _read(path, watch)
    except UnicodeDecodeError:
        raise DataError(f"CSV file {path.name} is not UTF-8 text: save it as UTF-8 CSV") from None
    except OSError as e:
        raise DataError(f"CSV file {path} cannot be read ({e.strerror or e}): check the path and permissions") from None
    if table.rows == 0:
        raise DataError(f"CSV file {path.name} has a header but no data rows: add data")
    if len(table.columns) < 2:
        first = table.columns[0]
        hint = " (is it separated by ';' or tabs? LayerLab reads comma-separated files)" if ";" in first or "\t" in first else ""
        raise DataError(f"CSV file {path.name} has one column{hint}: it needs feature columns and a target column")
    long = next((c for c in table.columns if len(c) > MAX_NAME), None)
    if long is not None:
        raise DataError(f"CSV file {path.name} has a column name {len(long):,} characters long (at most "
                        f"{MAX_NAME}): fix its header row ({shown(long, 40)!r})")
    return table


def _parse_error(path: Path, what: str) -> DataError:
    return DataError(f"CSV file {path.name} cannot be parsed ({what}): check that every row has the same "
                     "number of comma-separated fields and that quotes are closed")


def _read(path: Path, watch) -> _Table:
    with _open(path, None) as f:
        sample = f.read(SAMPLE)
        whole = len(sample) < SAMPLE
    try:
        rows = [r for r, _ in _csv_rows(io.StringIO(sample, newline=""))]
    except csv.Error:
        return _slow(path, watch)
    if not rows:
        if whole:
            raise DataError(f"CSV file {path.name} is empty: it needs a header row and data rows")
    elif len(rows) >= 2:
        try:
            return _fast(path, watch, rows if whole else rows[:-1])
        except _Fallback:
            pass
    return _slow(path, watch)


def _fast(path: Path, watch, sample: list[list[str]]) -> _Table:
    """numpy.loadtxt's C parser, LINES lines a call (it holds the GIL while it parses: the GUI's
    thread gets it back between calls): the sample's number columns straight into float64, copied
    out to one contiguous row per column, the others as strings, coded per chunk so that no chunk's
    strings outlive it."""
    names, first = sample[0], sample[1:]
    if any(len(r) != len(names) for r in first):
        raise _Fallback
    numeric = [all(NUMBER.fullmatch(r[j].strip()) for r in first) for j in range(len(names))]
    dtype = np.dtype([(f"c{j}", "f8" if num else "O") for j, num in enumerate(numeric)])
    number_cols = [j for j, num in enumerate(numeric) if num]
    accs = {j: _Accumulator() for j, num in enumerate(numeric) if not num}
    blocks: list[np.ndarray] = []
    try:
        with _open(path, watch) as f, warnings.catch_warnings():
            warnings.simplefilter("error")      # "input contained no data"
            head, _ = next(_csv_rows(f))
            if head != names:
                raise _Fallback
            while lines := list(itertools.islice(f, LINES)):
                if _open_quote(lines[-1:]):     # a quoted field goes on past the chunk (or the file ends in it)
                    raise _Fallback
                data = np.loadtxt(lines, dtype=dtype, delimiter=",", quotechar='"', comments=None, ndmin=1)
                del lines
                block = np.empty((len(number_cols), len(data)))
                for i, j in enumerate(number_cols):
                    block[i] = data[f"c{j}"]
                blocks.append(block)
                for j, acc in accs.items():
                    acc.add(data[f"c{j}"].tolist(), raw=True)
                del data
    except (ValueError, UserWarning, csv.Error, StopIteration):
        raise _Fallback from None
    numbers = np.concatenate(blocks, axis=1) if blocks else np.empty((len(number_cols), 0))
    del blocks
    if np.isnan(numbers).any():                 # loadtxt reads 'nAn' and '+nan' as numbers; pandas does not
        raise _Fallback
    header = _header(names)
    cells = {header[j]: _Cells("f", col, np.zeros(len(col), bool), None, []) for j, col in zip(number_cols, numbers)}
    cells.update((header[j], acc.done()) for j, acc in accs.items())
    n = numbers.shape[1] if number_cols else len(next(iter(cells.values())).values)
    table = _Table(header, {name: cells[name] for name in header}, n)
    _complete(path, table)
    return table


def _eof_in_quote(path: Path, line: int) -> DataError:
    """pandas' message; its row counts blank lines, the header is row 0."""
    return _parse_error(path, f"Error tokenizing data. C error: EOF inside string starting at row {line - 1}")


def _slow(path: Path, watch) -> _Table:
    """The csv module, a chunk of rows at a time: each column's chunk becomes float64 numbers and text codes."""
    last: list[str] = []
    with _open(path, watch) as f:
        rows = _csv_rows(f, last)
        first = next(rows, None)
        if first is None:
            raise DataError(f"CSV file {path.name} is empty: it needs a header row and data rows")
        names = first[0]
        width, index, n = len(names), None, 0
        accs = [_Accumulator() for _ in names]
        chunk: list[list[str]] = []
        line = first[1]
        while True:
            try:
                item = next(rows, None)
            except csv.Error as e:
                raise _parse_error(path, str(e)) from None
            if item is not None:
                row, line = item
                if index is None:
                    index = len(row) == width + 1    # pandas: one field more than the header is a row index
                if index:
                    row = row[1:]
                if len(row) > width and _open_quote(last):    # the last row: pandas reports the quote first
                    raise _eof_in_quote(path, line)
                if len(row) > width:
                    raise _parse_error(path, f"Error tokenizing data. C error: Expected {width + index} fields "
                                             f"in line {line}, saw {len(row) + index}")
                chunk.append(row)
            if len(chunk) >= CHUNK or (item is None and chunk):
                for j, acc in enumerate(accs):
                    acc.add([r[j] if j < len(r) else None for r in chunk])
                n += len(chunk)
                chunk = []
            if item is None:
                break
    if _open_quote(last):
        raise _eof_in_quote(path, line)
    header = _header(names)
    table = _Table(header, {name: acc.done() for name, acc in zip(header, accs)}, n, bool(index))
    _complete(path, table)
    return table


def _complete(path: Path, table: _Table) -> None:
    """Text columns whose number cells kept no text (they looked numeric in some chunk) get it from a
    second pass over the file: a category '1.0' stays '1.0'."""
    todo = [j for j, name in enumerate(table.columns)
            if table.cells[name].kind == "O" and not table.cells[name].full and not table.cells[name].numeric()]
    if not todo:
        return
    texts: list[dict[str, int]] = [{} for _ in todo]
    codes = [np.full(table.rows, -1, np.int32) for _ in todo]
    with _open(path, None) as f:
        rows = _csv_rows(f)
        next(rows)
        for i, (row, _) in enumerate(rows):
            if table.index:
                row = row[1:]
            for k, j in enumerate(todo):
                if j < len(row):
                    s = row[j]
                    if not (s in NA or s.isspace()):
                        codes[k][i] = texts[k].setdefault(s.strip(), len(texts[k]))
    for k, j in enumerate(todo):
        c = table.cells[table.columns[j]]
        c.codes, c.texts, c.full = codes[k], list(texts[k]), True


@dataclass
class _Column:
    name: str
    values: np.ndarray | None  # float64 [N] with NaN where missing / junk; None for text (see codes)
    names: list[str]          # k feature names
    missing: np.ndarray       # bool [N]
    junk: np.ndarray          # bool [N]: present but not a number
    text: _Cells              # the cells, for messages
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
    y_junk = ~y_missing & ~_in_range(y_float) if y_numeric else np.zeros(df.rows, bool)
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


def _is_saved_index(df: _Table, target: str) -> bool:
    """pandas' to_csv without index=False writes an unnamed first column 0..N-1."""
    first = df.columns[0]
    if not first.startswith("Unnamed: 0") or first == target or df.shape[1] < 3:
        return False
    col = df.cells[first].values
    return bool((col == np.arange(df.rows)).all() or (col == np.arange(1, df.rows + 1)).all())


def _column(name: str, cells: _Cells, max_cat: int) -> _Column:
    missing = cells.missing
    if missing.all():
        raise DataError(f"CSV column {name!r} has no values: remove it from the file")
    if cells.kind == "b":
        return _Column(name, cells.values, [name], missing, np.zeros_like(missing), cells)
    if cells.numeric():
        values = cells.values
        junk = ~missing & ~_in_range(values)
        values = np.where(_in_range(values), values, np.nan)
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


def _refuse(name: str, missing: np.ndarray, junk: np.ndarray, cells: _Cells, is_target: bool = False,
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


def _junk_kind(cells: _Cells, row: int) -> str:
    v = cells.values[row]
    if not np.isnan(v) and np.isfinite(v):
        return f"a number too large for 32-bit floats {_cell(cells, row)} (limit ±3.4e38)"
    return f"a non-numeric value {_cell(cells, row)}"


def _cell(cells: _Cells, where) -> str:
    if isinstance(where, (int, np.integer)):
        text = cells.text(int(where))
    else:
        text = cells.text(int(np.flatnonzero(where)[0])) if where.any() else ""
    return repr(text if len(text) <= 30 else text[:27] + "...")


def peek_csv(path: Path, rows: int, limit: int = SAMPLE) -> tuple[list[str], list[list[str]]]:
    """(column names, up to `rows` rows of cell text) from the first `limit` characters, the separator
    sniffed from the first line by csv.Sniffer (as pandas' sep=None did): the set-up panel's header
    list and preview. csv.Error / OSError / UnicodeDecodeError when it cannot tell."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        text = f.read(limit)
    if len(text) == limit:          # the last line may be cut: keep whole lines
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[:cut + 1] if cut > 0 else text
    lines = io.StringIO(text, newline="").readlines()
    first = next((line for line in lines if line.strip()), "")
    dialect = csv.Sniffer().sniff(first)
    reader = csv.reader(lines, dialect)
    table = [row for row in reader if row and any(c.strip() for c in row)][:rows + 1]
    if not table:
        raise csv.Error("no header row")
    return _header(table[0]), table[1:]
