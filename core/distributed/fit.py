"""One process or one DDP rank as plugged into core.train.epochs (the epoch loop the trainer also
uses): this rank's shard of each epoch, the epoch's loss all-reduced, evaluation sharded and
all-reduced, `on_epoch` for what rank 0 writes, and (with `checkpoint`) the state a `--resume`
needs, every CHECKPOINT_INTERVAL seconds as rank 0's clock says and at the end. The exported train
script copies this code."""
from __future__ import annotations

import math
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from ..train.epochs import Best, EpochHooks, run_epochs
from ..train.events import Control
from ..train.loop import LoopState, train_epoch
from ..train.metrics import evaluate
from .shard import all_reduce_sum, evaluate_sharded, shard_indices
from .sync_bn import sync_batchnorm

CHECKPOINT_INTERVAL = 2.0     # seconds between checkpoints, as the trainer's


class RankHooks(EpochHooks):
    """The epoch loop's hooks for one rank of `world` (world 1: exactly the trainer's batches)."""

    def __init__(self, module, s, task: str, num_classes: int, rank: int, world: int, shuffle, on_epoch,
                 epochs: int = 0, checkpoint=None):
        self.module, self.s, self.task, self.num_classes = module, s, task, num_classes
        self.rank, self.world, self.shuffle, self.on_epoch = rank, world, shuffle, on_epoch
        self.epochs, self.checkpoint = epochs, checkpoint
        self.best: Best | None = None
        self.loop: LoopState | None = None
        self.history: list[dict] = []
        self.train_time, self.samples = 0.0, 0
        self.last_checkpoint, self.due = time.perf_counter(), False
        self.confusions: dict = {}     # split -> latest confusion matrix (the result's class_report)

    def train(self, loop: LoopState, epoch: int):
        self.loop = loop
        if self.world > 1:            # every rank draws the same permutation and takes its share
            x, y = self.s.data["x_train"], self.s.data["y_train"]
            idx = shard_indices(int(x.shape[0]), self.rank, self.world, self.shuffle,
                                getattr(self.s, "sample_cdf", None)).to(x.device)
            loop.x, loop.y = x.index_select(0, idx), y.index_select(0, idx)
        return train_epoch(loop, epoch)

    def reduce(self, out):
        """Ranks must take equal step counts, so the loop never leaves an epoch early; a non-finite
        loss on any rank is noticed here, by all ranks at once."""
        ok = math.isfinite(out.loss_sum)
        due = (self.rank == 0 and self.checkpoint is not None
               and time.perf_counter() - self.last_checkpoint >= CHECKPOINT_INTERVAL)   # rank 0's clock decides
        loss_sum, samples, broken, due = all_reduce_sum(
            [out.loss_sum if ok else 0.0, out.samples, 0.0 if ok else 1.0, float(due)], self.s.device)
        self.due = bool(due)
        return loss_sum, samples, bool(broken)

    def evaluate(self, split: str) -> dict:
        s = self.s
        args = (self.module, s.loss_fn, s.data[f"x_{split}"], s.data[f"y_{split}"], self.task, self.num_classes,
                s.predict, s.transform)
        if self.world > 1:
            return evaluate_sharded(*args, self.rank, self.world, prefix=f"{split}_", confusions=self.confusions)
        return evaluate(*args, batch=s.eval_batch, autocast=s.autocast, prefix=f"{split}_", confusions=self.confusions)

    def epoch_end(self, row, out, improved, samples, seconds):
        self.train_time += seconds
        self.samples += samples
        self.history.append(row)
        if self.on_epoch is not None:
            self.on_epoch(row, self.best.state if improved else None)
        if self.checkpoint is not None and (self.due or row["epoch"] >= self.epochs or self.best.exhausted):
            rng = self.rng_states()                       # collective: every rank takes part
            self.checkpoint(row["epoch"], self.counters(row["epoch"]), rng)
            self.last_checkpoint = time.perf_counter()

    def counters(self, epoch: int) -> dict:
        b = self.best
        return {"epoch": epoch, "global_step": self.loop.global_step, "best_value": b.value, "best_epoch": b.epoch,
                "bad_epochs": b.bad, "world_size": self.world}

    def rng_states(self) -> dict[str, torch.Tensor]:
        """One process: the trainer's two generators (torch's, the batch order's). N ranks: the shared
        epoch permutation's, and each rank's torch (dropout) and within-shard order generators."""
        if self.world == 1:
            return {"torch": torch.get_rng_state(), "shuffle": self.loop.generator.get_state()}
        n = torch.get_rng_state().numel()
        mine = torch.cat([torch.get_rng_state(), self.loop.generator.get_state()])
        on = self.s.device if dist.get_backend() == "nccl" else torch.device("cpu")
        every = [torch.empty_like(mine, device=on) for _ in range(self.world)]
        dist.all_gather(every, mine.to(on))
        out = {"shuffle": self.shuffle.get_state()}
        for r, both in enumerate(every):
            out[f"torch.{r}"], out[f"local.{r}"] = both[:n].cpu(), both[n:].cpu()
        return out


def rank_loop(net, s, spec, rank: int, world: int, emit=None) -> LoopState:
    """The loop state of one rank: its own batch share and, across ranks, different dropout masks
    and within-shard order; one process gets the trainer's exactly (N ranks: the balanced sampler
    draws in RankHooks.train, each rank then shuffles its share)."""
    batch, local = spec.batch_size, torch.Generator().manual_seed(spec.seed)
    if world > 1:
        torch.manual_seed(spec.seed + 1 + rank)
        local = torch.Generator().manual_seed(spec.seed + 7919 * (rank + 1))
        batch = max(1, math.ceil(spec.batch_size / world))    # one step still sees ~batch_size samples
    return LoopState(model=net, loss_fn=s.loss_fn, optimizer=s.optimizer, x=s.data["x_train"], y=s.data["y_train"],
                     batch_size=batch, generator=local, device=s.device, emit=emit or (lambda event: None),
                     control=Control(), scheduler=s.scheduler if s.per_step else None, regularizer=s.regularizer,
                     autocast=s.autocast, scaler=s.scaler, next_report=math.inf if emit is None else 0.0,
                     memory_format=s.memory_format, sample_cdf=getattr(s, "sample_cdf", None) if world == 1 else None,
                     augment=getattr(s, "augment", None))


def fit(module, s, spec, task: str, num_classes: int, rank: int = 0, world: int = 1, on_epoch=None,
        checkpoint=None, resume=None) -> dict:
    """Train one process (world 1) or one DDP rank.

    `s` holds what core.train.setup.build resolves (device, data, loss_fn, optimizer, scheduler,
    per_step, regularizer, autocast, scaler, predict, transform, eval_batch, memory_format,
    monitor, metric_names); `spec` is the training spec. `on_epoch(row, best_state_or_None)` runs
    after each epoch (write, print); `checkpoint(epoch, counters, rng)` saves what a resume needs
    (called on every rank). `resume(loop, hooks)` continues a run whose weights, optimizer and
    schedule are already back in `s`: it sets the generators, the step count and the best-epoch
    record, and returns the first epoch to run. Returns the run's outcome as a dict with RunResult's fields
    plus `history`, `best_state` and `confusions` (split -> its latest confusion matrix, every
    rank's counts)."""
    t0 = time.perf_counter()
    net = module
    if world > 1:
        if getattr(spec, "sync_batchnorm", False):
            sync_batchnorm(module, s.device)     # same parameters, so the optimizer is unchanged
        gpu = [torch.cuda.current_device() if s.device.index is None else s.device.index] if s.device.type == "cuda" else None
        net = DDP(module, device_ids=gpu)
    hooks = RankHooks(module, s, task, num_classes, rank, world, torch.Generator().manual_seed(spec.seed), on_epoch,
                      spec.epochs, checkpoint)
    hooks.best = best = Best(s.monitor, spec.min_delta, spec.patience, spec.early_stopping)
    loop, start = rank_loop(net, s, spec, rank, world), 1
    if resume is not None:
        start = resume(loop, hooks)
    end = run_epochs(loop, hooks, best, module, s.scheduler, s.per_step, s.metric_names, spec.epochs, start,
                     getattr(s, "validate_every", 1))
    out = {"status": "finished", "total_epochs": spec.epochs, "monitor": s.monitor, "message": "", "fix": ""}
    if end.status == "diverged":
        out.update(status="failed", message=f"the loss became NaN or Inf in epoch {end.epochs_run + 1}",
                   fix="lower the learning rate, clip gradients (clip norm 1) or use init auto")
    last = hooks.history[-1] if hooks.history else {}
    out.update(epochs_run=end.epochs_run, best_epoch=best.epoch, best_value=best.value,
               restored_epoch=best.restore(module, end.epochs_run, spec.restore_best),
               stopped_early=end.stopped_early, val_metrics={k: v for k, v in last.items() if k.startswith("val_")},
               test_metrics=hooks.evaluate("test") if out["status"] == "finished" else {},
               seconds=time.perf_counter() - t0,
               samples_per_s=hooks.samples / hooks.train_time if hooks.train_time else 0.0,
               history=hooks.history, best_state=best.state, confusions=hooks.confusions)
    return out
