"""Class imbalance: counts per class, class weights for the loss, and the balanced sampler's draw.

- `class_counts(y, k)`: samples per class of a split (per-position [N, T] ids count every position).
- `loss_weights(spec, y_train, k)`: None for `class_weights` none (the loss's plain mean); balanced
  gives class c the weight n / (k · count_c) (scikit-learn's "balanced"; an absent class counts as
  1); custom takes `custom_class_weights` as given. On y_train's device, float32.
- `sampler_cdf(spec, y_train, k)`: None for `sampler` shuffle; for balanced the cumulative
  probabilities of drawing each training sample, ∝ 1 / count of its class, so every class is drawn
  equally often on average.
- `imbalance(counts, names)`: (ratio, text) when the largest class is ≥ IMBALANCE_RATIO× the smallest
  (the Data panel's warning line and preflight's warning), else None.
- `balanced_draw(cdf, n, generator)`: n indices with replacement: n uniforms from the run's batch-order
  generator (CPU, so a run is reproducible and resumable), mapped through the cdf on the device by
  one searchsorted (no per-sample Python loop).
- `apply_flags(spec, class_weights, sampler)`: `layerlab train --class-weights none|balanced|W1,W2,...
  --sampler none|balanced` (and its DDP workers) over the project's fields; ValueError in one line
  for a value no field can hold (their count against the classes is preflight's, which knows the data).
"""
from __future__ import annotations

import math

import torch

from ..specs import MAX_CLASS_WEIGHTS

IMBALANCE_RATIO = 5.0      # largest / smallest class count from which a set counts as imbalanced


def class_counts(y: torch.Tensor, k: int) -> list[int]:
    if y.numel() == 0:
        return [0] * k
    return torch.bincount(y.reshape(-1).long().cpu(), minlength=k)[:max(k, 1)].tolist()


def imbalance(counts: list[int], names=None) -> tuple[float, str] | None:
    if len(counts) < 2:
        return None
    names = list(names) if names is not None and len(names) == len(counts) else [str(i) for i in range(len(counts))]
    hi = max(range(len(counts)), key=lambda i: counts[i])
    lo = min(range(len(counts)), key=lambda i: counts[i])
    if counts[hi] == 0 or counts[hi] < IMBALANCE_RATIO * counts[lo]:
        return None
    ratio = counts[hi] / counts[lo] if counts[lo] else float("inf")
    times = f"{ratio:.0f}×" if counts[lo] else "∞×"
    return ratio, (f"class {names[hi]} has {counts[hi]:,} training samples, {times} the {counts[lo]:,} "
                   f"of class {names[lo]}")


def loss_weights(spec, y_train: torch.Tensor, k: int):
    mode = getattr(spec, "class_weights", "none")
    if mode == "none" or k < 1:
        return None
    if mode == "custom":
        w = torch.tensor([float(v) for v in spec.custom_class_weights], dtype=torch.float32)
    else:
        counts = torch.tensor(class_counts(y_train, k), dtype=torch.float64).clamp_min(1)
        w = (counts.sum() / (k * counts)).float()
    return w.to(y_train.device)


def sampler_cdf(spec, y_train: torch.Tensor, k: int):
    if getattr(spec, "sampler", "shuffle") != "balanced" or y_train.numel() == 0:
        return None
    # float64 keeps the cdf exact enough for millions of samples; MPS has no float64
    dtype = torch.float32 if y_train.device.type == "mps" else torch.float64
    counts = torch.bincount(y_train.reshape(-1).long(), minlength=k).to(dtype).clamp_min(1)
    cdf = (1.0 / counts)[y_train.long()].cumsum(0)
    return cdf / cdf[-1]


def balanced_draw(cdf: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    u = torch.rand(n, generator=generator, dtype=torch.float64).to(cdf.device, cdf.dtype)
    return torch.searchsorted(cdf, u, right=True).clamp_max_(cdf.shape[0] - 1)


def apply_flags(spec, class_weights: str | None = None, sampler: str | None = None) -> None:
    if class_weights is not None:
        text = class_weights.strip()
        if text.lower() in ("none", "balanced"):
            spec.class_weights, spec.custom_class_weights = text.lower(), []
        else:
            try:
                weights = [float(v) for v in text.split(",")]
            except ValueError:
                raise ValueError(f"--class-weights {text}: give none, balanced, or one weight per class "
                                 "separated by commas (e.g. 1,19)") from None
            bad = next((v for v in weights if not (math.isfinite(v) and v > 0)), None)
            if bad is not None:
                raise ValueError(f"--class-weights {text}: every weight must be a finite number above 0 (got {bad:g})")
            if len(weights) > MAX_CLASS_WEIGHTS:
                raise ValueError(f"--class-weights: {len(weights):,} weights (at most {MAX_CLASS_WEIGHTS:,})")
            spec.class_weights, spec.custom_class_weights = "custom", weights
    if sampler is not None:
        if sampler not in ("none", "shuffle", "balanced"):
            raise ValueError(f"--sampler {sampler}: choose none (shuffle) or balanced")
        spec.sampler = "shuffle" if sampler == "none" else sampler
