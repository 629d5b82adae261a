"""TrainingController: starts, pauses, resumes and stops runs; owns the worker thread and the
run's store.

The GUI never sees the trainer's steps one by one: batches of events land in the run's
MetricsStore (its only writer is `store.apply`), and a QTimer emits `tick` at most 30 times a
second when something changed; the dashboard redraws on that tick only.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from .idle_jobs import IdleJobs
from .store import MetricsStore, ProcessDied
from .worker import JobResult, TrainingThread

REDRAW_MS = 34          # ≤ 30 Hz


class TrainingController(QObject):
    run_started = Signal(object)       # MetricsStore
    tick = Signal(object)              # MetricsStore: new data to draw
    status_changed = Signal(str)       # starting / running / paused / finished / stopped / failed
    run_ended = Signal(object)         # MetricsStore, once the thread is gone
    failed = Signal(str, str, str)     # message, fix, details (traceback or preflight problems)
    job_done = Signal(str, object, str)  # key, value, error
    job_cost = Signal(float)             # seconds a job took the training process

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thread: TrainingThread | None = None
        self.store: MetricsStore | None = None
        self.model_process = None      # the process holding the last run's model (inspection after it)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._tick)
        self._drawn = -1
        self.idle_jobs = IdleJobs(self)     # inspections after the run, off the GUI thread
        self.idle_jobs.answered.connect(self.job_done)
        self.idle_jobs.lost.connect(self._on_idle_lost)

    @property
    def running(self) -> bool:
        return self.thread is not None

    @property
    def status(self) -> str:
        return self.store.status if self.store is not None else "idle"

    def start(self, project, base_dir=None, run_dir=None, resume_from=None) -> MetricsStore:
        """Train a snapshot of `project` in the training process (edits made during the run apply
        to the next run)."""
        if self.thread is not None:
            raise RuntimeError("a run is in progress: stop it first")
        request = {"project": project.to_dict(), "base_dir": str(base_dir) if base_dir else None,
                   "run_dir": str(run_dir) if run_dir else None,
                   "resume_from": str(resume_from) if resume_from else None}
        self.store = MetricsStore(project.name, status="starting")
        self.model_process = None
        self.idle_jobs.stop()               # the run's thread becomes the process's only reader
        self.thread = TrainingThread(request, self)
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
            self.thread.command("pause")

    def resume(self) -> None:
        if self.thread is not None:
            self.thread.command("resume")

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.command("stop")

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Stop the run and wait for the thread (closing the window); True when it is gone."""
        self.idle_jobs.stop(1.0)
        if self.thread is None:
            return True
        self.thread.command("stop")
        done = self.thread.wait(timeout_ms)
        if done:
            self._on_thread_finished()
        return done

    # ------------------------------------------------------------ inspection jobs
    def submit(self, key: str, params: dict) -> bool:
        """Ask the training process for an inspection (core/train/model_views.py). During a run it
        runs between two steps and arrives with the thread's next batch; after the run the idle
        process answers through a worker thread (idle_jobs.py), as `job_done`. False when there
        is no model to look at."""
        if self.thread is not None:
            self.thread.command("inspect", key, params)
            return True
        proc = self.model_process
        from ...core.train import process
        if proc is None or process.spare(start=False) is not proc:   # gone, or another run took it
            return False
        self.idle_jobs.submit(proc, key, params)
        return True

    def _on_idle_lost(self, proc, key: str) -> None:
        if proc is self.model_process:
            self.model_process = None
        self.job_done.emit(key, None, "the training process holding the run's model stopped answering: "
                                      "train again to inspect")

    # ------------------------------------------------------------ from the thread
    def _on_events(self, batch: list) -> None:
        store = self.store
        before = store.status
        events = []
        for item in batch:
            if isinstance(item, tuple):          # (time reported, event)
                events.append(item[1])
            elif isinstance(item, JobResult):
                self.job_cost.emit(item.seconds)
                self.job_done.emit(item.key, item.value, item.error)
            else:                                # Crashed, ProcessDied
                events.append(item)
        if events:
            store.apply(events)
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
        QCoreApplication.sendPostedEvents(self)   # its last batch, when shutdown() waited for it
        self.thread = None
        self.model_process = thread.proc if thread.ended else None
        thread.deleteLater()
        self.timer.stop()
        store = self.store
        if store.status in ("starting", "running", "paused"):   # ended without a final event
            store.apply([ProcessDied("the training process ended without a result",
                                     "Press Train to start again; your graph and edits are kept.")])
        self._tick()
        self.status_changed.emit(store.status)
        self.run_ended.emit(store)
        if store.status == "failed" and store.failure is not None:
            message, fix = store.failure
            more = store.problems[1:] if len(store.problems) > 1 else []   # the first is the message
            details = store.crash_details or "\n".join(f"• {p}" for p in more)
            self.failed.emit(message, fix, details)
