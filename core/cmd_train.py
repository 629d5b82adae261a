"""`layerlab train PROJECT [--epochs N] [--device D] [--seed S] [--out DIR] [--json] [--resume RUN]`.

Trains headless and writes a run folder. A progress line with ETA goes to stderr (updated in
place on a terminal, one line per epoch otherwise); the final metrics go to stdout, or with --json
one JSON object per epoch and one for the end. Ctrl-C stops after the current step and keeps the
run folder (exit 130); a second Ctrl-C aborts at once. Exit 2: the project, data or settings are
unusable (each problem on one line); exit 1: training diverged.
"""
from __future__ import annotations

import json
import math
import signal
import sys
import time
from pathlib import Path

from .cli import CliError, load_project_or_exit


def register(sub) -> None:
    p = sub.add_parser("train", help="train a project's network and write a run folder")
    p.add_argument("project", help="a *.layerlab.json file")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="override training.device")
    p.add_argument("--seed", type=int, help="override training.seed")
    p.add_argument("--out", metavar="DIR", help="the run folder to write (default: PROJECT_DIR/runs/TIME-NAME)")
    p.add_argument("--resume", metavar="RUN", help="continue a run folder from its last checkpoint")
    p.add_argument("--json", action="store_true", help="print one JSON object per epoch and one at the end")
    p.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="train with N DistributedDataParallel workers via torchrun (gloo on CPU, nccl on CUDA)")
    p.set_defaults(func=run)


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(seconds + 0.5)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class Progress:
    """The stderr progress line: epoch, bar, loss, throughput, ETA."""

    def __init__(self, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.total_steps = self.done0 = 0
        self.t0 = time.perf_counter()
        self.last_draw = 0.0
        self.epochs = 0
        self.drawn = False

    def start(self, e) -> None:
        self.epochs, self.spe = e.total_epochs, e.steps_per_epoch
        self.done0 = (e.start_epoch - 1) * e.steps_per_epoch
        self.total_steps = e.total_epochs * e.steps_per_epoch
        self.t0 = time.perf_counter()

    def eta(self, step: int) -> float:
        done = step - self.done0
        return (time.perf_counter() - self.t0) / done * (self.total_steps - step) if done > 0 else math.inf

    def line(self, epoch: int, step: int, loss: float, rate: float) -> str:
        frac = min(step / self.total_steps, 1.0) if self.total_steps else 0.0
        fill = int(frac * self.width)
        return (f"epoch {epoch}/{self.epochs} [{'#' * fill}{'.' * (self.width - fill)}] {frac:4.0%} "
                f"loss {loss:.4g} · {rate:,.0f} samples/s · ETA {_clock(self.eta(step))}")

    def step(self, e) -> None:
        if not self.tty:
            return
        now = time.perf_counter()
        if now - self.last_draw < 0.1:
            return
        self.last_draw = now
        self.stream.write("\r\x1b[K" + self.line(e.epoch, e.step, e.loss, e.samples_per_s))
        self.stream.flush()
        self.drawn = True

    def epoch(self, e) -> None:
        metrics = " ".join(f"{k} {v:.4f}" for k, v in e.metrics.items())
        text = (f"epoch {e.epoch}/{self.epochs}: train_loss {e.train_loss:.4f} val_loss {e.val_loss:.4f} {metrics} "
                f"({e.seconds:.2f} s)")
        prefix = "\r\x1b[K" if self.tty else ""
        self.stream.write(f"{prefix}{text} · ETA {_clock(self.eta(e.epoch * self.spe))}\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _jsonable(obj):
    from .train.runs import _finite
    return _finite(obj)


def run(args) -> int:
    from .train import Control, Trainer
    from .train.events import EpochEnd, Failed, Finished, RunStarted, Step, Stopped

    project = load_project_or_exit(args.project)
    t = project.training
    for key in ("epochs", "device", "seed"):
        value = getattr(args, key)
        if value is not None:
            setattr(t, key, value)
    out = Path(args.out) if args.out else None
    if out is not None and not args.resume and (out / "metrics.csv").exists():
        raise CliError(f"{out} already holds a run: pick another --out folder, or continue it with --resume {out}", 2)
    if args.resume and not Path(args.resume).is_dir():
        raise CliError(f"{args.resume}: no such run folder", 2)
    if getattr(args, "nproc", 1) != 1:
        if args.nproc < 1:
            raise CliError(f"--nproc needs a whole number ≥ 1 (got {args.nproc})", 2)
        if args.resume and args.out and Path(args.out).resolve() != Path(args.resume).resolve():
            raise CliError("--nproc --resume continues the run in its own folder: leave out --out", 2)
        from .distributed import launch
        return launch(args.project, args.nproc, args)

    from .data.paths import outside_project
    for path in outside_project(project.data, Path(args.project).resolve().parent):
        print(f"reading data from outside the project's folder: {path}", file=sys.stderr)
    progress = Progress()
    control = Control()
    final: dict = {}

    def on_event(e) -> None:
        if isinstance(e, Step):
            progress.step(e)
        elif isinstance(e, RunStarted):
            progress.start(e)
            if not args.json:
                from .train.init_loss import describe
                print(f"training {project.name} on {e.device}: {e.n_train:,} train / {e.n_val:,} val / "
                      f"{e.n_test:,} test samples, {e.total_epochs} epochs, "
                      f"{describe(t.loss, vars(e))} → {e.run_dir}", file=sys.stderr)
            else:
                print(json.dumps(_jsonable({"event": "start", "loss_at_init": e.loss_at_init,
                                            "expected_loss_at_init": e.expected_loss_at_init})), flush=True)
            for note in e.config.get("dataset", {}).get("notes", []) + e.config.get("notes", []):
                print(f"note: {note}", file=sys.stderr)   # rows filled or dropped, split fall-backs
        elif isinstance(e, EpochEnd):
            progress.epoch(e)
            if args.json:
                print(json.dumps(_jsonable({"event": "epoch", "epoch": e.epoch, "train_loss": e.train_loss,
                                            "val_loss": e.val_loss, **e.metrics, "lr": e.lr, "seconds": e.seconds,
                                            "best_epoch": e.best_epoch})), flush=True)
        elif isinstance(e, (Finished, Stopped, Failed)):
            progress.clear()
            final["event"] = e

    def on_sigint(signum, frame):
        if control.stopped:          # second Ctrl-C: abort now
            raise KeyboardInterrupt
        control.stop()
        print("\nstopping after this step (Ctrl-C again to abort)…", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = Trainer(project, base_dir=Path(args.project).resolve().parent, run_dir=out,
                         resume_from=args.resume).fit(on_event, control)
    finally:
        signal.signal(signal.SIGINT, previous)

    event = final.get("event")
    if isinstance(event, Failed) and event.problems:
        for p in event.problems:
            print(f"layerlab train: {p.severity}: {p}", file=sys.stderr)
        if args.json:
            print(json.dumps(_jsonable({"event": "failed", "message": event.message, "fix": event.fix})), flush=True)
        return 2
    if args.json:
        print(json.dumps(_jsonable({"event": result.status, **result.to_dict()})), flush=True)
    elif result.status == "failed" and result.run_dir:   # without a run folder the CliError below says it
        print(f"layerlab train: {result.message}" + (f": {result.fix}" if result.fix else ""), file=sys.stderr)
    if result.status == "failed" and not result.run_dir:
        raise CliError(f"{result.message}: {result.fix}" if result.fix else result.message, 2)
    if result.status == "failed":
        if not args.json:
            print(f"run folder (best checkpoint kept): {result.run_dir}")
        return 1
    if not args.json:
        metrics = {**result.val_metrics, **result.test_metrics}
        for k, v in metrics.items():
            print(f"{k:<14} {v:.4f}")
        best = f"best epoch {result.best_epoch} ({result.monitor} {result.best_value:.4f})" if result.best_epoch else ""
        restored = f", weights restored from epoch {result.restored_epoch}" if result.restored_epoch else ""
        print(f"{result.status} after {result.epochs_run} epoch(s) in {result.seconds:.1f} s; {best}{restored}")
        print(f"run folder: {result.run_dir}")
    return 130 if result.status == "stopped" else 0
