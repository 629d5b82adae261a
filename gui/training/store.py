"""MetricsStore: everything one run reported, held in bounded memory for the plots.

Qt-free on purpose (tests and the benchmark drive it directly). Curves live in `Series`:
preallocated arrays that double until a cap, then halve by averaging neighbour pairs and
average every further `stride` rows into one, so a run of any length costs at most `cap` rows
and the plotted curve stays a faithful, evenly spaced summary. Probe snapshots are thinned
the same way (every other one dropped when full), keeping the first and the newest.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ...core.train.events import (DiagnosisEvent, EpochEnd, Failed, Finished, Paused, Resumed, RunStarted, Step,
                                  Stopped)
from ...core.train.probes import ProbeSnapshot

STEP_CAP = 8192       # plotted points per step curve: far more than a plot is wide
EPOCH_CAP = 4096
PROBE_CAP = 96        # histogram snapshots kept for the epoch scrubber


class Series:
    """Rows of floats with named columns; bounded by `cap` rows (see module docstring)."""

    def __init__(self, columns: list[str], cap: int = STEP_CAP, initial: int = 256):
        self.columns = list(columns)
        self.index = {c: i for i, c in enumerate(columns)}
        self.cap = max(4, cap - cap % 2)
        self.buf = np.empty((min(initial, self.cap), len(columns)), np.float64)
        self.n = 0
        self.stride = 1
        self._acc = np.zeros(len(columns))
        self._k = 0

    def append(self, row) -> None:
        if self.stride > 1:   # average `stride` rows into one, so the spacing stays even
            self._acc += row
            self._k += 1
            if self._k < self.stride:
                return
            row, self._acc, self._k = self._acc / self._k, np.zeros(len(self.columns)), 0
        if self.n == len(self.buf):
            if self.n < self.cap:
                grown = np.empty((min(self.cap, 2 * self.n), len(self.columns)), np.float64)
                grown[: self.n] = self.buf[: self.n]
                self.buf = grown
            else:
                half = self.n // 2
                self.buf[:half] = 0.5 * (self.buf[0: 2 * half: 2] + self.buf[1: 2 * half: 2])
                self.n = half
                self.stride *= 2
        self.buf[self.n] = row
        self.n += 1

    def col(self, name: str) -> np.ndarray:
        """A view of one column's filled part (valid until the next append)."""
        return self.buf[: self.n, self.index[name]]

    def __len__(self) -> int:
        return self.n

    def last(self, name: str) -> float:
        return float(self.buf[self.n - 1, self.index[name]]) if self.n else math.nan

    def rows(self) -> np.ndarray:
        return self.buf[: self.n]


@dataclass
class Crashed:
    """An exception escaped the trainer in the training process (a bug it did not anticipate)."""
    message: str
    details: str


@dataclass
class ProcessDied:
    """The training process ended without a result (killed, segfault, out of memory)."""
    message: str
    fix: str


@dataclass
class Progress:
    epoch: int = 0
    total_epochs: int = 0
    batch: int = 0
    batches: int = 0
    step: int = 0
    samples_per_s: float = 0.0
    started: float = field(default_factory=time.monotonic)
    paused_s: float = 0.0

    @property
    def fraction(self) -> float:
        if not self.total_epochs or not self.batches:
            return 0.0
        return min(1.0, ((self.epoch - 1) + self.batch / self.batches) / self.total_epochs)

    def eta_s(self, now: float | None = None) -> float | None:
        f = self.fraction
        if f <= 0.01:
            return None
        spent = (now or time.monotonic()) - self.started - self.paused_s
        return spent * (1 - f) / f


class MetricsStore:
    """Applies trainer events in order; `version` changes whenever a plot has something new."""

    def __init__(self, name: str = "", step_cap: int = STEP_CAP, epoch_cap: int = EPOCH_CAP,
                 probe_cap: int = PROBE_CAP, status: str = "idle"):
        self.name = name
        self.step_cap, self.epoch_cap, self.probe_cap = step_cap, epoch_cap, probe_cap
        self.status = status         # idle / starting / running / paused / finished / stopped / failed
        self.run_dir = ""
        self.config: dict[str, Any] = {}
        self.task = "classification"
        self.metric_names: list[str] = []
        self.planned_lrs: list[float] = []
        self.loss_at_init: float | None = None          # measured before step 1 (core.train.init_loss)
        self.expected_loss_at_init: float | None = None
        self.steps = Series(["x", "step", "loss", "lr"], step_cap)
        self.epochs = Series(["epoch", "train_loss", "val_loss", "lr", "seconds"], epoch_cap)
        self.metrics: dict[str, Series] = {}
        self.grad_norms: dict[str, Series] = {}     # layer -> rows (epoch, grad_norm)
        self.update_ratios: dict[str, Series] = {}  # layer -> rows (epoch, ratio)
        self.probes: list[Any] = []                 # ProbeSnapshot, thinned to probe_cap
        self.diagnoses: dict[tuple, tuple[int, Any]] = {}   # (code, layer) -> (epoch, Diagnosis)
        self.best_epoch = 0
        self.patience_left: int | None = None
        self.patience: int | None = None
        self.restored_epoch: int | None = None
        self.result = None
        self.failure: tuple[str, str] | None = None   # message, fix
        self.problems: list[Any] = []
        self.crash_details = ""          # traceback of an exception that escaped the trainer
        self.progress = Progress()
        self.version = 0
        self.epoch_version = 0     # per-epoch data (histograms, gradients) changed
        self._paused_at: float | None = None

    # ------------------------------------------------------------ events
    def apply(self, events) -> None:
        """The store's only writer: each event goes to its handler in HANDLERS (by class, so a
        renamed event fails the test that checks the table instead of vanishing)."""
        for ev in events:
            HANDLERS[type(ev)](self, ev)
        self.version += 1

    def _on_RunStarted(self, ev) -> None:
        self.status = "running"
        self.run_dir, self.config, self.task = ev.run_dir, ev.config, ev.task
        self.metric_names = list(ev.metric_names)
        self.planned_lrs = list(ev.lrs)
        self.loss_at_init = getattr(ev, "loss_at_init", None)
        self.expected_loss_at_init = getattr(ev, "expected_loss_at_init", None)
        for m in self.metric_names:
            if m not in self.metrics:
                self.metrics[m] = Series(["epoch", "value"], self.epoch_cap)
        t = (ev.config or {}).get("training", {})
        self.patience = t.get("patience") if t.get("early_stopping") else None
        self.progress = Progress(epoch=ev.start_epoch, total_epochs=ev.total_epochs, batches=ev.steps_per_epoch)

    def _on_Step(self, ev) -> None:
        p = self.progress
        p.epoch, p.batch, p.batches, p.step, p.samples_per_s = ev.epoch, ev.batch, ev.batches, ev.step, ev.samples_per_s
        x = (ev.epoch - 1) + ev.batch / max(1, ev.batches)
        self.steps.append((x, ev.step, ev.loss, ev.lr))

    def _on_EpochEnd(self, ev) -> None:
        self.epochs.append((ev.epoch, ev.train_loss, ev.val_loss, ev.lr, ev.seconds))
        for store, values in ((self.metrics, ev.metrics), (self.grad_norms, ev.grad_norms),
                              (self.update_ratios, ev.update_ratios)):
            for key, v in values.items():
                if key not in store:   # not setdefault: that would allocate a Series per call
                    store[key] = Series(["epoch", "value"], self.epoch_cap)
                store[key].append((ev.epoch, v))
        self.best_epoch = ev.best_epoch
        self.patience_left = ev.patience_left
        self.progress.epoch = ev.epoch
        self.epoch_version += 1

    def _on_ProbeSnapshot(self, ev) -> None:
        self.probes.append(ev)
        if len(self.probes) > self.probe_cap:   # keep the first, drop every other of the rest
            self.probes = self.probes[:1] + self.probes[1:-1][1::2] + self.probes[-1:]
        self.epoch_version += 1

    def _on_DiagnosisEvent(self, ev) -> None:
        for d in ev.diagnoses:
            self.diagnoses[(getattr(d, "code", str(d)), getattr(d, "layer", None))] = (ev.epoch, d)
        self.epoch_version += 1

    def _on_Paused(self, ev) -> None:
        self.status = "paused"
        self._paused_at = time.monotonic()

    def _on_Resumed(self, ev) -> None:
        self.status = "running"
        if self._paused_at is not None:
            self.progress.paused_s += time.monotonic() - self._paused_at
            self._paused_at = None

    def _end(self, status: str, result) -> None:
        self.status = status
        self.result = result
        if result is not None:
            self.restored_epoch = result.restored_epoch
            self.best_epoch = result.best_epoch or self.best_epoch
        self.epoch_version += 1

    def _on_Finished(self, ev) -> None:
        self._end("finished", ev.result)

    def _on_Stopped(self, ev) -> None:
        self._end("stopped", ev.result)

    def _on_Failed(self, ev) -> None:
        self.failure = (ev.message, ev.fix)
        self.problems = list(ev.problems)
        self._end("failed", ev.result)

    def _on_Crashed(self, ev) -> None:
        self.failure = (ev.message, "")
        self.crash_details = ev.details
        self._end("failed", None)

    def _on_ProcessDied(self, ev) -> None:
        if self.status in ("finished", "stopped", "failed"):   # it died after reporting its end
            return
        self.failure = (ev.message, ev.fix)
        self._end("failed", None)

    # ------------------------------------------------------------ reading
    def epoch_table(self) -> tuple[list[str], list[list[float]]]:
        """Per-epoch rows for CSV export: the columns of metrics.csv."""
        cols = ["epoch", "train_loss", "val_loss", *self.metric_names, "lr", "seconds"]
        rows = []
        by_epoch = {m: dict(zip(s.col("epoch"), s.col("value"))) for m, s in self.metrics.items()}
        for r in self.epochs.rows():
            e = r[0]
            rows.append([e, r[1], r[2], *(by_epoch.get(m, {}).get(e, math.nan) for m in self.metric_names),
                         r[3], r[4]])
        return cols, rows

    @property
    def active(self) -> bool:
        return self.status in ("running", "paused")


HANDLERS: dict[type, Callable[[MetricsStore, Any], None]] = {
    RunStarted: MetricsStore._on_RunStarted, Step: MetricsStore._on_Step, EpochEnd: MetricsStore._on_EpochEnd,
    ProbeSnapshot: MetricsStore._on_ProbeSnapshot, DiagnosisEvent: MetricsStore._on_DiagnosisEvent,
    Paused: MetricsStore._on_Paused, Resumed: MetricsStore._on_Resumed, Finished: MetricsStore._on_Finished,
    Stopped: MetricsStore._on_Stopped, Failed: MetricsStore._on_Failed, Crashed: MetricsStore._on_Crashed,
    ProcessDied: MetricsStore._on_ProcessDied,
}
