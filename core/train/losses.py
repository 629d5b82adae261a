"""Losses, built once per run as a plain function `loss(output, target) -> scalar mean`.

- cross_entropy: logits [B, C] with class ids [B], or per-position logits [B, T, V] with ids
  [B, T] (every position counts); label smoothing from the spec.
- bce_logits: one output unit with binary ids {0, 1}; or C units one-vs-rest against class ids
  (one-hot); or multi-label float targets shaped like the output.
- hinge: multi-class margin loss (nn.MultiMarginLoss) on [B, C] logits.
- mse, mae, huber (huber_delta): float targets; a [B] target meets a [B, 1] output.

`weight` (class weights, core/train/imbalance.py) makes a classification loss a weighted mean:
cross_entropy and hinge pass it to torch; bce_logits weighs each sample by its class's weight.

Mismatches between loss, data and network are caught before training by `preflight`.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

CLASS_LOSSES = ("cross_entropy", "hinge")
REGRESSION_LOSSES = ("mse", "mae", "huber")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def build_loss(spec, output_width: int, num_classes: int | None = None, weight=None) -> LossFn:
    """`spec` is a TrainSpec (loss, label_smoothing, huber_delta); `weight` a [classes] tensor or None."""
    name = spec.loss
    if name == "cross_entropy":
        smoothing = float(spec.label_smoothing)

        def cross_entropy(out, y):
            if out.dim() > 2:               # per-position [B, T, V] with [B, T]
                return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), weight=weight,
                                       label_smoothing=smoothing)
            return F.cross_entropy(out, y, weight=weight, label_smoothing=smoothing)
        return cross_entropy
    if name == "bce_logits" and weight is not None:
        return _weighted_bce(weight)
    if name == "bce_logits":
        def bce(out, y):
            if y.is_floating_point():       # multi-label (or probabilities) shaped like the output
                return F.binary_cross_entropy_with_logits(out, y.reshape(out.shape).to(out.dtype))
            if out.shape[-1] == 1 and y.dim() == out.dim() - 1:   # binary: one unit, ids {0, 1}
                return F.binary_cross_entropy_with_logits(out.squeeze(-1), y.to(out.dtype))
            return F.binary_cross_entropy_with_logits(out, F.one_hot(y, out.shape[-1]).to(out.dtype))
        return bce
    if name == "hinge":
        def hinge(out, y):
            if out.dim() > 2:
                return F.multi_margin_loss(out.reshape(-1, out.shape[-1]), y.reshape(-1), weight=weight)
            return F.multi_margin_loss(out, y, weight=weight)
        return hinge
    if name in REGRESSION_LOSSES:
        fn = {"mse": F.mse_loss, "mae": F.l1_loss}.get(name)
        delta = float(spec.huber_delta)

        def regression(out, y):
            if y.shape != out.shape:
                y = y.reshape(out.shape)
            y = y.to(out.dtype)
            return fn(out, y) if fn else F.huber_loss(out, y, delta=delta)
        return regression
    raise ValueError(f"unknown loss {name!r}")


def _weighted_bce(weight: torch.Tensor) -> LossFn:
    """bce_logits on class ids, each sample weighted by its class's weight (Σ w·loss / Σ w)."""
    def bce(out, y):
        w = weight[y]
        if out.shape[-1] == 1 and y.dim() == out.dim() - 1:   # binary: one unit, ids {0, 1}
            per = F.binary_cross_entropy_with_logits(out.squeeze(-1), y.to(out.dtype), reduction="none")
        else:                               # one-vs-rest: the mean over the units, per sample
            per = F.binary_cross_entropy_with_logits(out, F.one_hot(y, out.shape[-1]).to(out.dtype),
                                                     reduction="none").mean(-1)
        return (per * w).sum() / w.sum()
    return bce
