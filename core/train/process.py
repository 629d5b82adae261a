"""The training process seen from the parent: start it (a fresh interpreter), talk to it (wire.py messages
over a pipe), notice when it dies and say why in words a user can act on.

`spare()` keeps one process warm per parent: started ahead of need (the GUI asks while it is
idle after start-up), handed to the next run, and returned for reuse after a run that ended
normally. Nothing here imports Qt; the GUI's worker thread drives it (gui/training/worker.py).
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection, wait

from .wire import decode, encode

READY_TIMEOUT_S = 120.0     # importing torch on a loaded machine


class ProcessGone(Exception):
    """The training process ended (crashed, was killed, or closed its pipe)."""


class TrainingProcess:
    """A fresh interpreter (`python -m layerlab.core.train.child FD`, as multiprocessing's spawn
    method would start, but without re-importing the parent's __main__) joined by a socket pair."""

    def __init__(self):
        mine, theirs = socket.socketpair()
        self.process = subprocess.Popen([sys.executable, "-m", "layerlab.core.train.child", str(theirs.fileno())],
                                        pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                        start_new_session=False)
        theirs.close()
        self.conn = Connection(os.dup(mine.fileno()))
        mine.close()
        self.ready = False
        self._send_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, *msg) -> None:
        try:
            data = encode(msg)
            with self._send_lock:
                self.conn.send_bytes(data)
        except (OSError, EOFError, ValueError) as e:
            raise ProcessGone(str(e)) from None

    def receive(self, timeout: float | None):
        """The next message, or None after `timeout` s. Raises ProcessGone once the process has
        ended and everything it sent was read."""
        try:
            ready = wait([self.conn], timeout)     # readable at EOF too: the process died
            if ready:
                msg = decode(self.conn.recv_bytes())
                if msg and msg[0] == "ready":
                    self.ready = True
                return msg
        except (OSError, EOFError):
            pass
        else:
            if not ready:
                return None
        try:
            self.process.wait(5.0)
        except subprocess.TimeoutExpired:
            pass
        raise ProcessGone(self.exit_reason())

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        while not self.ready:
            if self.receive(timeout) is None:
                raise ProcessGone(f"the training process did not start within {timeout:.0f} s")

    def exit_reason(self) -> str:
        code = self.process.poll()
        if code is None:
            return "the training process stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            what = {"SIGKILL": "was killed (SIGKILL: the system does this when memory runs out)",
                    "SIGSEGV": "crashed (segmentation fault in native code)",
                    "SIGABRT": "aborted (a native library gave up)",
                    "SIGTERM": "was terminated (SIGTERM)"}.get(name, f"was ended by {name}")
            return f"the training process {what}"
        return f"the training process exited with code {code}"

    def close(self, timeout: float = 5.0) -> None:
        """Ask the process to quit; kill it if it does not within `timeout` s."""
        if self.alive():
            try:
                self.send("quit")
            except ProcessGone:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5.0)
        self.conn.close()


_spare: TrainingProcess | None = None
_spare_lock = threading.Lock()


def spare(start: bool = True) -> TrainingProcess | None:
    """The warm process, started now when there is none and `start` is true (not taken)."""
    global _spare
    with _spare_lock:
        if _spare is not None and not _spare.alive():
            _spare.close(0)
            _spare = None
        if _spare is None and start:
            _spare = TrainingProcess()
        return _spare


def take() -> TrainingProcess:
    """The warm process for a run (it is no longer the spare), or a new one."""
    global _spare
    proc = spare()
    with _spare_lock:
        _spare = None
    return proc


def give_back(proc: TrainingProcess) -> None:
    """A process whose run ended normally becomes the spare again: it holds the run's model for
    inspection after the run. A spare started meanwhile quits instead."""
    global _spare
    with _spare_lock:
        old, _spare = _spare, (proc if proc.alive() else None)
    if old is not None and old is not proc:
        old.close()
    if _spare is None:
        proc.close(0)


@atexit.register
def _close_spare() -> None:
    global _spare
    if _spare is not None:
        _spare.close(2.0)
        _spare = None


def checkpoint_epoch(run_dir) -> int | None:
    """The epoch of the run folder's last resumable checkpoint (last.state.safetensors), read from
    its header alone; None when there is none or it is unreadable."""
    import json
    import os
    from pathlib import Path

    from .runs import STATE_FILE
    path = Path(run_dir) / STATE_FILE
    try:
        if not path.is_file():
            return None
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if not 0 < n <= min(os.path.getsize(path) - 8, 1 << 24):
                return None
            header = json.loads(f.read(n))
        state = json.loads(header.get("__metadata__", {}).get("state", "{}"))
        epoch = int(state.get("trainer", {}).get("epoch", 0))
        return epoch or None
    except (OSError, ValueError, TypeError, AttributeError):
        return None
