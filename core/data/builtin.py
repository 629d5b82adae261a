"""Real data sets bundled with scikit-learn (no download) and the character-level text task on
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


def _sklearn(name: str):
    from sklearn import datasets as skd
    if name == "diabetes":
        return skd.load_diabetes(scaled=False)
    return getattr(skd, f"load_{name}")()


def _digits_file() -> Path | None:
    """scikit-learn's digits.csv.gz, found without importing scikit-learn (whose import takes about
    as long as torch's); None when it is not where scikit-learn keeps it."""
    import importlib.util
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images n×8×8 float64 0-16, targets int) exactly as sklearn.datasets.load_digits gives them:
    it too reads this file with np.loadtxt (a test compares the two)."""
    path = _digits_file()
    if path is None:
        b = _sklearn("digits")
        return b.images, b.target
    import gzip
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)


def digits(opts: Options, seed: int) -> Raw:
    """8×8 grey-level digit images (0-16) as 1×8×8 floats in [0, 1]."""
    images, target = _digits_arrays()
    x = (images.astype(np.float32) / 16.0)[:, None, :, :]
    return Raw(x=x, y=target.astype(np.int64), task="classification", num_classes=10,
               class_names=[str(c) for c in range(10)])


def _tabular(name: str) -> Raw:
    b = _sklearn(name)
    x = np.asarray(b.data, dtype=np.float32)
    names = [str(f) for f in b.feature_names]
    if name == "diabetes":
        y = np.asarray(b.target, dtype=np.float32).reshape(-1, 1)
        return Raw(x=x, y=y, task="regression", num_classes=0, class_names=[], feature_names=names)
    classes = [str(c) for c in b.target_names]
    return Raw(x=x, y=np.asarray(b.target, dtype=np.int64), task="classification", num_classes=len(classes),
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
