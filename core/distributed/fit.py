"""The epoch loop for one process or one DDP rank (being merged into core.train's loop)."""
from __future__ import annotations

import math
import time

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from ..train.metrics import evaluate
from ..train.optim import MAXIMIZED
from .shard import all_reduce_sum, evaluate_sharded, shard_indices


def train_shard_epoch(model, loss_fn, optimizer, x, y, batch_size: int, generator, scheduler=None,
                      reg=None, autocast=None, scaler=None) -> tuple[float, int, float]:
    """One epoch in core.train.loop.train_epoch's step order, but never leaving early (DDP ranks
    must take equal step counts; a non-finite loss is noticed after the epoch, on all ranks at
    once). Returns (sum of batch loss × batch size, samples, the LR the last step used)."""
    n = x.shape[0]
    perm = torch.randperm(n, generator=generator).to(x.device, non_blocking=True)
    xs, ys = x.index_select(0, perm), y.index_select(0, perm)
    acc = torch.zeros((), dtype=torch.float64, device=x.device)
    model.train()
    last_lr = float(optimizer.param_groups[0]["lr"])
    for xb, yb in zip(xs.split(batch_size), ys.split(batch_size)):
        if autocast is None:
            loss = loss_fn(model(xb), yb)
        else:
            with autocast():
                loss = loss_fn(model(xb).float(), yb)
        optimizer.zero_grad(set_to_none=True)
        (loss if scaler is None else scaler.scale(loss)).backward()
        if reg is not None and reg.after_backward_needed:
            reg.after_backward()
        last_lr = float(optimizer.param_groups[0]["lr"])
        if reg is not None and reg.decay:
            reg.before_step()
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()
        if reg is not None and reg.max_norm:
            reg.after_step()
        if scheduler is not None:
            scheduler.step()
        acc += loss.detach().double() * xb.shape[0]
    return float(acc), int(n), last_lr


def fit(module, s, spec, task: str, num_classes: int, rank: int = 0, world: int = 1, on_epoch=None) -> dict:
    """The epoch loop, for one process (world 1: the trainer's batches exactly) or one DDP rank.

    `s` holds what core.train.setup.build resolves (device, data, loss_fn, optimizer, scheduler,
    per_step, regularizer, autocast, scaler, predict, transform, monitor, metric_names); `spec` is
    the training spec. `on_epoch(row, best_state_or_None)` runs after each epoch (write, print).
    Returns the run's outcome as a dict with RunResult's fields plus `history` and `best_state`."""
    device = s.device
    t0 = time.perf_counter()
    shuffle = torch.Generator().manual_seed(spec.seed)      # the permutation every rank shares
    if world > 1:
        gpu = [torch.cuda.current_device() if device.index is None else device.index] if device.type == "cuda" else None
        net = DDP(module, device_ids=gpu)
        torch.manual_seed(spec.seed + 1 + rank)               # dropout masks differ across ranks
        local = torch.Generator().manual_seed(spec.seed + 7919 * (rank + 1))
        batch = max(1, math.ceil(spec.batch_size / world))    # one step still sees ~batch_size samples
    else:
        net, local, batch = module, shuffle, spec.batch_size
    x_all, y_all, n_train = s.data["x_train"], s.data["y_train"], int(s.data["x_train"].shape[0])

    def run_eval(split: str) -> dict[str, float]:
        args = (module, s.loss_fn, s.data[f"x_{split}"], s.data[f"y_{split}"], task, num_classes, s.predict,
                s.transform)
        if world > 1:
            return evaluate_sharded(*args, rank, world, prefix=f"{split}_")
        return evaluate(*args, autocast=s.autocast, prefix=f"{split}_")

    maximize, best_value, best_epoch, best_state, bad = s.monitor in MAXIMIZED, None, 0, None, 0
    history, train_time, samples, epoch, stopped_early = [], 0.0, 0, 0, False
    out = {"status": "finished", "total_epochs": spec.epochs, "monitor": s.monitor, "message": "", "fix": ""}
    for epoch in range(1, spec.epochs + 1):
        t_epoch = time.perf_counter()
        xs, ys = x_all, y_all
        if world > 1:
            idx = shard_indices(n_train, rank, world, shuffle).to(device)
            xs, ys = x_all.index_select(0, idx), y_all.index_select(0, idx)
        part_loss, part_n, lr = train_shard_epoch(net, s.loss_fn, s.optimizer, xs, ys, batch, local,
                                              s.scheduler if s.per_step else None, s.regularizer, s.autocast,
                                              s.scaler)
        ok = math.isfinite(part_loss)
        loss_sum, n_seen, broken = all_reduce_sum([part_loss if ok else 0.0, part_n, 0.0 if ok else 1.0], device)
        if broken:
            out.update(status="failed", message=f"the loss became NaN or Inf in epoch {epoch}",
                       fix="lower the learning rate, clip gradients (clip norm 1) or use init auto")
            epoch -= 1
            break
        train_loss = loss_sum / max(n_seen, 1)
        val = run_eval("val")
        value = train_loss if s.monitor == "train_loss" else val.get(s.monitor, math.nan)
        if s.scheduler is not None and not s.per_step:
            if type(s.scheduler).__name__ != "ReduceLROnPlateau":
                s.scheduler.step()
            elif math.isfinite(value):
                s.scheduler.step(value)
        better = math.isfinite(value) and (best_value is None or (
            value > best_value + spec.min_delta if maximize else value < best_value - spec.min_delta))
        bad = 0 if better else bad + 1
        if better:
            best_value, best_epoch = value, epoch
            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        seconds = time.perf_counter() - t_epoch
        train_time += seconds
        samples += int(n_seen)
        row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val.get("val_loss", math.nan),
               **{m: val.get(m, math.nan) for m in s.metric_names}, "lr": lr, "seconds": round(seconds, 4)}
        history.append(row)
        if on_epoch is not None:
            on_epoch(row, best_state if better else None)
        if spec.early_stopping and bad >= spec.patience:
            stopped_early = True
            break
    restored = None
    if spec.early_stopping and spec.restore_best and best_state is not None and best_epoch != epoch:
        module.load_state_dict(best_state)
        restored = best_epoch
    last = history[-1] if history else {}
    out.update(epochs_run=epoch, best_epoch=best_epoch, best_value=best_value, restored_epoch=restored,
               stopped_early=stopped_early, val_metrics={k: v for k, v in last.items() if k.startswith("val_")},
               test_metrics=run_eval("test") if out["status"] == "finished" else {},
               seconds=time.perf_counter() - t0, samples_per_s=samples / train_time if train_time else 0.0,
               history=history, best_state=best_state)
    return out



