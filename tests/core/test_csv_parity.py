"""The standard-library CSV reader (core/data/tabular.py, csv_file.py, csv_cells.py) against the pandas one it replaced
(tests/core/pandas_tabular.py, pandas being a test dependency only): on generated files both give
the same features, targets, names and notes, or the same DataError message."""
from __future__ import annotations

import csv
import io
import re
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from layerlab.core.data import csv_cells, csv_file, tabular
from layerlab.core.data.errors import DataError
from layerlab.core.data.options import Options

from . import pandas_tabular
from .test_reliability_csv import tables

NA = sorted(csv_cells.NA)
CELLS = st.one_of(
    st.integers(-5, 5).map(str), st.floats(-1e3, 1e3, allow_nan=False).map(repr),
    st.sampled_from(NA), st.sampled_from(["True", "False", "TRUE", "true", "FALSE", "false"]),
    st.sampled_from(["red", "green", "a,b", 'say "hi"', " x ", "1_000", "inf", "-inf", "1e39", "nAn", "+nan",
                     "٣", "0x1", "1e", ".5", "5.", "+3", "  ", "\t", "NA ", " NA", "1.0", "01"]),
)
HEADER = st.sampled_from(["a", "a", "b", "", "Unnamed: 0", "a.1", "y", " c"])


@st.composite
def parity_tables(draw):
    n_cols = draw(st.integers(2, 4))
    header = draw(st.lists(HEADER, min_size=n_cols, max_size=n_cols))
    kinds = draw(st.lists(st.sampled_from(["num", "bool", "text", "any"]), min_size=n_cols, max_size=n_cols))
    per_kind = {"num": st.integers(-9, 9).map(str), "bool": st.sampled_from(["True", "False", "true", "FALSE"]),
                "text": st.sampled_from(["red", "green", "a,b"]), "any": CELLS}
    rate = draw(st.sampled_from([0.0, 0.1, 0.4]))
    rows = [[draw(CELLS) if rate and draw(st.floats(0, 1)) < rate else draw(per_kind[k]) for k in kinds]
            for _ in range(draw(st.integers(1, 12)))]
    if draw(st.integers(0, 5)) == 0:
        rows[draw(st.integers(0, len(rows) - 1))].pop()          # a short row: missing cells
    buf = io.StringIO()
    w = csv.writer(buf, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    w.writerow(header)
    w.writerows(rows)
    text = buf.getvalue()
    if draw(st.booleans()):
        text = text.replace(",", ", ")                           # skipinitialspace
    target = draw(st.sampled_from(["", "y", "a", "b"]))
    task = draw(st.sampled_from(["auto", "classification", "regression"]))
    options = draw(st.sampled_from([{}, {"impute": "mean"}, {"impute": "drop"}]))
    return text, target, task, options, "none"


def _outcome(module, path, target, task, options):
    try:
        raw = module.load_csv(path, target, task, Options(dict(options), "csv"))
    except DataError as e:
        return ("error", str(e))
    return ("raw", raw)


def check_same(path, content, target="", task="auto", options=None):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    old = _outcome(pandas_tabular, path, target, task, options or {})
    for lines, chunk in MODES:
        with _mode(lines, chunk):
            new = _outcome(tabular, path, target, task, options or {})
        _same(old, new)


# the reader as shipped, and with 3-line loadtxt calls and 3-row csv chunks (quoted fields meet chunk ends)
MODES = [(csv_file.LINES, csv_file.CHUNK), (3, 3)]


@contextmanager
def _mode(lines, chunk):
    saved = csv_file.LINES, csv_file.CHUNK
    csv_file.LINES, csv_file.CHUNK = lines, chunk
    try:
        yield
    finally:
        csv_file.LINES, csv_file.CHUNK = saved


def _same(old, new):
    assert old[0] == new[0], (old, new)
    if old[0] == "error":
        assert new[1] == old[1]
        return
    a, b = old[1], new[1]
    for name in ("task", "num_classes", "class_names", "feature_names", "columns", "impute", "notes"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.x.dtype == b.x.dtype and np.array_equal(a.x, b.x, equal_nan=True)
    assert a.y.dtype == b.y.dtype and np.array_equal(a.y, b.y, equal_nan=True)


_SETTINGS = dict(deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                        HealthCheck.data_too_large, HealthCheck.filter_too_much])


@settings(max_examples=400, **_SETTINGS)
@given(case=parity_tables())
def test_same_result_as_pandas_on_generated_tables(tmp_path, case):
    text, target, task, options, _ = case
    check_same(tmp_path / "p.csv", text, target, task, options)


# pandas' integer-overflow paths (beyond int64) read a column's 'NA' cells as text in some files and
# as missing in others; the new reader treats them as missing like everywhere else, so such files are
# left out of the comparison.
HUGE_INT = re.compile(r"(?<![0-9.eE])[0-9]{19,}(?![0-9.eE])")


@settings(max_examples=300, **_SETTINGS)
@given(case=tables())
def test_same_result_as_pandas_on_fuzzed_tables(tmp_path, case):
    text, target, task, options, _ = case
    assume(not HUGE_INT.search(text))
    check_same(tmp_path / "f.csv", text, target, task, options)


def test_missing_value_strings_are_pandas_defaults():
    from pandas._libs.parsers import STR_NA_VALUES
    assert csv_cells.NA == set(STR_NA_VALUES) | {""}


@pytest.mark.parametrize("text", [
    "a,b\n1,2,3\n4,5,6\n",                  # one field more than the header: a row index
    "a,b\n1,2\n\n   \n3,4\n",               # blank lines skipped
    "a,b\n1,2\n3,\"x",                     # quote not closed
    "a,b\n\n\n1,2\n3,4,5\n",                # too many fields (line numbers count blank lines)
    "a,b\r1,2\r3,4\r",                      # old Mac line ends
    "\ufeffa,b\n1,2\n3,4\n",                # a byte-order mark
    "a,b\n1,True\n2,\n",                    # True with a gap: numbers
    "a,,a,a\n1,2,3,4\n5,6,7,8\n",           # unnamed and repeated names
    "a,b\n1,1_000\n2,3\n4,5\n",             # underscores are text, not numbers
    "a,b\n1, \"x,y\"\n2,z\n",                # a quote after a space still quotes
    '"a","a","a"\r\n"0","0"," NA"\r\n',        # quoted ' NA' is text, unquoted it is missing
    'a,b\n1," True"\n2,False\n3,True \n',      # quoted ' True' and 'True ' are text
])
def test_same_result_as_pandas_on_edge_files(tmp_path, text):
    check_same(tmp_path / "e.csv", text)
