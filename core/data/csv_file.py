"""Reading a CSV file into columns of cells (csv_cells.py): numpy.loadtxt's C parser for the common
all-numbers layout, the standard library's csv module for everything else, and the set-up panel's
peek at a file's first rows."""
from __future__ import annotations

import csv
import io
import itertools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..safe_text import shown
from .csv_cells import NA, NUMBER, Accumulator, Cells, Fallback, header_names
from .errors import DataError
from .limits import check_bytes, regular_file

MAX_NAME = 200      # a column name; longer is a broken header or a crafted file
# Bytes held per byte of text, at most: a cell takes >= 2 bytes ("1,"); a number column keeps float64
# + a missing flag (<= 4.5x), twice that while its chunks are joined; a text column float64 + flag +
# int32 code (<= 6.5x) and its distinct strings; the strings of one chunk of rows at a time
TEXT_COPIES = 10
CHUNK = 50_000      # rows parsed per step by the csv module
FIELD_LIMIT = 2**31 - 1  # the csv module's cell size limit (128 KiB by default; pandas had none)
LINES = 10_000      # lines per loadtxt call at most
# text per loadtxt call: it holds the GIL while it parses, so the GUI thread waits up to one call
# (128 KB: ~2.5 ms on a 2 GHz Zen 1 core; 10,000 lines of the 200 MB test file took 25 ms there)
CALL_BYTES = 1 << 17
FIRST_LINES = 64    # the first call's lines, which measure the file's line length
SAMPLE = 1 << 16    # characters read to choose the fast path


@dataclass
class Table:
    columns: list[str]
    cells: dict[str, Cells]
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


def read_csv(path: Path, watch=None) -> Table:
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


def _read(path: Path, watch) -> Table:
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
        except Fallback:
            pass
    return _slow(path, watch)


def _fast(path: Path, watch, sample: list[list[str]]) -> Table:
    """numpy.loadtxt's C parser, about CALL_BYTES of text a call (it holds the GIL while it parses:
    the GUI's thread gets it back between calls): the sample's number columns straight into float64, copied
    out to one contiguous row per column, the others as strings, coded per chunk so that no chunk's
    strings outlive it."""
    names, first = sample[0], sample[1:]
    if any(len(r) != len(names) for r in first):
        raise Fallback
    numeric = [all(NUMBER.fullmatch(r[j].strip()) for r in first) for j in range(len(names))]
    dtype = np.dtype([(f"c{j}", "f8" if num else "O") for j, num in enumerate(numeric)])
    number_cols = [j for j, num in enumerate(numeric) if num]
    accs = {j: Accumulator() for j, num in enumerate(numeric) if not num}
    blocks: list[np.ndarray] = []
    try:
        with _open(path, watch) as f, warnings.catch_warnings():
            warnings.simplefilter("error")      # "input contained no data"
            head, _ = next(_csv_rows(f))
            if head != names:
                raise Fallback
            per_call = min(LINES, FIRST_LINES)
            while lines := list(itertools.islice(f, per_call)):
                per_call = max(1, min(LINES, CALL_BYTES * len(lines) // max(sum(map(len, lines)), 1)))
                if _open_quote(lines[-1:]):     # a quoted field goes on past the chunk (or the file ends in it)
                    raise Fallback
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
        raise Fallback from None
    numbers = np.concatenate(blocks, axis=1) if blocks else np.empty((len(number_cols), 0))
    del blocks
    if np.isnan(numbers).any():                 # loadtxt reads 'nAn' and '+nan' as numbers; pandas does not
        raise Fallback
    header = header_names(names)
    cells = {header[j]: Cells("f", col, np.zeros(len(col), bool), None, []) for j, col in zip(number_cols, numbers)}
    cells.update((header[j], acc.done()) for j, acc in accs.items())
    n = numbers.shape[1] if number_cols else len(next(iter(cells.values())).values)
    table = Table(header, {name: cells[name] for name in header}, n)
    _complete(path, table)
    return table


def _eof_in_quote(path: Path, line: int) -> DataError:
    """pandas' message; its row counts blank lines, the header is row 0."""
    return _parse_error(path, f"Error tokenizing data. C error: EOF inside string starting at row {line - 1}")


def _slow(path: Path, watch) -> Table:
    """The csv module, a chunk of rows at a time: each column's chunk becomes float64 numbers and text codes."""
    last: list[str] = []
    with _open(path, watch) as f:
        rows = _csv_rows(f, last)
        first = next(rows, None)
        if first is None:
            raise DataError(f"CSV file {path.name} is empty: it needs a header row and data rows")
        names = first[0]
        width, index, n = len(names), None, 0
        accs = [Accumulator() for _ in names]
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
    header = header_names(names)
    table = Table(header, {name: acc.done() for name, acc in zip(header, accs)}, n, bool(index))
    _complete(path, table)
    return table


def _complete(path: Path, table: Table) -> None:
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
    return header_names(table[0]), table[1:]
