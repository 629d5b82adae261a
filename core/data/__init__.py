"""Data sets for LayerLab: built-in (generated, scikit-learn's bundled sets, a digit-reversal task
and a character-level text) and the user's files (CSV, image folders, IDX, NPZ).

    ds = load(spec, base_dir)       # -> Dataset, preprocessed with statistics of the train split only

Every bad input is a `DataError` whose message names the cause and the fix. Nothing here
imports Qt."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..memory import ENV as MEMORY_ENV
from ..safe_text import shown
from ..specs import BUILTIN_DATASETS, FILE_SOURCES, DataSpec
from .builtin import BUILTINS, TASKS, VOCAB, corpus_path, decode_text, encode_text
from .dataset import Dataset, Raw, resolve_path
from .errors import DataError, LoadCancelled
from .options import OPTIONS, Options
from .preprocess import KINDS, Preprocessor
from .splits import impute_after_split, split_indices

__all__ = ["load", "Dataset", "DataError", "LoadCancelled", "Preprocessor", "DATASETS", "OPTIONS", "KINDS",
           "VOCAB", "describe", "corpus_path", "encode_text", "decode_text"]

DATASETS: dict[str, str] = {
    "spiral": "Interleaved spiral arms, 2-D, 3 classes (options: classes, n_samples, noise)",
    "moons": "Two interleaving half circles, 2-D, 2 classes",
    "circles": "A circle inside a ring, 2-D, 2 classes",
    "xor": "Quadrants with the same or opposite signs, 2-D, 2 classes",
    "blobs": "Gaussian clusters, 2-D, 3 classes (options: classes)",
    "sine": "Noisy sin(x): 1-D regression",
    "digits": "Handwritten digits, 1×8×8 images, 10 classes (1,797 samples, scikit-learn)",
    "iris": "Iris flowers: 4 measurements, 3 species (150 samples)",
    "wine": "Wine cultivars: 13 chemical measurements, 3 classes (178 samples)",
    "breast_cancer": "Breast tumours: 30 features, malignant or benign (569 samples)",
    "diabetes": "Diabetes progression: 10 features, regression (442 samples)",
    "reverse": "Reverse a sequence of 8 digits: token ids in and out, per position",
    "text": "Next character of public-domain English text (ASCII ids, windows of 32)",
    "csv": "A CSV file: pick the target column; text columns are one-hot encoded",
    "images": "A folder with one sub-folder of images per class",
    "idx": "MNIST-style IDX files: images, and labels via options.labels",
    "npz": "A NumPy .npz file with arrays X and y",
}


def describe(name: str) -> str:
    return DATASETS.get(name, name)


def load(spec: DataSpec, base_dir: Path | str | None = None, *, progress=None, cancel=None) -> Dataset:
    """Load, split (seeded, stratified for classification) and preprocess (fit on train only).

    `progress(fraction)` hears how far it got (0..1); `cancel` (a callable, or a threading.Event)
    is checked per chunk and stops the load with `LoadCancelled`."""
    from .progress import watch_of
    if not isinstance(spec, DataSpec):
        raise DataError(f"load needs a DataSpec (got {type(spec).__name__})")
    watch = watch_of(progress, cancel)
    _check(spec)
    try:
        raw = _raw(spec, base_dir, watch.part(0.0, 0.8))
    except (DataError, LoadCancelled):
        raise
    except MemoryError:   # the estimates missed (a budget above what the computer can give)
        raise DataError(f"{spec.dataset} source {shown(spec.path)!r} needs more memory than is free: use a "
                        f"smaller data set, or a lower {MEMORY_ENV}") from None
    except Exception as e:   # a file went wrong in a way not foreseen: still one clear line, cause chained
        if spec.dataset not in FILE_SOURCES:
            raise
        first = (str(e).strip().splitlines() or [""])[0][:120]
        raise DataError(f"{spec.dataset} source {spec.path!r} could not be read ({type(e).__name__}: {first}): "
                        "check that the file is complete and in the expected format") from e
    watch.step(0.8)
    ds = _finish(spec, raw, watch.part(0.8, 1.0))
    watch.step(1.0)
    return ds


def _check(spec: DataSpec) -> None:
    idx_images = spec.dataset == "idx" and isinstance(spec.options, dict) and spec.options.get("images")
    problems = [p for p in spec.problems() if not (idx_images and p.startswith("data.path is empty"))]
    if problems:
        raise DataError(problems[0] + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""))
    if isinstance(spec.seed, bool) or not isinstance(spec.seed, int) or not 0 <= spec.seed < 2 ** 32:
        raise DataError(f"data.seed must be a whole number from 0 to 4294967295 (got {spec.seed!r})")


def _raw(spec: DataSpec, base_dir, watch=None) -> Raw:
    opts = Options(spec.options, spec.dataset)
    if spec.dataset in BUILTIN_DATASETS:
        natural = TASKS[spec.dataset]
        if spec.task not in ("auto", natural):
            raise DataError(f"data.task {spec.task!r} does not fit {spec.dataset}, a built-in {natural} set: "
                            "set data.task to auto")
        return BUILTINS[spec.dataset](opts, spec.seed)
    if spec.dataset == "csv":
        from .tabular import load_csv
        return load_csv(resolve_path(spec.path, base_dir, "data.path"), spec.target, spec.task, opts, watch)
    if spec.dataset == "images":
        from .images import load_images
        return load_images(resolve_path(spec.path, base_dir, "data.path"), opts, watch)
    if spec.dataset == "idx":
        from .arrays import load_idx
        images = opts.str("images") or spec.path
        labels = opts.str("labels")
        if not labels:
            raise DataError('the idx source needs its labels file: set data.options {"labels": '
                            '"train-labels-idx1-ubyte"} (a path relative to the project)')
        images_path = resolve_path(images, base_dir, "IDX images file")
        labels_path = _labels_path(labels, base_dir, images_path)
        return load_idx(images_path, labels_path, spec.task)
    if spec.dataset == "npz":
        from .arrays import load_npz
        return load_npz(resolve_path(spec.path, base_dir, "data.path"), spec.task, opts)
    raise DataError(f"data.dataset {spec.dataset!r} is unknown: use one of {', '.join(BUILTIN_DATASETS + FILE_SOURCES)}")


def _labels_path(labels: str, base_dir, images_path: Path) -> Path:
    """Relative to the project like data.path; failing that, beside the images file."""
    direct = Path(labels).expanduser()
    if not direct.is_absolute() and not ((Path(base_dir) if base_dir is not None else Path.cwd()) / direct).exists():
        if (images_path.parent / direct).exists():
            return images_path.parent / direct
    return resolve_path(labels, base_dir, "IDX labels file (data.options.labels)")


def _finish(spec: DataSpec, raw: Raw, watch=None) -> Dataset:
    notes = list(raw.notes)
    stratify = raw.task == "classification" and raw.y.ndim == 1
    tr, va, te, note = split_indices(raw.y, spec.val_fraction, spec.test_fraction, spec.seed, stratify,
                                     raw.class_names)
    if note:
        notes.append(note)
    x = raw.x
    if raw.impute:
        x, filled = impute_after_split(x, tr, raw.impute, raw.columns or raw.feature_names)
        notes += filled
    long = raw.input_dtype == "long"
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64 if long else np.float32))
    ydt = np.int64 if raw.task == "classification" else np.float32
    yt = torch.from_numpy(np.ascontiguousarray(raw.y, dtype=ydt))
    parts = {k: torch.from_numpy(v) for k, v in (("tr", tr), ("va", va), ("te", te))}
    raw_train = xt[parts["tr"]]
    if long:
        pre = Preprocessor("none", tuple(xt.shape[1:]), fitted_on=len(tr),
                           note="token ids are used as they are")
    else:
        try:
            pre = Preprocessor.fit(spec.preprocessing, raw_train)
        except DataError as e:   # "feature 3 ..." -> the column's name where the source has names
            head, _, rest = str(e).partition(" spans ")
            col = head.removeprefix("feature ")
            if not rest or not col.isdigit() or int(col) > len(raw.feature_names):
                raise
            raise DataError(f"feature {raw.feature_names[int(col) - 1]!r} spans {rest}") from None

    def prep(ix, split):
        if watch is not None:
            watch.step({"train": 0.6, "validation": 0.8}.get(split, 0.9))
        xs = xt[ix]
        if long:
            return xs
        out = pre.transform(xs).contiguous()
        if not bool(torch.isfinite(out).all()):   # a value far outside the train split's spread
            row, col = (int(v) for v in (~torch.isfinite(out.reshape(len(out), -1))).nonzero()[0])
            name = repr(raw.feature_names[col]) if col < len(raw.feature_names) else str(col + 1)
            value = float(xs.reshape(len(xs), -1)[row, col])
            raise DataError(f"feature {name} in the {split} split holds {value:.3g}, so far outside the train "
                            f"split's values that {pre.kind} overflows 32-bit floats: check that value or "
                            "rescale the column")
        return out

    return Dataset(
        name=spec.dataset if spec.dataset in BUILTIN_DATASETS else Path(spec.path or spec.dataset).name,
        task=raw.task,
        x_train=prep(parts["tr"], "train"), y_train=yt[parts["tr"]],
        x_val=prep(parts["va"], "validation"), y_val=yt[parts["va"]],
        x_test=prep(parts["te"], "test"), y_test=yt[parts["te"]],
        num_classes=raw.num_classes if raw.task == "classification" else 0,
        class_names=list(raw.class_names) if raw.task == "classification" else [],
        feature_names=list(raw.feature_names), input_shape=tuple(int(s) for s in xt.shape[1:]),
        input_dtype="long" if long else "float",
        preprocessor=pre,
        raw_x_train=raw_train,
        notes=notes,
    )
