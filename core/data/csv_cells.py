"""What the cells of one CSV column become, read as pandas.read_csv read them (tabular.py's
docstring says which rules): float64 numbers, missing flags and int32 codes into the column's
distinct texts, built a chunk of rows at a time (Accumulator), and pandas' header names."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

F32_MAX = float(np.finfo(np.float32).max)   # features and targets become float32 tensors
# pandas' default missing-value strings (na_values); blank and whitespace-only cells are missing too
NA = frozenset(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"])
BOOLS = {"True": 1.0, "TRUE": 1.0, "true": 1.0, "False": 0.0, "FALSE": 0.0, "false": 0.0}
# what pandas.to_numeric reads as a number: ASCII decimals with an optional exponent, and infinities
NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?)", re.IGNORECASE)
NOT_PLAIN = re.compile(r"[^0-9eE+\-.\x00 ]")   # a chunk without these converts in one numpy call


class Fallback(Exception):
    """The fast path met something only the csv module reads as pandas did."""


@dataclass
class Cells:
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


class Accumulator:
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
            raise Fallback
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
        odd = np.flatnonzero(~missing & ~in_range(values))
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
                    raise Fallback
                bare = key.lstrip(" ")
                if bare != key and (bare in NA or bare in BOOLS):
                    raise Fallback     # ' NA' quoted is text to pandas, unquoted it is missing: the csv module tells
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

    def done(self) -> Cells:
        if not self.values:
            return Cells("f", np.empty(0), np.zeros(0, bool), None, [])
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
            return Cells("f", values, missing, codes, texts)
        if self.bools == present and present and not self.spaces:      # True / False only: pandas' bool column, or object with gaps
            flags = np.array([BOOLS.get(t, np.nan) for t in texts] + [np.nan])
            values = flags[codes]
            return Cells("b" if not missing.any() else "f", values, missing, None, [])
        return Cells("O", values, missing, codes, texts, self.full)


def header_names(row: list[str]) -> list[str]:
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


def in_range(values: np.ndarray) -> np.ndarray:
    """Finite and within float32's range (a larger number would become inf in the tensors)."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (np.abs(values) <= F32_MAX)
