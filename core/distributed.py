"""Data-parallel training: `layerlab train PROJECT --nproc N` runs N worker processes under
torchrun, each holding a replica wrapped in DistributedDataParallel (gloo on CPU, nccl on CUDA).

    launch(project_path, nproc, args) -> exit code
        python -m torch.distributed.run --standalone --nproc_per_node N -m layerlab.core.distributed PROJECT ...

Each worker sets the run up as the trainer does (core.train.setup.build, loss at init measured) and
trains with the trainer's step order on its shard: every epoch all ranks draw the same seeded permutation,
pad it to a multiple of N, and rank r takes positions r, r+N, ... (DistributedSampler's rule on tensors in
memory; equal shards, equal step counts). The per-rank batch is ceil(batch_size / N), so a step still sees
~batch_size samples and LR and schedule keep their meaning. Losses and metrics are all-reduced (loss sums,
confusion matrices, regression sums): early stopping and plateau schedules decide alike on every rank.
Only rank 0 writes the run folder. `fit` is the whole epoch loop; the exported training script copies it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from .train.metrics import accuracy_f1, confusion, evaluate
from .train.optim import MAXIMIZED

# ---------------------------------------------------------------- launching
def worker_args(args: Any) -> list[str]:
    """`layerlab train` options (a Namespace, or a list of strings passed as is) as worker flags."""
    if args is None:
        return []
    if isinstance(args, (list, tuple)):
        return [str(a) for a in args]
    out: list[str] = []
    for name in ("epochs", "device", "seed", "out", "batch_size", "lr"):
        value = getattr(args, name, None)
        if value is not None:
            out += [f"--{name.replace('_', '-')}", str(value)]
    return out + [f"--{flag}" for flag in ("json", "quiet") if getattr(args, flag, False)]


def launch_command(project_path, nproc: int, args: Any = None) -> list[str]:
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise ValueError(f"--nproc must be a whole number ≥ 1 (got {nproc!r})")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
            "-m", "layerlab.core.distributed", str(project_path), *worker_args(args)]


def launch(project_path, nproc: int, args: Any = None, env: dict[str, str] | None = None,
           timeout: float | None = None) -> int:
    """Train `project_path` with `nproc` DDP workers here. Exit code: 0 finished, 1 failed, 2 refused
    before training, 124 past `timeout` (torchrun and its workers, one process group, are killed), 130 Ctrl-C."""
    run_env = dict(os.environ if env is None else env)
    run_env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))  # cores shared out
    proc = subprocess.Popen(launch_command(project_path, nproc, args), env=run_env,
                            start_new_session=timeout is not None)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return 124
    except KeyboardInterrupt:                     # torchrun got the Ctrl-C too and stops its workers
        proc.wait()
        return 130


# ---------------------------------------------------------------- sharding and reductions
def shard_indices(n: int, rank: int, world: int, generator) -> torch.Tensor:
    """This rank's indices for one epoch: a permutation shared by all ranks (same generator
    state), padded by its head to a multiple of `world`, then every world-th position."""
    perm = torch.randperm(n, generator=generator)
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
                     world: int, prefix: str = "val_", batch: int = 2048) -> dict[str, float]:
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
        return {f"{prefix}loss": loss, f"{prefix}accuracy": float(acc), f"{prefix}f1": float(f1)}
    n, sy, syy, ss_res, sad = total[1:].reshape(5, k)
    ss_tot, tiny = (syy - sy ** 2 / n.clamp_min(1)).clamp_min(0), 1e-12 * syy.clamp_min(1)
    r2 = torch.where(ss_tot > tiny, 1 - ss_res / ss_tot.clamp_min(1e-300), (ss_res <= tiny).double())
    return {f"{prefix}loss": loss, f"{prefix}mae": float(sad.sum() / n.sum().clamp_min(1)),
            f"{prefix}r2": float(r2.mean())}


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


# ---------------------------------------------------------------- the worker
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m layerlab.core.distributed",
                                description="One DDP worker of `layerlab train --nproc N` (start it with torchrun).")
    p.add_argument("project")
    for flag, kind in (("epochs", int), ("device", str), ("seed", int), ("batch-size", int), ("lr", float)):
        p.add_argument(f"--{flag}", type=kind, help="override the project's training setting")
    p.add_argument("--out", help="run folder (default: runs/<time>-<name> beside the project)")
    p.add_argument("--dump-weights", help="folder where every rank writes rank<R>.safetensors")
    p.add_argument("--json", action="store_true", help="rank 0 prints the result as JSON")
    p.add_argument("--quiet", action="store_true")
    return p


class Worker:
    """One rank of `layerlab train --nproc N`: LayerLab's project, data, preflight and set-up
    (core.train.setup.build), `fit`, and (rank 0) the run folder."""

    def __init__(self, opts: argparse.Namespace):
        self.opts = opts
        self.rank = int(os.environ.get("RANK", "0"))
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))

    def say(self, text: str, error: bool = False) -> None:
        if self.rank == 0 and (error or not (self.opts.quiet or self.opts.json)):
            print(text, file=sys.stderr if error else sys.stdout, flush=True)

    def refuse(self, message: str, fix: str = "") -> int:
        self.say(f"layerlab train: {message}" + (f": {fix}" if fix else ""), error=True)
        return 2

    def setup(self) -> int:
        from .data import load
        from .project import ProjectError, load_project
        from .train.checks import preflight

        o = self.opts
        try:
            self.project = load_project(o.project)
        except ProjectError as e:
            return self.refuse(str(e))
        spec = self.project.training
        for name in [n for n in ("epochs", "device", "seed", "batch_size", "lr") if getattr(o, n) is not None]:
            setattr(spec, name, getattr(o, name))
        cuda = spec.device == "cuda" or (spec.device == "auto" and torch.cuda.is_available())
        if cuda:                      # "cuda" is then this rank's GPU
            torch.cuda.set_device(self.local_rank)
        spec.device = "cuda" if cuda else "cpu"   # DDP runs on CPU (gloo) or CUDA (nccl); mps has no backend
        self.backend = "nccl" if cuda else "gloo"
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group(self.backend, timeout=timedelta(minutes=10))
        try:
            self.dataset = load(self.project.data, Path(o.project).resolve().parent)
        except ValueError as e:
            return self.refuse(f"the data could not be loaded: {e}")
        errors = [p for p in preflight(self.project, self.dataset) if p.severity == "error"]
        if errors:
            return self.refuse(errors[0].message, errors[0].fix)
        return 0

    def run(self) -> int:
        from .train.events import RunResult
        from .train.init_loss import measure, record
        from .train.runs import RunFolder, _finite, new_run_dir
        from .train.setup import build
        spec, rank, world = self.project.training, self.rank, self.world
        s = build(self.project, self.dataset)          # seed, compile, init, loss, optimizer, schedule
        init = measure(s, self.dataset, spec)          # every rank holds the same fresh weights
        # one process: the trainer's own choice (setup.choose_threads); N: the cores shared out
        threads = s.threads if world == 1 else (int(os.environ.get("LAYERLAB_THREADS", "0"))
                                                or max(1, (os.cpu_count() or 1) // world))
        torch.set_num_threads(threads)
        per_rank = max(1, math.ceil(spec.batch_size / world)) if world > 1 else spec.batch_size
        s.config["distributed"] = {"world_size": world, "backend": self.backend, "per_rank_batch": per_rank,
                                   "global_batch": per_rank * world, "threads_per_rank": threads,
                                   "sharding": "per-epoch shared permutation, padded, rank::world"}
        folder = None
        if rank == 0:
            out = (Path(self.opts.out) if self.opts.out else
                   new_run_dir(Path(self.opts.project).resolve().parent / "runs", self.project.name))
            folder = RunFolder(out).create()
            folder.write_project(self.project)
            folder.write_json("config.json", s.config)
            folder.write_json("preprocessing.json", self.dataset.preprocessor.to_dict())
            folder.open_metrics(["epoch", "train_loss", "val_loss", *s.metric_names, "lr", "seconds"])
            self.say(f"{self.project.name}: {world} DDP worker(s) ({self.backend}), {len(s.data['x_train']):,} "
                     f"training samples, batch {per_rank}×{world}, {record(folder, spec.loss, init)}, run folder {out}")

        def on_epoch(row, best_state):
            if folder is None:
                return
            folder.append_metrics(row)
            if best_state is not None:
                folder.save_state_dict(s.compiled, best_state, "best", {"epoch": str(row["epoch"])})
            shown = "  ".join(f"{m} {row[m]:.4g}" for m in ("train_loss", "val_loss", *s.metric_names))
            self.say(f"epoch {row['epoch']}/{spec.epochs}  {shown}  lr {row['lr']:.3g}  {row['seconds']:.2f}s")

        out = fit(s.compiled.module, s, spec, self.dataset.task, int(self.dataset.num_classes or 0), rank, world,
                  on_epoch)
        if self.opts.dump_weights:
            from .weights import save_weights
            Path(self.opts.dump_weights).mkdir(parents=True, exist_ok=True)
            save_weights(s.compiled.module, s.compiled.node_of_module,
                         Path(self.opts.dump_weights) / f"rank{rank}.safetensors")
        if folder is not None:
            result = RunResult(run_dir=str(folder.path), **{k: init[k] for k in RunResult.INIT_KEYS},
                               **{k: v for k, v in out.items() if k not in ("history", "best_state")})
            if out["status"] == "finished":
                folder.save_weights(s.compiled, "last", {"epoch": str(out["epochs_run"])})
                if out["best_state"] is None:
                    folder.save_weights(s.compiled, "best", {"epoch": str(out["epochs_run"])})
            folder.write_json("result.json", result.to_dict())
            folder.close()
            if self.opts.json:
                print(json.dumps(_finite({"event": result.status, **result.to_dict()})), flush=True)
            elif out["status"] == "finished":
                test = "  ".join(f"{k} {v:.4g}" for k, v in out["test_metrics"].items())
                best = "" if out["best_value"] is None else f" ({s.monitor} {out['best_value']:.4g})"
                self.say(f"finished: best epoch {out['best_epoch']}{best}, {out['samples_per_s']:,.0f} samples/s "
                         f"over {world} worker(s); test: {test}")
            else:
                self.say(f"layerlab train: {out['message']}: {out['fix']}", error=True)
        if world > 1:
            dist.barrier()
        return 0 if out["status"] == "finished" else 1


def main(argv: Sequence[str] | None = None) -> int:
    worker = Worker(_parser().parse_args(argv))
    try:
        code = worker.setup() or worker.run()
    except KeyboardInterrupt:
        code = 130
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return code


if __name__ == "__main__":
    sys.exit(main())
