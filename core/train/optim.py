"""Optimizers (torch.optim) and LR schedules (torch.optim.lr_scheduler).

Parameters are split into two groups: weights (tensors of rank ≥ 2: Dense / Conv / Embedding /
attention / recurrent matrices) and the rest (biases, norm scales and shifts). Only weights get
weight decay and the L1 / L2 / max-norm penalties (regularize.py).

Weight decay is decoupled everywhere (w ← w − lr·wd·w, independent of the gradient): AdamW's own,
Adam with `decoupled_weight_decay=True` (identical to AdamW), and applied by the trainer before each
step for SGD / momentum / Nesterov / RMSProp (see regularize.Regularizer), since their built-in
`weight_decay` is an L2 gradient term instead.

Schedules, and when they step:
  constant · step (StepLR, per epoch) · exponential (ExponentialLR, per epoch)
  cosine (CosineAnnealingLR over all steps, per step) · warmup_cosine (LinearLR for warmup_epochs,
  then CosineAnnealingLR, via SequentialLR, per step) · cosine_restarts (CosineAnnealingWarmRestarts,
  T_0 = restart_epochs, per step) · one_cycle (OneCycleLR, per step; also cycles momentum / β1 for
  optimizers that have it) · plateau (ReduceLROnPlateau on the monitored metric, per epoch; factor
  gamma, patience plateau_patience).
"""
from __future__ import annotations

import warnings

import torch
from torch.optim import lr_scheduler as lrs

PER_STEP = {"cosine", "warmup_cosine", "cosine_restarts", "one_cycle"}
MAXIMIZED = {"val_accuracy", "val_f1", "val_r2"}
WARMUP_START = 0.01   # warmup starts at lr × this


def split_params(module: torch.nn.Module) -> tuple[list, list]:
    """(weights, others): trainable tensors of rank ≥ 2, and the rest."""
    weights, others = [], []
    for p in module.parameters():
        if p.requires_grad:
            (weights if p.dim() >= 2 else others).append(p)
    return weights, others


def build_optimizer(spec, module: torch.nn.Module, fused: bool | None = None) -> torch.optim.Optimizer:
    weights, others = split_params(module)
    name, lr, wd = spec.optimizer, spec.lr, spec.weight_decay
    native_wd = wd if name in ("adam", "adamw") else 0.0
    groups = [g for g in ({"params": weights, "weight_decay": native_wd},
                          {"params": others, "weight_decay": 0.0}) if g["params"]]
    kw = {}
    if fused is not None and name in ("adam", "adamw", "sgd", "momentum", "nesterov"):
        kw["fused"] = fused
    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if name == "sgd" else spec.momentum
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=name == "nesterov" and momentum > 0, **kw)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=0.99)
    betas = (spec.beta1, spec.beta2)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=betas, decoupled_weight_decay=True, **kw)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=betas, **kw)
    raise ValueError(f"unknown optimizer {name!r}")


def needs_manual_decay(spec) -> bool:
    return spec.weight_decay > 0 and spec.optimizer not in ("adam", "adamw")


def build_scheduler(spec, optimizer, steps_per_epoch: int):
    """(scheduler or None, per_step). Plateau's scheduler takes the monitored value in step()."""
    name = spec.schedule
    steps_per_epoch = max(1, steps_per_epoch)
    total = max(1, spec.epochs * steps_per_epoch)
    if name == "constant":
        return None, False
    if name == "step":
        return lrs.StepLR(optimizer, step_size=spec.step_size, gamma=spec.gamma), False
    if name == "exponential":
        return lrs.ExponentialLR(optimizer, gamma=spec.gamma), False
    if name == "cosine":
        return lrs.CosineAnnealingLR(optimizer, T_max=total, eta_min=spec.min_lr), True
    if name == "warmup_cosine":
        warm = min(spec.warmup_epochs * steps_per_epoch, total - 1)
        if warm <= 0:
            return lrs.CosineAnnealingLR(optimizer, T_max=total, eta_min=spec.min_lr), True
        return lrs.SequentialLR(optimizer, [
            lrs.LinearLR(optimizer, start_factor=WARMUP_START, end_factor=1.0, total_iters=warm),
            lrs.CosineAnnealingLR(optimizer, T_max=total - warm, eta_min=spec.min_lr)], milestones=[warm]), True
    if name == "cosine_restarts":
        return lrs.CosineAnnealingWarmRestarts(optimizer, T_0=spec.restart_epochs * steps_per_epoch,
                                               T_mult=spec.restart_mult, eta_min=spec.min_lr), True
    if name == "one_cycle":
        cycle = spec.optimizer in ("momentum", "nesterov", "adam", "adamw")
        return lrs.OneCycleLR(optimizer, max_lr=spec.lr, total_steps=total, cycle_momentum=cycle), True
    if name == "plateau":
        mode = "max" if spec.monitor in MAXIMIZED else "min"
        return lrs.ReduceLROnPlateau(optimizer, mode=mode, factor=spec.gamma, patience=spec.plateau_patience,
                                     min_lr=spec.min_lr), False
    raise ValueError(f"unknown schedule {name!r}")


def fast_forward(scheduler, steps: int) -> None:
    """Advance a freshly built scheduler by `steps` calls (resuming a run)."""
    if scheduler is None or isinstance(scheduler, lrs.ReduceLROnPlateau):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "lr_scheduler.step() before optimizer.step()"
        for _ in range(steps):
            scheduler.step()


def lr_curve(spec, steps_per_epoch: int, per: str = "step") -> list[float]:
    """The LR the schedule gives, without training: one value per optimizer step
    (len = epochs × steps_per_epoch, the LR each step uses) or, with per="epoch", the LR at the
    start of each epoch. Plateau depends on the metrics, so its preview is flat (the initial LR)."""
    steps_per_epoch = max(1, steps_per_epoch)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=spec.lr, momentum=0.9)
    sched, per_step = build_scheduler(spec, opt, steps_per_epoch)
    out: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _epoch in range(spec.epochs):
            for s in range(steps_per_epoch):
                if per == "step" or s == 0:
                    out.append(float(opt.param_groups[0]["lr"]))
                if sched is not None and per_step:
                    sched.step()
            if sched is not None and not per_step and not isinstance(sched, lrs.ReduceLROnPlateau):
                sched.step()
    return out
