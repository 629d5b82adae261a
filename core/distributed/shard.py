"""Sharding and reductions for data-parallel training: which samples each rank trains on, and
metrics that equal one process's though every rank evaluates only its share.

Every epoch all ranks draw the same seeded permutation, pad it to a multiple of N, and rank r
takes positions r, r+N, ... (DistributedSampler's rule on tensors in memory; equal shards, equal
step counts). Losses and metrics are all-reduced (loss sums, confusion matrices, regression sums),
so early stopping and plateau schedules decide alike on every rank.
"""
from __future__ import annotations

import math

import torch
import torch.distributed as dist

from ..train.imbalance import balanced_draw
from ..train.metrics import accuracy_f1, class_summary, confusion


def shard_indices(n: int, rank: int, world: int, generator, cdf=None) -> torch.Tensor:
    """This rank's indices for one epoch: a permutation shared by all ranks (same generator
    state), padded by its head to a multiple of `world`, then every world-th position. With the
    balanced sampler's `cdf`, the shared order is one balanced draw (imbalance.py) instead."""
    perm = torch.randperm(n, generator=generator) if cdf is None else balanced_draw(cdf, n, generator)
    total = math.ceil(n / world) * world
    if total > n:
        reps = math.ceil((total - n) / n)
        perm = torch.cat([perm, perm.repeat(reps)[: total - n]])
    return perm[rank:total:world]


def all_reduce_sum(values, device) -> list[float]:
    """Element-wise sum over ranks (the values themselves when not distributed)."""
    t = torch.as_tensor(values, dtype=torch.float64, device=device).clone()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def evaluate_sharded(model, loss_fn, x, y, task: str, num_classes: int, predict, transform, rank: int,
                     world: int, prefix: str = "val_", batch: int = 2048, confusions=None) -> dict[str, float]:
    """core.train.metrics.evaluate over this rank's 1/world of the split, with the sums that
    define the metrics all-reduced: the same numbers on every rank, equal to one process's."""
    n_all = int(x.shape[0])
    if n_all == 0:
        return {}
    xs, ys = x[rank::world], y[rank::world]
    device = x.device
    was_training = model.training
    model.eval()
    c = max(num_classes, 1)
    loss_sum = torch.zeros(1, dtype=torch.float64, device=device)
    cm = torch.zeros((c, c), dtype=torch.float64, device=device)
    k = int(math.prod(y.shape[1:])) if task != "classification" and y.dim() > 1 else 1
    reg = torch.zeros((5, k), dtype=torch.float64, device=device)   # n, Σy, Σy², Σ(y-p)², Σ|y-p|
    with torch.no_grad():
        for lo in range(0, int(xs.shape[0]), batch):
            xb, yb = xs[lo:lo + batch], ys[lo:lo + batch]
            out = model(xb).float()
            loss_sum += loss_fn(out, yb).double() * xb.shape[0]
            if task == "classification":
                cm += confusion(predict(out), yb, num_classes).double()
            else:
                p = (transform(out) if transform else out).reshape(xb.shape[0], -1).double()
                t = yb.reshape(xb.shape[0], -1).double()
                reg += torch.stack([torch.ones_like(t), t, t * t, (t - p) ** 2, (t - p).abs()]).sum(1)
    model.train(was_training)
    flat = torch.cat([loss_sum, cm.reshape(-1) if task == "classification" else reg.reshape(-1)])
    total = torch.tensor(all_reduce_sum(flat, device), dtype=torch.float64)
    loss = float(total[0]) / n_all
    if task == "classification":
        acc, f1 = accuracy_f1(total[1:].reshape(c, c))
        if confusions is not None:
            confusions[prefix.rstrip("_")] = total[1:].reshape(c, c).numpy()
        return {f"{prefix}loss": loss, f"{prefix}accuracy": float(acc), f"{prefix}f1": float(f1),
                **class_summary(total[1:].reshape(c, c).numpy(), prefix)}
    n, sy, syy, ss_res, sad = total[1:].reshape(5, k)
    ss_tot, tiny = (syy - sy ** 2 / n.clamp_min(1)).clamp_min(0), 1e-12 * syy.clamp_min(1)
    r2 = torch.where(ss_tot > tiny, 1 - ss_res / ss_tot.clamp_min(1e-300), (ss_res <= tiny).double())
    return {f"{prefix}loss": loss, f"{prefix}mae": float(sad.sum() / n.sum().clamp_min(1)),
            f"{prefix}r2": float(r2.mean())}



