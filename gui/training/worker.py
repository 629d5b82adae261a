"""The training thread: core.train.Trainer.fit in a QThread, its events batched to the GUI.

The trainer calls `on_event` in this thread. Events are plain dataclasses (numbers, lists,
numpy copies), so they cross threads as they are; they are collected and handed over in one
queued signal about every 50 ms (and at once for the rare ones: start, pause, resume, end),
so the GUI thread wakes ~20 times a second whatever the step or epoch rate.

Inspection jobs (saliency, decision boundary, ...) need the model in a consistent state: they
are queued here and run inside `on_event`, i.e. between two optimizer steps, never concurrently
with one. Stopping is cooperative (Control.stop); the thread is never terminated.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

FLUSH_S = 0.05
# handed over at once; the rest (steps, epoch ends: hundreds a second on a small data set) waits
# for the next 50 ms batch: each hand-over wakes the GUI thread and costs the trainer the GIL
URGENT = {"RunStarted", "Paused", "Resumed", "Finished", "Stopped", "Failed"}
JOB_GAP_S = 0.25     # at most ~4 inspection jobs a second while training: they cost training time


@dataclass
class JobResult:
    key: str
    value: Any = None
    error: str = ""
    seconds: float = 0.0      # what the job cost (the training thread's time, while training)


@dataclass
class Crashed:
    """An exception escaped the trainer (a bug, or a failure it did not anticipate)."""
    message: str
    details: str


class TurnControl:
    """core.train.events.Control plus "GUI turns": while the GUI thread repaints a plot it holds
    a lock, and the trainer, which reads `pending` once per step, waits for it there.

    Two Python threads hand the GIL back and forth on every Qt and torch call; a repaint racing
    a training step took several times its own CPU time and made the GUI's timers 40 ms late.
    Taking turns costs the trainer exactly the repaint's time and nothing more."""

    def __new__(cls):
        from ...core.train.events import Control

        class _TurnControl(Control):
            def __init__(self):
                self._turn = threading.Lock()
                self._gui_busy = False
                super().__init__()

            @property
            def pending(self):
                if self._gui_busy:
                    with self._turn:       # blocks (GIL released) until the GUI's repaint is done
                        pass
                return self._pending

            @pending.setter
            def pending(self, value):
                self._pending = value

            @contextmanager
            def gui_turn(self):
                with self._turn:
                    self._gui_busy = True
                    try:
                        yield
                    finally:
                        self._gui_busy = False

        return _TurnControl()


def run_job(key: str, fn: Callable, trainer) -> JobResult:
    """fn(trainer) with the global RNG saved and restored (SmoothGrad draws noise; a seeded run
    must train the same whether or not someone looked at it). Errors become the result."""
    import torch
    rng = torch.get_rng_state()
    t0 = time.perf_counter()
    try:
        r = JobResult(key, fn(trainer))
    except Exception as e:  # a failed inspection must never end the run
        r = JobResult(key, None, f"{type(e).__name__}: {e}")
    finally:
        torch.set_rng_state(rng)
    r.seconds = time.perf_counter() - t0
    return r


class TrainingThread(QThread):
    events = Signal(list)

    def __init__(self, project, base_dir=None, run_dir=None, parent=None, make_trainer: Callable | None = None):
        super().__init__(parent)
        self.project = project
        self.base_dir = base_dir
        self.run_dir = run_dir
        self.control = TurnControl()
        self.trainer = None
        self._make_trainer = make_trainer
        self._pending: list = []
        self._lock = threading.Lock()
        self._jobs: deque[tuple[str, Callable]] = deque()
        self._last_flush = 0.0
        self._last_job = 0.0
        self.setObjectName("layerlabTraining")

    # ------------------------------------------------------------ GUI thread
    def submit(self, key: str, fn: Callable) -> None:
        """Run fn(trainer) between two steps; its JobResult arrives with the next batch. A newer
        job with the same key replaces an older one still waiting."""
        with self._lock:
            for i, (k, _) in enumerate(self._jobs):
                if k == key:
                    del self._jobs[i]
                    break
            self._jobs.append((key, fn))

    # ------------------------------------------------------------ training thread
    def run(self) -> None:
        try:
            if self._make_trainer is not None:
                self.trainer = self._make_trainer()
            else:
                from ...core.train.trainer import Trainer
                self.trainer = Trainer(self.project, None, self.base_dir, run_dir=self.run_dir)
            self.trainer.fit(self._on_event, self.control)
        except Exception as e:  # shown in a dialog by the controller; the app stays usable
            self._pending.append(Crashed(f"{type(e).__name__}: {e}", traceback.format_exc()))
        finally:
            self._flush()

    def _on_event(self, ev) -> None:
        self._pending.append(ev)
        name = type(ev).__name__
        if self._jobs and name in ("Step", "EpochEnd", "Finished", "Stopped"):
            self._run_jobs(force=name != "Step")
        now = time.perf_counter()
        if name in URGENT or now - self._last_flush >= FLUSH_S:
            self._flush(now)

    def _run_jobs(self, force: bool) -> None:
        now = time.perf_counter()
        if not force and now - self._last_job < JOB_GAP_S:
            return
        while True:
            with self._lock:
                if not self._jobs:
                    break
                key, fn = self._jobs.popleft()
            self._pending.append(run_job(key, fn, self.trainer))
        self._last_job = time.perf_counter()

    def _flush(self, now: float | None = None) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.events.emit(batch)
        self._last_flush = now or time.perf_counter()
