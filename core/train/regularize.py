"""Penalties, constraints and gradient clipping, applied around each optimizer step.

Per step, in order: backward → L1 / L2 gradients → clipping → decoupled weight decay (optimizers
without their own) → optimizer.step() → max-norm.

- l2: the penalty l2·Σw² over weights (rank ≥ 2 tensors; never biases or norm parameters). It
  enters as its exact gradient 2·l2·w added after backward (one fused foreach op, cheaper than
  autograd through a sum of squares); the reported losses are the data loss without it.
- l1: the penalty l1·Σ|w|, likewise as the (sub)gradient l1·sign(w).
- weight_decay: decoupled, w ← w·(1 − lr·wd), before the step (what AdamW does internally).
- max_norm: after the step, each output unit's incoming weights (rows of Dense, filters of Conv)
  are rescaled to L2 norm ≤ max_norm (torch.renorm).
- clip "norm": torch.nn.utils.clip_grad_norm_ over all parameters (total norm ≤ clip_value);
  "value": clip_grad_value_ (each gradient entry in ±clip_value).
"""
from __future__ import annotations

import torch
from torch import nn

from .optim import needs_manual_decay, split_params


def penalty(module: nn.Module, l1: float, l2: float) -> torch.Tensor:
    """l1·Σ|w| + l2·Σw² over the weights (what the gradient terms correspond to)."""
    weights, _ = split_params(module)
    total = torch.zeros(())
    for w in weights:
        if l1:
            total = total + l1 * w.abs().sum()
        if l2:
            total = total + l2 * (w * w).sum()
    return total


class Regularizer:
    def __init__(self, spec, module: nn.Module, optimizer: torch.optim.Optimizer, scaler=None):
        self.spec = spec
        self.optimizer = optimizer
        self.scaler = scaler
        self.weights, others = split_params(module)
        self.params = self.weights + others
        self.l1, self.l2 = spec.l1, spec.l2
        self.clip = spec.clip
        self.clip_value = spec.clip_value
        self.decay = spec.weight_decay if needs_manual_decay(spec) else 0.0
        self.max_norm = spec.max_norm
        self.max_norm_weights = [m.weight for m in module.modules()
                                 if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)) and m.weight.requires_grad]
        self.last_total_norm: torch.Tensor | None = None

    @property
    def after_backward_needed(self) -> bool:
        return bool(self.l1 or self.l2 or self.clip != "none")

    @property
    def active(self) -> bool:
        return self.after_backward_needed or bool(self.decay or self.max_norm)

    @torch.no_grad()
    def after_backward(self) -> None:
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.l1 or self.l2:
            pairs = [(w, w.grad) for w in self.weights if w.grad is not None]
            if pairs:
                ws, gs = [p[0] for p in pairs], [p[1] for p in pairs]
                if self.l2:
                    torch._foreach_add_(gs, ws, alpha=2.0 * self.l2)
                if self.l1:
                    torch._foreach_add_(gs, torch._foreach_sign(ws), alpha=self.l1)
        if self.clip == "norm":
            self.last_total_norm = nn.utils.clip_grad_norm_(self.params, self.clip_value, foreach=True)
        elif self.clip == "value":
            nn.utils.clip_grad_value_(self.params, self.clip_value, foreach=True)

    @torch.no_grad()
    def before_step(self) -> None:
        if self.decay and self.weights:
            lr = self.optimizer.param_groups[0]["lr"]
            torch._foreach_mul_(self.weights, 1.0 - lr * self.decay)

    @torch.no_grad()
    def after_step(self) -> None:
        if self.max_norm:
            for w in self.max_norm_weights:
                w.renorm_(2, 0, self.max_norm)
