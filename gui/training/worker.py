"""The worker thread: the GUI's single point of contact with the training process.

One `TrainingThread` per run. It takes the warm process (core/train/process.py), sends it the
run, relays what comes back to the GUI thread in one queued signal about every 50 ms (at once
for the rare events: start, pause, resume, end), and forwards pause / resume / stop and
inspection requests from the GUI thread. The trainer and the GUI never share an interpreter
lock, and a crash of the process (exception, segfault, out of memory, SIGKILL) ends the run
with a `ProcessDied` item instead of taking the window with it.

Relayed items: `(t, event)` pairs (t: time.monotonic() in the process when the trainer
reported the event), `JobResult`, `Crashed`, `ProcessDied`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QThread, Signal

from .store import Crashed, ProcessDied

FLUSH_S = 0.05
URGENT_KINDS = ("crashed", "job")


@dataclass
class JobResult:
    key: str
    value: Any = None
    error: str = ""
    seconds: float = 0.0      # what the job cost the training process


class TrainingThread(QThread):
    events = Signal(list)

    def __init__(self, request: dict, parent=None):
        super().__init__(parent)
        self.request = request
        self.proc = None
        self.stopped = False          # stop was asked (a process that then dies was stopped, not crashed)
        self.ended = False
        self._early: list[tuple] = []   # commands given before the process took the run
        self._lock = threading.Lock()
        self._pending: list = []
        self._last_flush = 0.0
        self.setObjectName("layerlabTraining")

    # ------------------------------------------------------------ GUI thread
    def command(self, *msg) -> None:
        """pause / resume / stop / ("inspect", key, params): forwarded to the process."""
        if msg[0] == "stop":
            self.stopped = True
        with self._lock:
            if self.proc is None:
                self._early.append(msg)
                return
            proc = self.proc
        from ...core.train.process import ProcessGone
        try:
            proc.send(*msg)
        except ProcessGone:
            pass    # the reading loop reports the death

    # ------------------------------------------------------------ worker thread
    def run(self) -> None:
        from ...core.train import process
        proc = None
        try:
            proc = process.take()
            proc.wait_ready()
            proc.send("train", self.request)
            with self._lock:
                self.proc = proc
                early, self._early = self._early, []
            for msg in early:
                proc.send(*msg)
            while not self.ended:
                msg = proc.receive(FLUSH_S)
                if msg is not None:
                    self._dispatch(msg)
                if time.monotonic() - self._last_flush >= FLUSH_S:
                    self._flush()
        except process.ProcessGone as e:
            self._pending.append(self._died(str(e)))
        finally:
            self._flush()
            if proc is not None and self.ended:
                process.give_back(proc)      # keeps the model for inspection after the run
            elif proc is not None:
                proc.close(0)
                process.spare()              # warm again at once: the user can train again

    def _dispatch(self, msg) -> None:
        kind = msg[0]
        if kind == "events":
            self._pending.extend(tuple(pair) for pair in msg[1])
        elif kind == "job":
            self._pending.append(JobResult(msg[1], msg[2], msg[3], msg[4]))
        elif kind == "crashed":
            self._pending.append(Crashed(msg[1], msg[2]))
        elif kind == "ended":
            self.ended = True
        if kind in URGENT_KINDS or (kind == "events" and _has_urgent(msg[1])):
            self._flush()

    def _died(self, reason: str) -> ProcessDied:
        from ...core.train.process import checkpoint_epoch
        run_dir = self.request.get("run_dir")
        epoch = checkpoint_epoch(run_dir) if run_dir else None
        kept = (f"its run folder keeps the checkpoint of epoch {epoch} and can be resumed" if epoch
                else "no checkpoint was saved yet")
        if self.stopped:
            return ProcessDied(f"{reason} while stopping", f"Your graph and edits are kept; {kept}.")
        return ProcessDied(f"{reason} during the run",
                           f"Press Train to start again (your graph and edits are kept); {kept}. If it "
                           "happens again, try a smaller batch size or model.")

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.events.emit(batch)
        self._last_flush = time.monotonic()


def _has_urgent(pairs) -> bool:
    from ...core.train.child import URGENT
    return any(isinstance(ev, URGENT) for _, ev in pairs)
