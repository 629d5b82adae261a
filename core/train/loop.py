"""The hot loop: one epoch of optimizer steps, as lean as a hand-written loop.

Tensors already sit on the device; each epoch gathers the training set once by a seeded
permutation (or, with the balanced sampler, a seeded draw with replacement: imbalance.py) and
slices contiguous batches (no DataLoader); with training.augment on, each batch passes through the
augmenter (augment.py) on the device. The loss is accumulated on the device
and read (one host sync) only when a throttled Step event is due, which is also when a
non-finite loss is noticed. Gradient norms and update ratios are taken once per epoch, from the
last step. Control is an attribute read per step.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from .events import Paused, Resumed, Step
from .fused_step import FusedStep
from .imbalance import balanced_draw

STEP_INTERVAL = 0.05       # seconds between Step events (≤ 20 per second)


@dataclass
class EpochOutcome:
    loss_sum: float = 0.0          # Σ batch loss × batch size
    samples: int = 0
    batches: int = 0
    stopped: bool = False
    nonfinite: bool = False
    bad_batch: Any = None          # (x, y) of the batch where the loss went non-finite
    paused_s: float = 0.0
    before: list | None = None     # weights before the epoch's last step (for update ratios)
    last_lr: float = 0.0           # the LR the epoch's last step used


@dataclass
class LoopState:
    """What the loop needs, resolved once per run."""
    model: nn.Module
    loss_fn: Callable
    optimizer: torch.optim.Optimizer
    x: torch.Tensor
    y: torch.Tensor
    batch_size: int
    generator: torch.Generator
    device: torch.device
    emit: Callable
    control: Any
    scheduler: Any = None           # stepped per batch when given
    regularizer: Any = None
    autocast: Callable | None = None
    scaler: Any = None
    ratio_weights: list = field(default_factory=list)   # flat list of weights for update ratios
    global_step: int = 0
    next_report: float = 0.0        # perf_counter time when the next Step event is due
    memory_format: Any = torch.contiguous_format   # channels_last for conv nets (kept by the gather)
    lr_of: Callable[[], float] = lambda: 0.0
    sample_cdf: Any = None          # balanced sampler: draw the epoch's samples through this cdf
    augment: Any = None             # augment.Augmenter: training.augment per batch (None = off)
    step: Any = None                # fused_step.FusedStep(optimizer), made by the first epoch


def train_epoch(s: LoopState, epoch: int) -> EpochOutcome:
    model, loss_fn, opt, control, emit = s.model, s.loss_fn, s.optimizer, s.control, s.emit
    n, bs = s.x.shape[0], s.batch_size
    out = EpochOutcome()
    perm = torch.randperm(n, generator=s.generator) if s.sample_cdf is None else balanced_draw(s.sample_cdf, n, s.generator)
    if s.device.type != "cpu":
        perm = perm.to(s.device, non_blocking=True)
    xs, ys = s.x.index_select(0, perm), s.y.index_select(0, perm)
    if xs.dim() == 4:
        xs = xs.contiguous(memory_format=s.memory_format)
    xbs, ybs = xs.split(bs), ys.split(bs)
    aug = s.augment
    if aug is not None:             # one draw from the run's generator seeds the epoch's augmentation
        aug.reseed(s.generator)
    batches, last = len(xbs), len(xbs) - 1
    acc = torch.zeros((), dtype=torch.float32, device=s.device)
    reg = s.regularizer
    after_backward = reg.after_backward if reg is not None and reg.after_backward_needed else None
    before_step = reg.before_step if reg is not None and reg.decay else None
    after_step = reg.after_step if reg is not None and reg.max_norm else None
    sched_step = s.scheduler.step if s.scheduler is not None else None
    autocast, scaler = s.autocast, s.scaler
    ratio_weights = s.ratio_weights
    if s.step is None:
        s.step = FusedStep(opt)
    step = s.step
    # zero_grad(set_to_none=True) is `p.grad = None` for each parameter behind a profiler range and
    # torch._disable_dynamo: 80 µs of a 1.1 ms digits-MLP step; the loop does the assignment itself
    params = [p for g in opt.param_groups for p in g["params"]]
    model.train()
    t_start = time.perf_counter()
    reported_loss, reported_samples, samples = 0.0, 0, 0
    i = -1
    for i, (xb, yb) in enumerate(zip(xbs, ybs)):
        lf = loss_fn
        if aug is not None:         # the augmented batch and its loss (mixed with MixUp / CutMix)
            xb, lf = aug(xb, yb, loss_fn)
        if autocast is None:
            loss = lf(model(xb), yb)
        else:
            with autocast():
                loss = lf(model(xb).float(), yb)
        for p in params:
            p.grad = None
        if scaler is None:
            loss.backward()
        else:
            scaler.scale(loss).backward()
        if after_backward is not None:
            after_backward()
        if i == last:
            out.last_lr = opt.param_groups[0]["lr"]
            if ratio_weights:
                out.before = [w.detach().clone() for w in ratio_weights]
        if before_step is not None:
            before_step()
        if scaler is None:
            step()
        else:
            scaler.step(opt)
            scaler.update()
        if after_step is not None:
            after_step()
        if sched_step is not None:
            sched_step()
        nb = xb.shape[0]
        acc.add_(loss.detach(), alpha=nb)
        samples += nb
        now = time.perf_counter()
        if now >= s.next_report:
            total = acc.item()                      # the only host sync in the loop
            if not math.isfinite(total):
                out.nonfinite, out.bad_batch = True, (xb, yb)
                break
            k = samples - reported_samples
            if k:
                emit(Step(step=s.global_step + i + 1, epoch=epoch, batch=i + 1, batches=batches,
                          loss=(total - reported_loss) / k, lr=s.lr_of(),
                          samples_per_s=k / max(now - t_start, 1e-9)))
            t_start, reported_loss, reported_samples = now, total, samples
            s.next_report = now + STEP_INTERVAL
        if control.pending:
            if control.paused and not control.stopped:
                waited = _pause(s, epoch)
                out.paused_s += waited
                t_start += waited
            if control.stopped:
                out.stopped = True
                break
    out.batches = i + 1
    out.samples = samples
    s.global_step += out.batches
    out.loss_sum = acc.item()
    if not math.isfinite(out.loss_sum) and not out.nonfinite:
        out.nonfinite, out.bad_batch = True, (xb, yb)
    return out


def _pause(s: LoopState, epoch: int) -> float:
    t0 = time.perf_counter()
    s.emit(Paused(epoch=epoch, step=s.global_step))
    s.control.wait()
    s.emit(Resumed(epoch=epoch, step=s.global_step))
    return time.perf_counter() - t0


# ---------------------------------------------------------------- per-layer figures
def layer_weights(compiled) -> list[tuple[str, list[torch.Tensor]]]:
    """(node name, weights) in execution order: a layer's `weight`, or for composite layers every
    matrix-shaped parameter (the same rule and the same rows as probes: a block instance's layers
    one by one, "res1.conv_a"); frozen weights are left out."""
    from .probes import probed_layers, weight_tensors

    out = []
    for name, m, _, _ in probed_layers(compiled):
        ws = [w for w in weight_tensors(m) if w.requires_grad]
        if ws:
            out.append((name, ws))
    return out


def _combine(layers, norms: list[float]) -> list[float]:
    """Per-layer L2 norms from the norms of each layer's tensors (flat list, layer order)."""
    out, k = [], 0
    for _, ws in layers:
        out.append(math.sqrt(sum(v * v for v in norms[k:k + len(ws)])))
        k += len(ws)
    return out


@torch.no_grad()
def grad_norms(layers: list[tuple[str, list[torch.Tensor]]]) -> dict[str, float]:
    """Per-layer gradient norm of the weights (one foreach op, one host transfer)."""
    have = [(name, [w.grad for w in ws if w.grad is not None]) for name, ws in layers]
    have = [(name, gs) for name, gs in have if gs]
    if not have:
        return {}
    norms = torch.stack(torch._foreach_norm([g for _, gs in have for g in gs])).tolist()
    return dict(zip((name for name, _ in have), _combine(have, norms)))


@torch.no_grad()
def update_ratios(layers: list[tuple[str, list[torch.Tensor]]], before: list[torch.Tensor] | None) -> dict[str, float]:
    """Per-layer ‖W_after − W_before‖ / ‖W_before‖ of the epoch's last optimizer step."""
    if not before:
        return {}
    now = [w for _, ws in layers for w in ws]
    diff = torch._foreach_sub(now, before)
    values = torch.stack(torch._foreach_norm(diff) + torch._foreach_norm(before)).tolist()
    num, den = _combine(layers, values[:len(now)]), _combine(layers, values[len(now):])
    return {name: a / b for (name, _), a, b in zip(layers, num, den) if b > 0 and math.isfinite(a / b)}
