"""What to train on (DataSpec) and how (TrainSpec): plain dataclasses stored in the project
file. `from_dict` refuses unknown keys and wrong types; `problems()` checks choices and ranges
and says how to fix each."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .safe_text import shown

BUILTIN_DATASETS = ("spiral", "moons", "circles", "xor", "blobs", "sine", "digits", "iris", "wine",
                    "breast_cancer", "diabetes", "reverse", "text")
FILE_SOURCES = ("csv", "images", "idx", "npz")
PREPROCESSING = ("none", "center", "standardize", "minmax", "pca_whiten")

INITS = ("auto", "zeros", "constant", "small_normal", "large_normal", "uniform", "xavier_normal",
         "xavier_uniform", "he_normal", "he_uniform", "lecun_normal", "orthogonal")
# the schemes `layerlab explore-init` compares by default (kept here: the CLI must not import torch to list them)
EXPLORE_INITS = ("auto", "he_normal", "xavier_normal", "uniform", "small_normal", "large_normal")
LOSSES = ("cross_entropy", "bce_logits", "hinge", "mse", "mae", "huber")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "exponential", "cosine", "warmup_cosine", "cosine_restarts",
             "one_cycle", "plateau")
CLIPPING = ("none", "norm", "value")
DEVICES = ("auto", "cpu", "cuda", "mps")
MONITORS = ("val_loss", "val_accuracy", "val_f1", "val_mae", "val_r2")
CLASS_WEIGHTS = ("none", "balanced", "custom")
SAMPLERS = ("shuffle", "balanced")
COMPILE = ("auto", "on", "off")       # torch.compile of the training step (core/train/compile_step.py)
MAX_CLASS_WEIGHTS = 100_000
# training.augment (core/train/augment.py): setting -> (kind of data, low, high, one line of help);
# a setting absent or at 0 is off. Noise and brightness are in units of the training set's std.
AUGMENTS = {
    "crop_pad": ("image", 0, 16, "random crop with this many pixels of zero padding (shifts the image)"),
    "resized_crop": ("image", 0.0, 1.0, "random resized crop keeping at least this fraction of the area (0 = off)"),
    "hflip": ("image", 0.0, 1.0, "probability of a horizontal flip (wrong where mirroring changes the label)"),
    "vflip": ("image", 0.0, 1.0, "probability of a vertical flip"),
    "rotate": ("image", 0.0, 45.0, "random rotation of up to ± this many degrees"),
    "scale": ("image", 0.0, 0.5, "random zoom by a factor in 1 ± this"),
    "brightness": ("image", 0.0, 1.0, "shift each image by up to ± this many standard deviations"),
    "contrast": ("image", 0.0, 1.0, "scale each image's contrast by a factor in 1 ± this"),
    "erase": ("image", 0.0, 1.0, "probability of blanking a random rectangle (random erasing)"),
    "mixup": ("image", 0.0, 4.0, "MixUp α: blend pairs of images and their labels (0 = off, 0.2 typical)"),
    "cutmix": ("image", 0.0, 4.0, "CutMix α: paste a patch of another image, labels by area (0 = off, 1 typical)"),
    "noise": ("image tabular", 0.0, 2.0, "add Gaussian noise of this many standard deviations"),
    "token_dropout": ("sequence", 0.0, 0.5, "probability of replacing each input token by token 0"),
}
# what the Data panel's "Default" sets for an image set, and what `make bench` times
DEFAULT_IMAGE_AUGMENT = {"rotate": 10.0, "scale": 0.1, "brightness": 0.1, "contrast": 0.1}


MAX_TEXT = 4096          # a path, a column name, a choice
MAX_COUNT = 10**9        # epochs, batch size, seeds and other counts


class SpecError(ValueError):
    """A malformed spec in a project file."""


@dataclass
class DataSpec:
    dataset: str = "spiral"          # a built-in name or a file source (csv, images, idx, npz)
    path: str = ""                   # file sources: relative to the project file
    target: str = ""                 # csv: target column (default: the last)
    task: str = "auto"               # auto, classification, regression
    options: dict[str, Any] = field(default_factory=dict)  # per-source (n_samples, noise, size, grayscale, impute)
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    preprocessing: str = "standardize"
    seed: int = 0

    def problems(self) -> list[str]:
        out = _range_problems(self, "data")
        if self.dataset not in BUILTIN_DATASETS + FILE_SOURCES:
            out.append(f"data.dataset {_short(self.dataset)} is unknown: use one of "
                       f"{', '.join(BUILTIN_DATASETS + FILE_SOURCES)}")
        if self.dataset in FILE_SOURCES and not self.path:
            out.append(f"data.path is empty: a {self.dataset} source needs a file or folder")
        if self.task not in ("auto", "classification", "regression"):
            out.append("data.task must be auto, classification or regression")
        if self.preprocessing not in PREPROCESSING:
            out.append(f"data.preprocessing {_short(self.preprocessing)} is unknown: use one of {', '.join(PREPROCESSING)}")
        for name in ("val_fraction", "test_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                out.append(f"data.{name} must be in [0, 1) (got {v})")
        if self.val_fraction + self.test_fraction >= 0.9:
            out.append("data.val_fraction + data.test_fraction leave under 10% for training: lower them")
        return _first_per_setting(out)


@dataclass
class TrainSpec:
    epochs: int = 20
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    mixed_precision: bool = False    # CUDA only
    compile: str = "auto"            # torch.compile of the step: auto (where it measures faster in a long run), on, off
    # initialization
    init: str = "auto"
    init_overrides: dict[str, str] = field(default_factory=dict)  # node id -> scheme
    init_constant: float = 0.1       # for "constant"
    # loss
    loss: str = "cross_entropy"
    label_smoothing: float = 0.0
    huber_delta: float = 1.0
    # class imbalance (core/train/imbalance.py): loss weights per class and the epoch's sampler
    class_weights: str = "none"      # none, balanced (n / (k · count of the class)), custom
    custom_class_weights: list[float] = field(default_factory=list)   # custom: one weight per class
    sampler: str = "shuffle"         # shuffle, balanced (P(sample) ∝ 1 / count of its class)
    # data augmentation of the training split (AUGMENTS; empty = off): setting -> strength
    augment: dict[str, float] = field(default_factory=dict)
    # optimizer
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0        # decoupled (AdamW-style) weight decay
    l2: float = 0.0                  # L2 penalty added to the loss
    l1: float = 0.0                  # L1 penalty added to the loss
    max_norm: float = 0.0            # 0 = off; per-unit weight norm cap after each step
    # schedule
    schedule: str = "constant"
    step_size: int = 10              # step: epochs between decays
    gamma: float = 0.1               # step / exponential decay factor
    warmup_epochs: int = 2
    restart_epochs: int = 10         # cosine_restarts: first cycle length T_0
    restart_mult: int = 2            # cosine_restarts: T_mult
    min_lr: float = 0.0
    plateau_patience: int = 3
    # early stopping
    early_stopping: bool = False
    monitor: str = "val_loss"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True
    # gradient clipping
    clip: str = "none"
    clip_value: float = 1.0
    # DDP (--nproc N): BatchNorm statistics over the global batch instead of each rank's shard
    sync_batchnorm: bool = False
    # probes (activation / weight histograms, dead units): every N epochs, 0 = off
    probe_every: int = 1
    # transfer learning (core/train/freeze.py): node ids kept fixed, per-node LR factors, and a
    # safetensors file (keyed by node id, relative to the project) whose tensors replace the init
    frozen: list[str] = field(default_factory=list)
    lr_multipliers: dict[str, float] = field(default_factory=dict)
    start_weights: str = ""

    def problems(self) -> list[str]:
        out = _range_problems(self, "training")
        for name, choices in (("init", INITS), ("loss", LOSSES), ("optimizer", OPTIMIZERS),
                              ("schedule", SCHEDULES), ("clip", CLIPPING), ("device", DEVICES),
                              ("monitor", MONITORS), ("class_weights", CLASS_WEIGHTS), ("sampler", SAMPLERS),
                              ("compile", COMPILE)):
            v = getattr(self, name)
            if v not in choices:
                out.append(f"training.{name} {_short(v)} is unknown: use one of {', '.join(choices)}")
        for node_id, scheme in self.init_overrides.items():
            if scheme not in INITS:
                out.append(f"training.init_overrides[{_short(node_id)}] {_short(scheme)} is unknown: use one of {', '.join(INITS)}")
        out += _transfer_problems(self)
        out += _class_weight_problems(self)
        out += augment_problems(self.augment)
        for name, lo in (("epochs", 1), ("batch_size", 1), ("step_size", 1), ("restart_epochs", 1),
                         ("restart_mult", 1), ("patience", 1), ("plateau_patience", 0), ("warmup_epochs", 0),
                         ("probe_every", 0)):
            if getattr(self, name) < lo:
                out.append(f"training.{name} must be ≥ {lo} (got {getattr(self, name)})")
        if not self.lr > 0:
            out.append(f"training.lr must be > 0 (got {self.lr}): try 1e-3 for Adam, 0.1 for SGD")
        for name in ("weight_decay", "l2", "l1", "max_norm", "min_lr", "min_delta", "label_smoothing"):
            if getattr(self, name) < 0:
                out.append(f"training.{name} must be ≥ 0 (got {getattr(self, name)})")
        if self.label_smoothing >= 1:
            out.append("training.label_smoothing must be below 1 (0.1 is typical)")
        for name in ("momentum", "beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                out.append(f"training.{name} must be in [0, 1) (got {getattr(self, name)})")
        if not 0 < self.gamma <= 1:
            out.append(f"training.gamma must be in (0, 1] (got {self.gamma})")
        if self.clip != "none" and not self.clip_value > 0:
            out.append(f"training.clip_value must be > 0 (got {self.clip_value})")
        if self.huber_delta <= 0:
            out.append(f"training.huber_delta must be > 0 (got {self.huber_delta})")
        return _first_per_setting(out)


def spec_to_dict(spec) -> dict[str, Any]:
    return dataclasses.asdict(spec)


def spec_from_dict(cls, data: Any, where: str):
    """Strict: unknown keys and wrong types are errors that name the key."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise SpecError(f"{where} must be an object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    values = {}
    for key, value in data.items():
        if key not in fields:
            name = key if key.isidentifier() else repr(key)
            raise SpecError(f"{where}.{shown(name)} is not a known setting (known: {', '.join(fields)})")
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value) if abs(value) < 2**1000 else math.inf
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise SpecError(f"{where}.{key} must be {expected.__name__} (got {_short(value)})")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise SpecError(f"{where}.{key} is {len(value):,} characters long (at most {MAX_TEXT:,}): "
                            f"shorten it ({shown(value, 40)!r})")
        values[key] = value
    return cls(**values)


def _transfer_problems(t) -> list[str]:
    out = [f"training.frozen holds {_short(v)}: list node ids such as 'n3'" for v in t.frozen if not isinstance(v, str)]
    for node_id, m in t.lr_multipliers.items():
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not 0 < m <= 1000:
            out.append(f"training.lr_multipliers[{_short(node_id)}] must be a number above 0 and at most 1000 "
                       f"(got {_short(m)})")
    return out


def _class_weight_problems(t) -> list[str]:
    """Custom class weights: a non-empty list of finite numbers above 0 (their count against the
    classes is checked by preflight, which knows the data)."""
    w = t.custom_class_weights
    if t.class_weights != "custom":
        return []
    if not w:
        return ["training.custom_class_weights is empty: give one weight per class (e.g. [1.0, 19.0]) "
                "or set training.class_weights to balanced"]
    if len(w) > MAX_CLASS_WEIGHTS:
        return [f"training.custom_class_weights has {len(w):,} weights (at most {MAX_CLASS_WEIGHTS:,})"]
    bad = [v for v in w if not _positive_weight(v)]
    if bad:
        return [f"training.custom_class_weights holds {_short(bad[0])}: every weight must be a finite number above 0"]
    return []


def augment_problems(augment: dict) -> list[str]:
    out = []
    for key, v in augment.items():
        if key not in AUGMENTS:
            out.append(f"training.augment[{_short(key)}] is unknown: use one of {', '.join(AUGMENTS)}")
            continue
        lo, hi = AUGMENTS[key][1], AUGMENTS[key][2]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            out.append(f"training.augment[{key!r}] must be a number from {lo} to {hi} (got {_short(v)})")
    return out


def _positive_weight(v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(float(v)) and v > 0
    except OverflowError:       # an int beyond float's range
        return False


def _short(value: Any) -> str:
    if isinstance(value, int) and abs(value) >= 10**30:
        return f"a {int(value.bit_length() * 0.30103) + 1}-digit number"
    return shown(repr(value), 60)


def _first_per_setting(problems: list[str]) -> list[str]:
    """One line per setting: a NaN fails both the finiteness and the range check."""
    seen, out = set(), []
    for p in problems:
        key = p.split(" ", 1)[0]
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _range_problems(spec, where: str) -> list[str]:
    """Every number finite (NaN passes `x < 0` checks) and every count of a sensible size."""
    out = []
    for f in dataclasses.fields(spec):
        v = getattr(spec, f.name)
        if isinstance(v, float) and not math.isfinite(v):
            out.append(f"{where}.{f.name} must be a finite number (got {v})")
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_COUNT:
            out.append(f"{where}.{f.name} is {_short(v)}, beyond what LayerLab accepts (at most {MAX_COUNT:,})")
    return out
