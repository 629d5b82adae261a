"""Per-source settings in `DataSpec.options`: what each source understands (for the GUI's forms)
and a strict reader that names the option and the fix when a value is wrong."""
from __future__ import annotations

from typing import Any

from .errors import DataError

_N = ("n_samples", "How many samples to generate (all splits together).")

# source -> {option: (default, help)}; a default of None means "required" or "derived".
OPTIONS: dict[str, dict[str, tuple[Any, str]]] = {
    "spiral": {"n_samples": (600, _N[1]), "classes": (3, "Number of spiral arms (classes)."),
               "noise": (0.2, "Std of the angle noise in radians.")},
    "moons": {"n_samples": (500, _N[1]), "noise": (0.1, "Std of the Gaussian noise added to each point.")},
    "circles": {"n_samples": (500, _N[1]), "noise": (0.08, "Std of the Gaussian noise added to each point."),
                "factor": (0.5, "Radius of the inner circle relative to the outer one.")},
    "xor": {"n_samples": (500, _N[1]), "noise": (0.1, "Std of the Gaussian noise added to each point.")},
    "blobs": {"n_samples": (500, _N[1]), "classes": (3, "Number of blobs (classes)."),
              "noise": (1.0, "Std of each blob.")},
    "sine": {"n_samples": (500, _N[1]), "noise": (0.1, "Std of the noise added to sin(x).")},
    "digits": {}, "iris": {}, "wine": {}, "breast_cancer": {}, "diabetes": {},
    "reverse": {"n_samples": (4000, _N[1]), "seq_len": (8, "Digits per sequence.")},
    "text": {"seq_len": (32, "Characters per window (the transformer template expects 32)."),
             "stride": (None, "Characters between window starts (default: seq_len, no overlap).")},
    "csv": {"impute": ("", "Fill missing or junk values: mean, median, or drop the row (default: refuse)."),
            "max_categories": (100, "Refuse a text column with more distinct values than this.")},
    "images": {"size": (32, "Images are resized to size×size (or [height, width])."),
               "grayscale": (False, "Convert to one channel.")},
    "idx": {"labels": (None, "The labels IDX file, relative to the project (required)."),
            "images": (None, "The images IDX file, when data.path is not it.")},
    "npz": {"input_dtype": ("float", "'long' keeps an integer X as token ids (no preprocessing).")},
}


class Options:
    """Reads `spec.options` for one source, refusing unknown keys and wrong values."""

    def __init__(self, options: Any, source: str):
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise DataError(f"data.options must be an object (got {type(options).__name__}): use {{}} for defaults")
        known = OPTIONS.get(source, {})
        for key in options:
            if key not in known:
                hint = f"it knows {', '.join(known)}" if known else "it takes none"
                raise DataError(f"data.options has {key!r}, which the {source} data set does not use: "
                                f"remove it ({hint})")
        self.values = {k: v for k, v in options.items() if v is not None}   # null means "the default"
        self.source = source

    def _where(self, name: str) -> str:
        return f"data.options.{name} (for {self.source})"

    def has(self, name: str) -> bool:
        return name in self.values

    def int(self, name: str, default: int, lo: int, hi: int | None = None) -> int:
        v = _parse_number(self.values.get(name, default))
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise DataError(f"{self._where(name)} must be a whole number (got {v!r}): e.g. {default}")
        if v < lo or (hi is not None and v > hi):
            rng = f"between {lo:,} and {hi:,}" if hi is not None else f"at least {lo:,}"
            raise DataError(f"{self._where(name)} is {v:,}: use a value {rng}")
        return v

    def float(self, name: str, default: float, lo: float, hi: float | None = None) -> float:
        v = _parse_number(self.values.get(name, default))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            raise DataError(f"{self._where(name)} must be a number (got {v!r}): e.g. {default}")
        if v < lo or (hi is not None and v > hi):
            rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise DataError(f"{self._where(name)} is {v}: use a value {rng}")
        return float(v)

    def bool(self, name: str, default: bool) -> bool:
        v = self.values.get(name, default)
        if not isinstance(v, bool):
            raise DataError(f"{self._where(name)} must be true or false (got {v!r})")
        return v

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        v = self.values.get(name, default)
        if v not in choices:
            raise DataError(f"{self._where(name)} is {v!r}: use one of {', '.join(repr(c) for c in choices)}")
        return v

    def str(self, name: str, default: str = "") -> str:
        v = self.values.get(name, default)
        if not isinstance(v, str):
            raise DataError(f"{self._where(name)} must be text (got {v!r})")
        return v


def _parse_number(v: Any) -> Any:
    """Numbers typed into a text field arrive as strings: "16" -> 16, "0.5" -> 0.5."""
    if isinstance(v, str):
        text = v.strip()
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
    return v
