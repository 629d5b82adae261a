"""Inspection jobs for the idle training process after a run, answered off the GUI thread.

After a run the process keeps the model; the dashboard asks it for confusion matrices, decision
boundaries, feature maps and saliency. An answer normally takes milliseconds, but a busy or
stuck process must never freeze the window, so the jobs go one at a time through a worker
thread and come back as a queued signal. A job asked for again before it was sent replaces the
older request (a slider dragged over many samples costs one job, not one per sample). Before a
new run takes the process, `stop()` ends the thread so that only one reader uses the pipe.
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Signal

JOB_TIMEOUT_S = 30.0    # an answer the idle process owes after this long: it stopped answering


class IdleJobs(QObject):
    answered = Signal(str, object, str)     # key, value, error
    lost = Signal(object, str)              # the process that did not answer, the job's key

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._queue: list[tuple] = []       # (process, key, params) not sent yet
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    def submit(self, proc, key: str, params: dict) -> None:
        with self._lock:
            self._queue = [job for job in self._queue if job[1] != key] + [(proc, key, params)]
            if self._thread is None:
                self._cancel.clear()
                self._thread = threading.Thread(target=self._work, name="layerlab-idle-jobs", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Drop what is queued and end the thread (it stops waiting within 0.1 s)."""
        self._cancel.set()
        with self._lock:
            self._queue.clear()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._cancel.is_set():
                    self._queue.clear()
                    self._thread = None
                    return
                proc, key, params = self._queue.pop(0)
            self._one(proc, key, params)

    def _one(self, proc, key: str, params: dict) -> None:
        from ...core.train.process import ProcessGone

        try:
            proc.send("inspect", key, params)
            deadline = time.monotonic() + JOB_TIMEOUT_S
            while time.monotonic() < deadline:
                if self._cancel.is_set():
                    return
                msg = proc.receive(0.1)
                if msg is not None and msg[0] == "job" and msg[1] == key:
                    self.answered.emit(key, msg[2], msg[3])
                    return
        except ProcessGone:
            pass
        self.lost.emit(proc, key)
