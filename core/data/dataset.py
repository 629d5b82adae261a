"""The loaded data set (`Dataset`) and the intermediate `Raw` arrays a source hands to `load`
before splitting and preprocessing."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import DataError

if TYPE_CHECKING:
    from .preprocess import Preprocessor


@dataclass(eq=False)
class Dataset:
    """Split and preprocessed tensors plus what the GUI, trainer and exporters need to know."""
    name: str
    task: str                     # "classification" | "regression"
    x_train: torch.Tensor         # preprocessed, [N, *input_shape]
    y_train: torch.Tensor         # int64 [N] / [N, T] (classification) or float32 [N, k] (regression)
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int              # 0 for regression; the vocabulary size for token tasks
    class_names: list[str]
    feature_names: list[str]      # tabular features; [] for images and sequences
    input_shape: tuple[int, ...]  # per sample
    input_dtype: str              # "float" | "long" (token ids, never preprocessed)
    preprocessor: Preprocessor    # fitted on the train split only
    raw_x_train: torch.Tensor     # the train features before preprocessing
    notes: list[str] = field(default_factory=list)   # things worth telling the user (fallbacks, imputation)

    @property
    def sizes(self) -> tuple[int, int, int]:
        return len(self.x_train), len(self.x_val), len(self.x_test)

    @property
    def target_shape(self) -> tuple[int, ...]:
        """Per-sample target shape: () for class ids, (T,) for per-position ids, (k,) for regression."""
        return tuple(self.y_train.shape[1:])

    def summary(self) -> str:
        """One line for logs and the status bar."""
        tr, va, te = self.sizes
        shape = ", ".join(str(s) for s in self.input_shape)
        k = self.y_train.shape[1] if self.y_train.dim() > 1 else 1
        kind = (f"{self.num_classes} classes" if self.task == "classification"
                else f"regression, {plural(k, 'target')}")
        return f"{self.name}: {tr:,} train / {va:,} val / {te:,} test, input [B, {shape}] {self.input_dtype}, {kind}"


@dataclass(eq=False)
class Raw:
    """What a source produces: all samples, before splitting and preprocessing.

    `x` is float32 [N, *shape] (int64 for token ids); `y` is int64 class ids ([N] or [N, T]) for
    classification or float32 [N, k] for regression. `x` may hold NaN only when `impute` is
    "mean" or "median": those gaps are filled after the split from train statistics."""
    x: np.ndarray
    y: np.ndarray
    task: str
    num_classes: int
    class_names: list[str]
    feature_names: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)   # source column per feature (one-hot shares one)
    input_dtype: str = "float"
    impute: str = ""
    notes: list[str] = field(default_factory=list)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"



def resolve_path(path: str, base_dir: Path | None, what: str) -> Path:
    """A user path: ~ expanded, relative ones taken from base_dir (the project's folder)."""
    p = Path(path).expanduser()
    if not p.is_absolute():
        p = (Path(base_dir) if base_dir is not None else Path.cwd()) / p
    if not p.exists():
        raise DataError(f"{what} {path!r} does not exist (looked for {p}): fix the path; relative paths start "
                        "at the project file's folder")
    return p
