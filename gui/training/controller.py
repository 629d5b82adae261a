"""TrainingController: starts, pauses, resumes and stops runs; owns the thread and the store.

The GUI never sees the trainer's steps one by one: batches of events land in the run's
MetricsStore, and a QTimer emits `tick` at most 30 times a second when something changed;
the dashboard redraws on that tick only.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from .store import MetricsStore
from .worker import Crashed, JobResult, TrainingThread, run_job

REDRAW_MS = 34   # ≤ 30 Hz


class TrainingController(QObject):
    run_started = Signal(object)       # MetricsStore
    tick = Signal(object)              # MetricsStore: new data to draw
    status_changed = Signal(str)       # starting / running / paused / finished / stopped / failed
    run_ended = Signal(object)         # MetricsStore, once the thread is gone
    failed = Signal(str, str, str)     # message, fix, details (traceback or preflight problems)
    job_done = Signal(str, object, str)  # key, value, error
    job_cost = Signal(float)             # seconds a job took

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thread: TrainingThread | None = None
        self.store: MetricsStore | None = None
        self.trainer = None            # the last run's trainer (its model, for inspection after the run)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._tick)
        self._drawn = -1

    @property
    def running(self) -> bool:
        return self.thread is not None

    @property
    def status(self) -> str:
        return self.store.status if self.store is not None else "idle"

    def start(self, project, base_dir=None, run_dir=None, make_trainer: Callable | None = None) -> MetricsStore:
        """Train a snapshot of `project` (edits made during the run apply to the next run)."""
        if self.thread is not None:
            raise RuntimeError("a run is in progress: stop it first")
        from ...core.project import Project
        snapshot = Project.from_dict(project.to_dict())
        self.store = MetricsStore(project.name)
        self.store.status = "starting"
        self.trainer = None
        self.thread = TrainingThread(snapshot, base_dir, run_dir, self, make_trainer)
        self.thread.events.connect(self._on_events)
        self.thread.finished.connect(self._on_thread_finished)
        self.thread.start()
        self._drawn = -1
        self.timer.start()
        self.run_started.emit(self.store)
        self.status_changed.emit("starting")
        return self.store

    def pause(self) -> None:
        if self.thread is not None:
            self.thread.control.pause()

    def resume(self) -> None:
        if self.thread is not None:
            self.thread.control.resume()

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.control.stop()

    def gui_turn(self):
        """Context for a repaint: the trainer waits at its next step until it ends (worker.py)."""
        if self.thread is not None and self.status == "running":
            return self.thread.control.gui_turn()
        return nullcontext()

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Stop and wait for the thread (closing the window); True when it is gone."""
        if self.thread is None:
            return True
        self.thread.control.stop()
        done = self.thread.wait(timeout_ms)
        if done:
            self._on_thread_finished()
        return done

    # ------------------------------------------------------------ inspection jobs
    def submit(self, key: str, fn: Callable) -> bool:
        """Run fn(trainer) where it is safe: between two steps while training, at once (in this
        thread) when paused or after the run. False when there is no model yet."""
        if self.thread is not None and self.status in ("running", "starting"):
            self.thread.submit(key, fn)
            return True
        trainer = self.thread.trainer if self.thread is not None else self.trainer
        if trainer is None or getattr(trainer, "setup", None) is None:
            return False
        r = run_job(key, fn, trainer)   # paused: the training thread is blocked; ended: it is gone
        self.job_done.emit(r.key, r.value, r.error)
        return True

    # ------------------------------------------------------------ from the thread
    def _on_events(self, batch: list) -> None:
        store = self.store
        before = store.status
        plain = []
        for ev in batch:
            if isinstance(ev, JobResult):
                self.job_cost.emit(ev.seconds)
                self.job_done.emit(ev.key, ev.value, ev.error)
            elif isinstance(ev, Crashed):
                store.failure = (ev.message, "")
                store.status = "failed"
                store.crash_details = ev.details
            else:
                plain.append(ev)
        if plain:
            store.apply(plain)
        if store.status != before:
            self.status_changed.emit(store.status)

    def _tick(self) -> None:
        if self.store is not None and self.store.version != self._drawn:
            self._drawn = self.store.version
            self.tick.emit(self.store)

    def _on_thread_finished(self) -> None:
        thread = self.thread
        if thread is None:
            return
        thread.wait()
        self.trainer = thread.trainer
        self.thread = None
        thread.deleteLater()
        self.timer.stop()
        store = self.store
        if store.status in ("starting", "running", "paused"):   # ended without a final event
            store.status = "stopped" if thread.control.stopped else "failed"
            if store.status == "failed" and store.failure is None:
                store.failure = ("the training thread ended without a result", "")
        self._tick()
        self.status_changed.emit(store.status)
        self.run_ended.emit(store)
        if store.status == "failed" and store.failure is not None:
            message, fix = store.failure
            more = store.problems[1:] if len(store.problems) > 1 else []   # the first is the message
            details = store.crash_details or "\n".join(f"• {p}" for p in more)
            self.failed.emit(message, fix, details)
