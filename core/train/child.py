"""The training process: `python -m layerlab.core.train.child FD` (process.py starts it; FD is
its end of a socket pair) runs `serve(conn)` and trains one run after another on request.

Messages (wire.py tuples; parent → child):
    ("train", {"project": dict, "base_dir": str|None, "run_dir": str, "resume_from": str|None})
    ("pause",) ("resume",) ("stop",)          act on the run within one step
    ("inspect", key, params)                  a model_views job; a newer one with the same key replaces it
    ("quit",)
child → parent:
    ("ready", {"pid": int})                   torch and the trainer imported: a run starts fast
    ("events", [[t, event], ...])             t: time.monotonic() when the trainer reported it
    ("job", key, value, error, seconds)
    ("crashed", message, details)             an exception escaped the trainer (details: traceback)
    ("ended", status)                         fit returned (or crashed); the model stays for inspection

A reader thread takes commands off the pipe, so pause and stop reach the trainer's `Control`
while the main thread trains. Inspection jobs run between two optimizer steps (in `on_event`),
while paused, or between runs: never concurrently with a step. Events are sent in batches about
every 50 ms, at once for the rare ones.
"""
from __future__ import annotations

import os
import queue
import threading
import time
import traceback
from collections import OrderedDict

from .events import Control, EpochEnd, Failed, Finished, Paused, Resumed, RunStarted, Step, Stopped
from .wire import decode, encode

FLUSH_S = 0.05
URGENT = (RunStarted, Paused, Resumed, Finished, Stopped, Failed)   # sent at once; the rest batched
JOB_AFTER = (Step, EpochEnd, Finished, Stopped)                     # moments the model is consistent
JOB_GAP_S = 0.25     # while training, jobs at most ~4 times a second: they cost training time
WARM = ("torch", "layerlab.core.data", "layerlab.core.train.trainer", "layerlab.core.train.checks",
        "layerlab.core.train.saliency", "layerlab.core.train.inspection", "captum.attr")


class ChildControl(Control):
    """Control whose pause keeps answering inspection requests (the model is consistent then)."""

    def __init__(self, server: "Server"):
        super().__init__()
        self._server = server

    def wait(self, timeout: float | None = None) -> bool:
        while not self._running.wait(0.05):
            self._server.run_jobs(force=True)
        return True


class Server:
    def __init__(self, conn):
        self.conn = conn
        self.send_lock = threading.Lock()
        self.commands: queue.Queue = queue.Queue()
        self.jobs: OrderedDict[str, dict] = OrderedDict()
        self.jobs_lock = threading.Lock()
        self.control: Control | None = None
        self.trainer = None
        self.pending: list = []
        self.last_flush = self.last_job = 0.0

    def send(self, msg) -> None:
        data = encode(msg)
        with self.send_lock:
            self.conn.send_bytes(data)

    # ------------------------------------------------------------ reader thread
    def read(self) -> None:
        while True:
            try:
                msg = decode(self.conn.recv_bytes())
            except (EOFError, OSError):      # the parent is gone: stop the run and leave
                msg = ["quit"]
            kind = msg[0]
            control = self.control
            if kind in ("pause", "resume", "stop"):
                if control is not None:
                    getattr(control, kind)()
            elif kind == "inspect":
                with self.jobs_lock:
                    self.jobs.pop(msg[1], None)
                    self.jobs[msg[1]] = msg[2]
                self.commands.put(["poke"])
            else:
                if kind == "quit" and control is not None:
                    control.stop()
                self.commands.put(msg)
                if kind == "quit":
                    return

    # ------------------------------------------------------------ main thread
    def loop(self) -> None:
        while True:
            msg = self.commands.get()
            if msg[0] == "quit":
                return
            if msg[0] == "train":
                self.train(msg[1])
            self.run_jobs(force=True)

    def train(self, req: dict) -> None:
        from ..project import Project
        from .trainer import Trainer
        self.trainer = None
        self.control = ChildControl(self)
        status = "failed"
        try:
            project = Project.from_dict(req["project"])
            self.trainer = Trainer(project, None, req.get("base_dir"), run_dir=req.get("run_dir"),
                                   resume_from=req.get("resume_from"))
            status = self.trainer.fit(self.on_event, self.control).status
        except Exception as e:  # noqa: BLE001 - a bug in the engine: reported, the process stays
            self.flush()
            self.send(("crashed", f"{type(e).__name__}: {e}", traceback.format_exc()))
        finally:
            self.flush()
            self.control = None
        self.send(("ended", status))

    def on_event(self, ev) -> None:
        self.pending.append((time.monotonic(), ev))
        if self.jobs and isinstance(ev, JOB_AFTER):
            self.run_jobs(force=not isinstance(ev, Step))
        now = time.monotonic()
        if isinstance(ev, URGENT) or now - self.last_flush >= FLUSH_S:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.send(("events", batch))
        self.last_flush = now or time.monotonic()

    def run_jobs(self, force: bool) -> None:
        from .model_views import run_job
        if not force and time.monotonic() - self.last_job < JOB_GAP_S:
            return
        while True:
            with self.jobs_lock:
                if not self.jobs:
                    break
                key, params = self.jobs.popitem(last=False)
            value, error, seconds = run_job(self.trainer, key, params)
            self.send(("job", key, value, error, seconds))
        self.last_job = time.monotonic()


def warm_up() -> None:
    import importlib
    for name in WARM:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the run that needs it reports the error itself
            pass
    try:
        warm_step()
    except Exception:  # noqa: BLE001 - as above
        pass


def warm_step() -> None:
    """One backward pass and one step of each optimizer on a throw-away parameter, with the same
    stand-in for torch's compiler a run uses (lazy_dynamo): the first backward initialises
    autograd's engine and each optimizer's first build and step pay one-time costs. Done here,
    while the app idles, instead of between the Train click and the first point."""
    import dataclasses

    import torch

    from ..specs import OPTIMIZERS, TrainSpec
    from . import lazy_dynamo
    from .optim import build_optimizer
    lazy_dynamo.install()   # as Trainer does: the warm step must not import the compiler it keeps out
    model = torch.nn.Module()   # zeros, not a Linear's random init: the global RNG stays as it was
    model.w, model.b = torch.nn.Parameter(torch.zeros(2, 2)), torch.nn.Parameter(torch.zeros(2))
    x, y = torch.ones(2, 2), torch.tensor([0, 1])
    for name in OPTIMIZERS:
        opt = build_optimizer(dataclasses.replace(TrainSpec(), optimizer=name), model)
        torch.nn.functional.cross_entropy(x @ model.w + model.b, y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


def serve(conn) -> None:
    """Entry point of the spawned process."""
    warm_up()
    server = Server(conn)
    try:
        server.send(("ready", {"pid": os.getpid()}))
    except (OSError, EOFError):
        return
    threading.Thread(target=server.read, name="layerlab-commands", daemon=True).start()
    try:
        server.loop()
    except (OSError, EOFError):   # the parent went away mid-send
        pass


if __name__ == "__main__":
    import sys
    from multiprocessing.connection import Connection
    serve(Connection(int(sys.argv[1])))
