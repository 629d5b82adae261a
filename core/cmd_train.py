"""`layerlab train PROJECT [--epochs N] [--device D] [--seed S] [--out DIR] [--json] [--resume RUN]
[--calibrate] [--class-weights none|balanced|W1,W2,...] [--sampler none|balanced] [--nproc N]`.

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
from .specs import COMPILE


def register(sub) -> None:
    p = sub.add_parser("train", help="train a project's network and write a run folder")
    p.add_argument("project", help="a *.layerlab.json file")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="override training.device")
    p.add_argument("--seed", type=int, help="override training.seed")
    p.add_argument("--out", metavar="DIR", help="the run folder to write (default: PROJECT_DIR/runs/TIME-NAME)")
    p.add_argument("--resume", metavar="RUN", help="continue a run folder from its last checkpoint")
    p.add_argument("--json", action="store_true", help="print one JSON object per epoch and one at the end")
    p.add_argument("--calibrate", action="store_true",
                   help="afterwards fit a temperature on the validation split (as `layerlab calibrate RUN`)")
    p.add_argument("--compile", choices=COMPILE,
                   help="override training.compile: torch.compile of the step; auto compiles a long run and keeps "
                        "it only where its steps measure faster (config.json's resolved.compile says why)")
    p.add_argument("--sync-bn", action="store_true",
                   help="with --nproc: BatchNorm statistics over the global batch (training.sync_batchnorm)")
    p.add_argument("--class-weights", metavar="none|balanced|W1,W2,...",
                   help="override training.class_weights: none, balanced (n / (k · class count)) or one weight "
                        "per class in class order (custom), e.g. 1,19")
    p.add_argument("--sampler", choices=("none", "balanced"),
                   help="override training.sampler: none (plain shuffle) or balanced (each class drawn equally often)")
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


def _apply_overrides(project, args) -> None:
    """--epochs, --device, --seed, --compile, --class-weights and --sampler replace the project's training
    settings; a value no setting can hold is refused in one line (exit 2)."""
    from .train.imbalance import apply_flags
    for key in ("epochs", "device", "seed", "compile"):
        value = getattr(args, key)
        if value is not None:
            setattr(project.training, key, value)
    try:
        apply_flags(project.training, getattr(args, "class_weights", None), getattr(args, "sampler", None))
    except ValueError as e:
        raise CliError(str(e), 2) from None


def _check_run_folders(args, out: Path | None) -> None:
    """Refuse (exit 2) an --out that already holds a run unless resuming, and a missing --resume folder."""
    if out is not None and not args.resume and (out / "metrics.csv").exists():
        raise CliError(f"{out} already holds a run: pick another --out folder, or continue it with --resume {out}", 2)
    if args.resume and not Path(args.resume).is_dir():
        raise CliError(f"{args.resume}: no such run folder", 2)


def _print_start(project, e, as_json: bool) -> None:
    """The run's opening line (stderr) or JSON start object (stdout), then the dataset's notes."""
    if not as_json:
        from .train.init_loss import describe
        print(f"training {project.name} on {e.device}: {e.n_train:,} train / {e.n_val:,} val / "
              f"{e.n_test:,} test samples, {e.total_epochs} epochs, "
              f"{describe(project.training.loss, vars(e))} → {e.run_dir}", file=sys.stderr)
    else:
        print(json.dumps(_jsonable({"event": "start", "loss_at_init": e.loss_at_init,
                                    "expected_loss_at_init": e.expected_loss_at_init})), flush=True)
    for note in e.config.get("dataset", {}).get("notes", []) + e.config.get("notes", []):
        print(f"note: {note}", file=sys.stderr)   # rows filled or dropped, split fall-backs


def _event_printer(project, args, progress: Progress, final: dict):
    """The trainer's event callback: drives the progress line and prints per-epoch output; the
    closing event (finished, stopped or failed) lands in final["event"]."""
    from .train.events import EpochEnd, Failed, Finished, RunStarted, Step, Stopped

    def on_event(e) -> None:
        if isinstance(e, Step):
            progress.step(e)
        elif isinstance(e, RunStarted):
            progress.start(e)
            _print_start(project, e, args.json)
        elif isinstance(e, EpochEnd):
            progress.epoch(e)
            if args.json:
                print(json.dumps(_jsonable({"event": "epoch", "epoch": e.epoch, "train_loss": e.train_loss,
                                            "val_loss": e.val_loss, **e.metrics, "lr": e.lr, "seconds": e.seconds,
                                            "best_epoch": e.best_epoch})), flush=True)
        elif isinstance(e, (Finished, Stopped, Failed)):
            progress.clear()
            final["event"] = e
    return on_event


def _fit_with_sigint(project, args, out: Path | None, on_event):
    """Fit with Ctrl-C wired to a graceful stop (a second Ctrl-C aborts); the previous SIGINT
    handler comes back afterwards."""
    from .train import Control, Trainer
    control = Control()

    def on_sigint(signum, frame):
        if control.stopped:          # second Ctrl-C: abort now
            raise KeyboardInterrupt
        control.stop()
        print("\nstopping after this step (Ctrl-C again to abort)…", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return Trainer(project, base_dir=Path(args.project).resolve().parent, run_dir=out,
                       resume_from=args.resume).fit(on_event, control)
    finally:
        signal.signal(signal.SIGINT, previous)


def _report_problems(event, as_json: bool) -> None:
    """A run refused for its settings: each problem on one line (and a JSON failed object)."""
    for p in event.problems:
        print(f"layerlab train: {p.severity}: {p}", file=sys.stderr)
    if as_json:
        print(json.dumps(_jsonable({"event": "failed", "message": event.message, "fix": event.fix})), flush=True)


def _print_summary(result) -> None:
    """The final metrics, best epoch and run folder of a finished or stopped run (plain output)."""
    metrics = {**result.val_metrics, **result.test_metrics}
    for k, v in metrics.items():
        print(f"{k:<14} {v:.4f}")
    best = f"best epoch {result.best_epoch} ({result.monitor} {result.best_value:.4f})" if result.best_epoch else ""
    restored = f", weights restored from epoch {result.restored_epoch}" if result.restored_epoch else ""
    print(f"{result.status} after {result.epochs_run} epoch(s) in {result.seconds:.1f} s; {best}{restored}")
    print(f"run folder: {result.run_dir}")


def _report_result(result, as_json: bool) -> int:
    """Print the outcome and return the exit code: 0 finished, 130 stopped, 1 diverged (run
    folder kept); a failure without a run folder is a CliError (exit 2)."""
    if as_json:
        print(json.dumps(_jsonable({"event": result.status, **result.to_dict()})), flush=True)
    elif result.status == "failed" and result.run_dir:   # without a run folder the CliError below says it
        print(f"layerlab train: {result.message}" + (f": {result.fix}" if result.fix else ""), file=sys.stderr)
    if result.status == "failed" and not result.run_dir:
        raise CliError(f"{result.message}: {result.fix}" if result.fix else result.message, 2)
    if result.status == "failed":
        if not as_json:
            print(f"run folder (best checkpoint kept): {result.run_dir}")
        return 1
    if not as_json:
        _print_summary(result)
    return 130 if result.status == "stopped" else 0


def run(args) -> int:
    from .train.events import Failed

    project = load_project_or_exit(args.project)
    _apply_overrides(project, args)
    out = Path(args.out) if args.out else None
    _check_run_folders(args, out)
    if getattr(args, "nproc", 1) != 1:
        if args.nproc < 1:
            raise CliError(f"--nproc needs a whole number ≥ 1 (got {args.nproc})", 2)
        if args.resume and args.out and Path(args.out).resolve() != Path(args.resume).resolve():
            raise CliError("--nproc --resume continues the run in its own folder: leave out --out", 2)
        from .distributed import launch
        if not getattr(args, "calibrate", False):
            return launch(args.project, args.nproc, args)
        if not args.resume and not args.out:      # the folder to calibrate once the workers are done
            from .train.runs import new_run_dir
            args.out = str(new_run_dir(Path(args.project).resolve().parent / "runs", project.name))
        code = launch(args.project, args.nproc, args)
        if code != 0:
            return code
        from .cmd_calibrate import calibrate_folder
        return calibrate_folder(args.resume or args.out, Path(args.project).resolve().parent, as_json=args.json)

    from .data.paths import outside_project
    for path in outside_project(project.data, Path(args.project).resolve().parent):
        print(f"reading data from outside the project's folder: {path}", file=sys.stderr)
    final: dict = {}
    result = _fit_with_sigint(project, args, out, _event_printer(project, args, Progress(), final))

    event = final.get("event")
    if isinstance(event, Failed) and event.problems:
        _report_problems(event, args.json)
        return 2
    code = _report_result(result, args.json)
    if getattr(args, "calibrate", False) and result.status == "finished":
        from .cmd_calibrate import calibrate_folder
        return calibrate_folder(result.run_dir, Path(args.project).resolve().parent, as_json=args.json) or code
    return code
