"""Real data sets from scikit-learn, shipped in resources/datasets/ (no download, no sklearn import) and the character-level text task on
the public-domain corpus shipped in resources/text/."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .dataset import Raw
from .errors import DataError
from .options import OPTIONS, Options
from .synthetic import GENERATORS

VOCAB = 128   # ASCII; anything else becomes '?'


TABLES = ("iris", "wine", "breast_cancer", "diabetes")


def table_path(name: str) -> Path:
    """The bundled copy of one of scikit-learn's data files (resources/datasets/README.md)."""
    from ..resources import resource_dir
    return resource_dir() / "datasets" / f"{name}.csv.gz"


def _read_table(name: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(values float64 [N, F], target float64 [N], feature names, class names — [] for regression)
    from a bundled table: `# classes: a,b` (or `# regression`), a header line, then the rows with
    the target last. The same values as scikit-learn's load_* (no sklearn import: seconds)."""
    import gzip
    path = table_path(name)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            first, header = f.readline().strip(), f.readline().strip()
            rows = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, ValueError) as e:
        raise DataError(f"the bundled data set {path} cannot be read ({e}): reinstall LayerLab") from None
    classes = first.split(":", 1)[1].strip().split(",") if first.startswith("# classes:") else []
    return rows[:, :-1], rows[:, -1], header.split(",")[:-1], classes


def digits(opts: Options, seed: int) -> Raw:
    """8×8 grey-level digit images (0-16) as 1×8×8 floats in [0, 1]."""
    x, y, _, classes = _read_table("digits")
    x = (x.reshape(-1, 8, 8).astype(np.float32) / 16.0)[:, None, :, :]
    return Raw(x=x, y=y.astype(np.int64), task="classification", num_classes=10, class_names=classes)


def _tabular(name: str) -> Raw:
    x, y, names, classes = _read_table(name)
    x = np.asarray(x, dtype=np.float32)
    if not classes:
        return Raw(x=x, y=y.astype(np.float32).reshape(-1, 1), task="regression", num_classes=0, class_names=[],
                   feature_names=names)
    return Raw(x=x, y=y.astype(np.int64), task="classification", num_classes=len(classes),
               class_names=classes, feature_names=names)


def corpus_path() -> Path:
    from ..resources import resource_dir
    return resource_dir() / "text" / "corpus.txt"


@lru_cache(maxsize=4)
def _corpus_ids(path: str, mtime: float) -> np.ndarray:
    text = Path(path).read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    return encode_text(text)


def encode_text(text: str) -> np.ndarray:
    """ASCII codes as int64; characters outside ASCII become '?'."""
    raw = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8)
    return raw.astype(np.int64)


def decode_text(ids) -> str:
    return "".join(chr(int(i)) if 0 <= int(i) < VOCAB else "?" for i in ids)


def char_names() -> list[str]:
    """Class names for the 128 ASCII ids: the character itself, or an escape for control codes."""
    special = {9: "\\t", 10: "\\n", 13: "\\r", 32: "space"}
    return [special.get(i, chr(i) if 32 < i < 127 else f"0x{i:02x}") for i in range(VOCAB)]


def text(opts: Options, seed: int) -> Raw:
    """Next-character prediction: x = ids[s : s+T], y = ids[s+1 : s+T+1], windows every `stride`."""
    t = opts.int("seq_len", OPTIONS["text"]["seq_len"][0], 2, 4096)
    stride = opts.int("stride", t, 1, 1_000_000)
    path = corpus_path()
    try:
        ids = _corpus_ids(str(path), path.stat().st_mtime)
    except OSError as e:
        raise DataError(f"the bundled text {path} cannot be read ({e.strerror or e}): reinstall LayerLab") from None
    starts = np.arange(0, len(ids) - t, stride)
    if len(starts) < 10:
        raise DataError(f"the bundled text ({len(ids):,} characters) gives only {len(starts)} windows of "
                        f"{t}: lower data.options.seq_len or stride")
    window = starts[:, None] + np.arange(t)[None, :]
    return Raw(x=ids[window], y=ids[window + 1], task="classification", num_classes=VOCAB,
               class_names=char_names(), input_dtype="long")


def _loader(name: str):
    return lambda opts, seed: _tabular(name)


BUILTINS = {**GENERATORS, "digits": digits, "iris": _loader("iris"), "wine": _loader("wine"),
            "breast_cancer": _loader("breast_cancer"), "diabetes": _loader("diabetes"), "text": text}

TASKS = {"spiral": "classification", "moons": "classification", "circles": "classification",
         "xor": "classification", "blobs": "classification", "sine": "regression",
         "digits": "classification", "iris": "classification", "wine": "classification",
         "breast_cancer": "classification", "diabetes": "regression", "reverse": "classification",
         "text": "classification"}

# Traits of the built-in sets: the flips that change what a sample means (preflight warns when
# training.augment turns one on): a mirrored 2, 3 or 7 is not that digit any more.
FLIP_CHANGES_LABEL = {"digits": ("hflip", "vflip")}
