"""Shape-rule helpers shared by the catalogue entries."""
from __future__ import annotations

from typing import Sequence

from .spec import ShapeError, TensorType


def one(inputs: Sequence[TensorType]) -> TensorType:
    return inputs[0]


def need_float(x: TensorType, fix: str = "insert Embedding first to turn token ids into vectors") -> None:
    if x.dtype != "float":
        raise ShapeError(f"needs float features but gets integer ids {x}", fix)


def need_rank(x: TensorType, ranks: Sequence[int], what: str, fix: str) -> None:
    if x.rank not in ranks:
        raise ShapeError(f"needs {what} but gets {x}", fix)


def conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(kernel: int, dilation: int = 1) -> int:
    return dilation * (kernel - 1) // 2


def nn():
    """torch.nn, imported on first build only (keeps inference and GUI start-up torch-free)."""
    from torch import nn as _nn
    return _nn


def modules():
    from . import modules as _m
    return _m
