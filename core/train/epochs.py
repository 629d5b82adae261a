"""The epoch loop every training run goes through: the trainer (one process, with events, probes,
checkpoints and pause/stop), a DDP rank (`layerlab train --nproc N`) and the exported train
script (which copies this file's code verbatim). What differs between them is plugged in as
`EpochHooks`; the step order (loop.train_epoch), the monitored value, scheduler stepping, best-epoch
tracking and early stopping exist only here.

One epoch: hooks.stop_requested → hooks.train (loop.train_epoch on this process's data) →
hooks.reduce (the loss sum, samples and a non-finite flag: all-reduced over ranks) → diverged or
stopped ends the run → hooks.evaluate("val") → per-epoch scheduler step → best/early-stopping
bookkeeping → hooks.epoch_end(row, …) (write metrics, emit events, checkpoint).

Validation on a budget: `validate_every` (k, from `validation_every`) validates the first
FIRST_VALIDATED epochs (early feedback, the chance and overfitting diagnoses), every k-th epoch and
the last; the epochs between skip the validation pass, best-epoch tracking and the
per-epoch figures (hooks.epoch_unvalidated: a row with empty validation columns). k keeps the
validation pass, probes and per-epoch figures within VALIDATION_BUDGET of the run by a cost model
of sizes alone (so a run and its resumed copy validate the same epochs on any machine); it is 1
(every epoch) with early stopping or a plateau schedule, whose patience counts epochs, and for runs
of at most EVERY_EPOCH_UP_TO epochs.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from torch.optim.lr_scheduler import ReduceLROnPlateau

from .loop import EpochOutcome, LoopState, train_epoch
from .optim import MAXIMIZED

VALIDATION_BUDGET = 0.05     # the share of a run that validation, probes and per-epoch figures may take
# of which the validated epochs get this much; the rest is for what every epoch does (its row and
# event), the first five validated epochs, the probes' own budget (hooks.BUDGET) and the checkpoints.
# with a validated epoch costing BOOKKEEPING_STEPS: 2 % measured 4.6 % (digits MLP) and 5.8 % (spiral)
# of 300 seven-step epochs once FusedStep made the steps faster; 1.5 %: 4.0 % and 5.0 %; 1.25 % (a
# 300-epoch spiral run validates epochs 1-5, every 57th and the last): 4.0 % and 4.5 %
VALIDATED_SHARE = 0.0125
FIRST_VALIDATED = 5          # epochs 1..5 are always validated
EVERY_EPOCH_UP_TO = 20       # runs this short validate every epoch (a per-epoch curve; they take seconds)
# What an epoch's bookkeeping costs besides the validation forward pass (evaluate's set-up, metrics,
# grad norms, update ratios, best-weights copy, the row and the event), in training steps of the
# same run, probes included: measured 5.2 on the spiral (0.9 ms against 0.175 ms steps, fused_step.py)
# for a validated epoch, of which the validation forward pass is about 0.7, and about 0.17 for each
# epoch between (its row and event).
BOOKKEEPING_STEPS = 4.5


def validation_every(steps_per_epoch: int, n_train: int, n_val: int, batch: int, every_epoch: bool,
                     epochs: int = EVERY_EPOCH_UP_TO + 1, budget: float = VALIDATED_SHARE) -> int:
    """k: validate epoch 1, every k-th epoch and the last. A validation pass over n_val samples
    costs about a third of training steps over as many samples (a forward pass, no backward or
    optimizer step)."""
    if every_epoch or budget <= 0 or n_val <= 0 or epochs <= EVERY_EPOCH_UP_TO:
        return 1
    steps = max(steps_per_epoch, 1)
    val_steps = n_val / (3 * max(batch, 1))
    return max(1, math.ceil((BOOKKEEPING_STEPS + val_steps) / (budget * steps) - 1e-9))


def counts_epochs(spec) -> bool:
    """Early stopping and a plateau schedule count epochs (their patience), so they validate every one."""
    return bool(spec.early_stopping) or spec.schedule == "plateau"


def validates(epoch: int, every: int, last_epoch: int) -> bool:
    return every <= 1 or epoch <= FIRST_VALIDATED or epoch % every == 0 or epoch == last_epoch


def is_plateau(scheduler) -> bool:
    """A scheduler stepped with the monitored value once per epoch (ReduceLROnPlateau)."""
    return isinstance(scheduler, ReduceLROnPlateau)


def step_scheduler(scheduler, value: float) -> None:
    """The per-epoch scheduler step: a plateau schedule sees the monitored value (skipped while it
    is not finite), every other schedule just counts the epoch."""
    if not is_plateau(scheduler):
        scheduler.step()
    elif math.isfinite(value):
        scheduler.step(value)


def monitored_value(monitor: str, train_loss: float, val: dict) -> float:
    return train_loss if monitor == "train_loss" else val.get(monitor, math.nan)


@dataclass
class Best:
    """Best-epoch tracking and early stopping on the monitored value."""
    monitor: str
    min_delta: float = 0.0
    patience: int = 0
    early_stopping: bool = False
    value: float | None = None
    epoch: int = 0
    state: dict | None = None        # a copy of the module's weights at the best epoch
    bad: int = 0                     # epochs since the last improvement
    dirty: bool = False              # `state` changed since it was last written

    @property
    def maximize(self) -> bool:
        return self.monitor in MAXIMIZED

    def update(self, epoch: int, value: float, module) -> bool:
        """Record this epoch's value; True when it improved on the best by more than min_delta."""
        b = self.value
        better = math.isfinite(value) and (b is None or (
            value > b + self.min_delta if self.maximize else value < b - self.min_delta))
        if not better:
            self.bad += 1
            return False
        self.value, self.epoch, self.bad, self.dirty = value, epoch, 0, True
        self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        return True

    @property
    def exhausted(self) -> bool:
        """Early stopping says stop: `patience` epochs without improvement."""
        return self.early_stopping and self.bad >= self.patience

    @property
    def patience_left(self) -> int | None:
        return max(self.patience - self.bad, 0) if self.early_stopping else None

    def restore(self, module, epochs_run: int, restore_best: bool) -> int | None:
        """With early stopping and restore_best, put the best epoch's weights back into `module`;
        returns the epoch the module now holds (None: it keeps the last epoch's weights)."""
        if not (self.early_stopping and restore_best and self.state is not None):
            return None
        if self.epoch != epochs_run:
            module.load_state_dict(self.state)
        return self.epoch


class EpochHooks:
    """What a kind of run plugs into `run_epochs`. The defaults are one process that reports
    nothing; the trainer and the DDP rank override what they need."""

    def stop_requested(self) -> bool:
        return False

    def train(self, loop: LoopState, epoch: int) -> EpochOutcome:
        return train_epoch(loop, epoch)

    def reduce(self, out: EpochOutcome) -> tuple[float, int, bool]:
        """(loss sum, samples, non-finite) of the epoch over every process."""
        return out.loss_sum, out.samples, out.nonfinite

    def evaluate(self, split: str) -> dict:
        return {}

    def epoch_end(self, row: dict, out: EpochOutcome, improved: bool, samples: int, seconds: float) -> None:
        pass

    def epoch_unvalidated(self, row: dict, out: EpochOutcome, samples: int, seconds: float) -> None:
        """An epoch between validations (its row's validation columns are NaN)."""
        self.epoch_end(row, out, False, samples, seconds)


@dataclass
class Ending:
    status: str                   # finished | stopped | diverged
    epochs_run: int               # completed epochs (a stopped or diverged epoch does not count)
    stopped_early: bool = False
    outcome: EpochOutcome | None = None   # the diverged epoch's (its bad batch)


def run_epochs(loop: LoopState, hooks: EpochHooks, best: Best, module, scheduler, per_step: bool,
               metric_names, epochs: int, start_epoch: int = 1, validate_every: int = 1) -> Ending:
    """Epochs start_epoch..epochs of one run; returns how it ended. `module` is the network whose
    weights the best epoch keeps (loop.model may be its DDP wrapper). Epochs that `validates` says
    no to skip validation and best-epoch tracking."""
    epoch_scheduler = scheduler if scheduler is not None and not per_step else None
    epoch = start_epoch - 1
    for epoch in range(start_epoch, epochs + 1):
        if hooks.stop_requested():
            return Ending("stopped", epoch - 1)
        t_epoch = time.perf_counter()
        out = hooks.train(loop, epoch)
        loss_sum, samples, nonfinite = hooks.reduce(out)
        if nonfinite:
            return Ending("diverged", epoch - 1, outcome=out)
        if out.stopped:          # mid-epoch: resuming redoes this epoch
            return Ending("stopped", epoch - 1)
        train_loss = loss_sum / max(samples, 1)
        due = validates(epoch, validate_every, epochs)
        val = hooks.evaluate("val") if due else {}
        value = monitored_value(best.monitor, train_loss, val) if due else math.nan
        if epoch_scheduler is not None:
            step_scheduler(epoch_scheduler, value)
        improved = best.update(epoch, value, module) if due else False
        seconds = time.perf_counter() - t_epoch - out.paused_s
        row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val.get("val_loss", math.nan),
               **{m: val.get(m, math.nan) for m in metric_names}, "lr": float(out.last_lr),
               "seconds": round(seconds, 4)}
        if due:
            hooks.epoch_end(row, out, improved, int(samples), seconds)
        else:
            hooks.epoch_unvalidated(row, out, int(samples), seconds)
        if best.exhausted:
            return Ending("finished", epoch, stopped_early=True)
    return Ending("finished", epoch)
