"""The trainer: `Trainer(project, dataset).fit(on_event, control) -> RunResult`.

Runs in the calling thread and knows nothing of Qt. It reports plain dataclass events
(events.py) through `on_event`, polls `control` every step, and writes a run folder (runs.py).
Before the first step it runs `preflight` and refuses to start on an error (a Failed event that
carries the problems). A non-finite loss stops the run at once: the first layer whose weights or
activations went non-finite is named, the best checkpoint on disk stays as it was, and `last`
is not overwritten with the broken weights.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import torch

from .epochs import Best, EpochHooks, run_epochs
from .events import Control, DiagnosisEvent, EpochEnd, Failed, Finished, RunResult, RunStarted, Stopped
from .loop import LoopState, grad_norms, layer_weights, update_ratios
from .metrics import evaluate
from .optim import lr_curve
from .runs import RunError, RunFolder, new_run_dir
from . import hooks

CHECKPOINT_INTERVAL = 2.0   # seconds between writes of last / best weights (always at the end)


class Trainer(EpochHooks):
    """One process's run; as the epoch loop's hooks (epochs.py) it adds pause/stop, Step and
    EpochEnd events, probes and diagnoses, checkpoints and the run folder."""

    def __init__(self, project, dataset=None, base_dir=None, run_dir=None, resume_from=None):
        self.project = project
        self.dataset = dataset
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.resume_from = Path(resume_from) if resume_from is not None else None
        self.setup = None           # setup.Setup once fit() has started
        self.t0 = time.perf_counter()
        self.history: list[dict[str, float]] = []
        self.train_time = 0.0
        self.train_samples = 0
        self.result: RunResult | None = None

    @property
    def model(self):
        return self.setup.compiled.module if self.setup is not None else None

    # ------------------------------------------------------------ public
    def fit(self, on_event: Callable[[Any], None] | None = None, control: Control | None = None) -> RunResult:
        self._emit = on_event or (lambda event: None)
        self.control = control or Control()
        spec = self.project.training
        try:
            self._prepare()
        except _Refused as e:
            result = RunResult("failed", "", total_epochs=spec.epochs, monitor=spec.monitor,
                               message=e.message, fix=e.fix)
            self._emit(Failed(e.message, e.fix, result, problems=e.problems))
            self.result = result
            return result
        from .setup import num_threads
        with num_threads(self.setup.threads):
            try:
                return self._run()
            except torch.OutOfMemoryError:
                return self._crashed("the device ran out of memory",
                                     f"lower training.batch_size (now {spec.batch_size}) or use a smaller network")
            except Exception as e:   # a bug: report it as an event too, so a GUI never waits forever
                self._crashed(f"training stopped by an internal error: {type(e).__name__}: {e}",
                              "please report this with the run folder's config.json")
                raise
            finally:
                self.folder.close()

    # ------------------------------------------------------------ preparation
    def _prepare(self) -> None:
        from .checks import before_training
        from . import lazy_dynamo

        lazy_dynamo.install()       # torch.optim would import torch's compiler: about as long as torch, unused in eager
        spec = self.project.training
        if self.dataset is None:
            try:
                from ..data import load
            except ImportError as e:  # pragma: no cover - data package missing
                raise _Refused(f"data loading is unavailable ({e})", "reinstall LayerLab") from None
            try:
                self.dataset = load(self.project.data, self.base_dir)
            except ValueError as e:   # DataError: "cause: fix" on one line
                cause, _, fix = str(e).rpartition(": ")
                raise _Refused(f"the data could not be loaded: {cause or fix}", fix if cause else "") from None
        problems = before_training(self.project, self.dataset, self.base_dir)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
            raise _Refused(first.message + more, first.fix, problems)
        self.warnings = problems
        self.confusions: dict = {}      # split -> its latest confusion matrix (result.json's class_report)
        self.last_val: dict | None = None   # the last planned epoch's validation outputs (end_report)
        self.setup = s = self._build()
        self.generator = torch.Generator().manual_seed(spec.seed)
        self.layers = layer_weights(s.compiled)
        self.history: list[dict[str, float]] = []
        self.diagnostics: list[dict[str, Any]] = []
        self.best = Best(s.monitor, spec.min_delta, spec.patience, spec.early_stopping)
        self.start_epoch = 1
        self.global_step = 0
        # the run folder
        if self.resume_from is not None and self.run_dir is None:
            self.run_dir = self.resume_from
        if self.run_dir is None:
            root = (self.base_dir or Path.cwd()) / "runs"
            self.run_dir = new_run_dir(root, self.project.name)
        self.folder = RunFolder(self.run_dir).create()
        if self.resume_from is not None:
            try:
                self._resume()
            except (RunError, ValueError) as e:
                raise _Refused(f"cannot resume from {self.resume_from}: {e}",
                               getattr(e, "fix", "start a new run instead")) from None
        else:
            self.folder.open_metrics(self._columns())
        self._plan_compile()
        s.config["resumed_from"] = str(self.resume_from) if self.resume_from else None
        s.config["start_epoch"] = self.start_epoch
        s.config["warnings"] = [str(p) for p in problems]
        self.folder.write_project(self.project)
        self.folder.write_json("config.json", s.config)
        pre = getattr(self.dataset, "preprocessor", None)
        self.folder.write_json("preprocessing.json", pre.to_dict() if pre is not None else {"kind": "none"})

    def _build(self):
        """setup.build, or refused in one line when the start weights are there but do not load."""
        from ..weights import WeightsError
        from .freeze import START_WEIGHTS_FIX
        from .setup import build
        try:
            return build(self.project, self.dataset, self.base_dir)
        except WeightsError as e:       # crafted or truncated: preflight only checks that the file exists
            raise _Refused(f"the start weights cannot be loaded: {e}", START_WEIGHTS_FIX) from None

    def _plan_compile(self) -> None:
        """Eager or compiled steps (compile_step.py); config.json's resolved.compile is its note."""
        from .compile_step import CompilePlan
        s, spec = self.setup, self.project.training
        self.compile_plan = CompilePlan(spec.compile, s.compiled.module, s.device, spec.epochs - self.start_epoch + 1,
                                        s.steps_per_epoch)
        s.config["resolved"]["compile"] = self.compile_plan.note
        self.compile_plan.changed = False

    def _columns(self) -> list[str]:
        return ["epoch", "train_loss", "val_loss", *self.setup.metric_names, "lr", "seconds"]

    def _resume(self) -> None:
        from .resume_state import load_best, restore
        src = RunFolder(self.resume_from)
        if src.path.resolve() != self.folder.path.resolve():     # continuing into another folder
            import shutil
            for name in ("metrics.csv", "best.safetensors", "diagnostics.json"):
                if src.file(name).is_file():
                    shutil.copy2(src.file(name), self.folder.file(name))
        t, _ = restore(src, self.setup, self.generator, self.project.training.epochs)
        done = int(t.get("epoch", 0))
        self.start_epoch, self.global_step = done + 1, int(t.get("global_step", 0))
        self.best.value, self.best.epoch = t.get("best_value"), int(t.get("best_epoch", 0))
        self.best.bad = int(t.get("bad_epochs", 0))
        self.best.state, self.best.dirty = load_best(src, self.setup.compiled), False
        self.history = [r for r in src.read_metrics() if r.get("epoch", 0) <= done]
        self.folder.open_metrics(self._columns(), keep_until=done)

    # ------------------------------------------------------------ the run
    def _run(self) -> RunResult:
        s, spec = self.setup, self.project.training
        self.t0 = time.perf_counter()
        self.train_time = 0.0
        self.train_samples = 0
        self.last_flush = time.perf_counter()
        from . import init_loss
        self.init_loss = init_loss.at_start(self)
        self._emit(self._started())
        self.probe = hooks.Probes(self, s)
        if self.start_epoch == 1:
            self.probe.at_init()
        loop = LoopState(model=s.compiled.module, loss_fn=s.loss_fn, optimizer=s.optimizer, x=s.data["x_train"],
                         y=s.data["y_train"], batch_size=spec.batch_size, generator=self.generator,
                         device=s.device, emit=self._emit, control=self.control,
                         scheduler=s.scheduler if s.per_step else None, regularizer=s.regularizer,
                         autocast=s.autocast, scaler=s.scaler, ratio_weights=[w for _, ws in self.layers for w in ws],
                         global_step=self.global_step, lr_of=lambda: float(s.optimizer.param_groups[0]["lr"]),
                         memory_format=s.memory_format, sample_cdf=s.sample_cdf, augment=s.augment)
        self.loop = loop
        end = run_epochs(loop, self, self.best, s.compiled.module, s.scheduler, s.per_step, s.metric_names, spec.epochs,
                         self.start_epoch, s.validate_every)
        self.global_step = loop.global_step
        if end.status == "diverged":
            return self._diverged(end.epochs_run + 1, end.outcome)
        return self._finish(end.status, end.epochs_run, stopped_early=end.stopped_early)

    def _started(self) -> RunStarted:
        s, spec = self.setup, self.project.training
        return RunStarted(run_dir=str(self.run_dir), config=s.config, steps_per_epoch=s.steps_per_epoch,
                          total_epochs=spec.epochs, start_epoch=self.start_epoch, n_train=len(s.data["x_train"]),
                          n_val=len(s.data["x_val"]), n_test=len(s.data["x_test"]), device=str(s.device),
                          task=self.dataset.task, metric_names=list(s.metric_names),
                          lrs=lr_curve(spec, 1, per="epoch") if spec.epochs <= 10_000 else [],
                          loss_at_init=self.init_loss.get("loss_at_init"),
                          expected_loss_at_init=self.init_loss.get("expected_loss_at_init"))

    # ------------------------------------------------------------ the epoch loop's hooks
    def stop_requested(self) -> bool:
        return self.control.pending and self.control.stopped

    def train(self, loop, epoch: int):
        out = self.compile_plan.train(loop, epoch)     # eager or compiled steps (compile_step.py)
        self._compile_noted(epoch)
        return out

    def _compile_noted(self, epoch: int) -> None:
        """A compile decision: config.json says what and why; a compile started or undone is also
        an info line in the diagnostics (a long compile would otherwise look like a stalled run)."""
        plan = self.compile_plan
        if not plan.changed:
            return
        plan.changed = False
        self.folder.write_json("config.json", self.setup.config)
        if plan.tried:
            from .diagnosis import Diagnosis
            from .hooks import _as_dict
            diag = Diagnosis("compile", "info", None, f"torch.compile of the training step: {plan.note['decision']}",
                             "Training ▸ Compile step: off trains eager steps only")
            self.diagnostics.append(_as_dict(diag, epoch))
            self._emit(DiagnosisEvent(epoch=epoch, diagnoses=[diag]))

    def evaluate(self, split: str) -> dict[str, float]:
        # the planned last epoch's validation outputs: end_report reuses them if the weights stay
        last = split == "val" and len(self.history) + 1 == self.project.training.epochs
        self.last_val = {} if last else None
        return self._evaluate(f"{split}_", outputs=self.last_val)

    def epoch_end(self, row, out, improved, samples, seconds) -> None:
        end = self._record(row, samples, seconds, improved, grad_norms(self.layers),
                           update_ratios(self.layers, out.before))
        last_epoch = end.epoch == self.project.training.epochs or self.best.exhausted
        self.probe.at_epoch(end, force=last_epoch)
        self._maybe_flush(end.epoch, force=last_epoch)

    def epoch_unvalidated(self, row, out, samples, seconds) -> None:
        """An epoch between validations: its row and a lean EpochEnd (no figures), no probes."""
        self._record(row, samples, seconds, False, {}, {})
        self._maybe_flush(row["epoch"])

    def _record(self, row, samples, seconds, improved, norms, ratios) -> EpochEnd:
        """An epoch's row in the history and metrics.csv, and its EpochEnd event (returned)."""
        self.global_step = self.loop.global_step
        self.train_time += seconds
        self.train_samples += samples
        self.history.append(row)
        self.folder.append_metrics(row)
        best = self.best
        end = EpochEnd(epoch=row["epoch"], train_loss=row["train_loss"], val_loss=row["val_loss"],
                       metrics={k: row[k] for k in self.setup.metric_names}, lr=row["lr"], grad_norms=norms,
                       update_ratios=ratios, seconds=seconds, best_epoch=best.epoch, improved=improved,
                       patience_left=best.patience_left, samples_per_s=samples / max(seconds, 1e-9))
        self._emit(end)
        return end

    def _evaluate(self, prefix: str, outputs: dict | None = None) -> dict[str, float]:
        s, split = self.setup, prefix.rstrip("_")
        return evaluate(s.compiled.module, s.loss_fn, s.data[f"x_{split}"], s.data[f"y_{split}"],
                        self.dataset.task, int(self.dataset.num_classes or 0), s.predict, s.transform,
                        batch=s.eval_batch, autocast=s.autocast, prefix=prefix, confusions=self.confusions,
                        outputs=outputs)

    # ------------------------------------------------------------ checkpoints
    def _maybe_flush(self, epoch: int, force: bool = False) -> None:
        if force or time.perf_counter() - self.last_flush >= CHECKPOINT_INTERVAL:
            self.folder.flush_metrics()      # the rows up to the state `last` saves (resume keeps them)
            self._flush_best()
            self._save_last(epoch)
            self.folder.write_json("diagnostics.json", self.diagnostics)
            self.last_flush = time.perf_counter()

    def _flush_best(self) -> None:
        best = self.best
        if best.dirty and best.state is not None:
            self.folder.save_state_dict(self.setup.compiled, best.state, "best",
                                        {"epoch": str(best.epoch), "monitor": self.setup.monitor,
                                         "value": repr(best.value)})
            best.dirty = False

    def _save_last(self, epoch: int) -> None:
        from .setup import rng_state
        s = self.setup
        self.folder.save_weights(s.compiled, "last", {"epoch": str(epoch)})
        state = {"epoch": epoch, "global_step": self.global_step, "best_value": self.best.value,
                 "best_epoch": self.best.epoch, "bad_epochs": self.best.bad}
        self.folder.save_state(s.optimizer, s.scheduler, state, rng_state(s.device, self.generator))

    # ------------------------------------------------------------ endings
    def _result(self, status: str, epochs_run: int, **kw) -> RunResult:
        spec, s = self.project.training, self.setup
        last = self.history[-1] if self.history else {}
        val = {k: v for k, v in last.items() if k.startswith("val_")}
        return RunResult(status=status, run_dir=str(self.run_dir), epochs_run=epochs_run, total_epochs=spec.epochs,
                         monitor=s.monitor, best_epoch=self.best.epoch, best_value=self.best.value, val_metrics=val,
                         seconds=time.perf_counter() - self.t0,
                         samples_per_s=self.train_samples / self.train_time if self.train_time else 0.0,
                         loss_at_init=getattr(self, "init_loss", {}).get("loss_at_init"),
                         expected_loss_at_init=getattr(self, "init_loss", {}).get("expected_loss_at_init"), **kw)

    def _finish(self, status: str, epochs_run: int, stopped_early: bool = False) -> RunResult:
        spec, s = self.project.training, self.setup
        if status == "stopped":
            self._save_last(epochs_run)
        self.compile_plan.finish()
        self._compile_noted(epochs_run)
        restored = self.best.restore(s.compiled.module, epochs_run, spec.restore_best)
        self._flush_best()
        # outputs end_report reuses: the final test pass's, and the last epoch's validation pass's
        # when the weights are still those it saw (a finished run, no earlier epoch restored)
        same = status == "finished" and restored in (None, epochs_run)
        kept: dict = dict(self.last_val or {}) if same else {}
        self.last_val = None
        test = self._evaluate("test_", outputs=kept)
        from .end_report import end_report
        result = self._result(status, epochs_run, restored_epoch=restored, stopped_early=stopped_early,
                              test_metrics=test, message="stopped by the user" if status == "stopped" else "",
                              **end_report(self.project, self.dataset, s, self.confusions, kept))
        self.folder.write_json("diagnostics.json", self.diagnostics)
        self.folder.write_json("result.json", result.to_dict())
        self.result = result
        self._emit(Stopped(result) if status == "stopped" else Finished(result))
        return result

    def _diverged(self, epoch: int, out) -> RunResult:
        s, spec = self.setup, self.project.training
        x = out.bad_batch[0]
        name, what = hooks.nonfinite_layer(self, x)
        node = self.project.graph.by_name(name) if name else None
        label = node.label if node is not None else name
        where = {"weights": f"{label} was the first layer whose weights became non-finite",
                 "activations": f"{label} was the first layer whose outputs overflowed",
                 "input": "the input batch itself holds NaN or Inf values",
                 "loss": "every layer stayed finite: the loss itself overflowed"}[what]
        lr = float(s.optimizer.param_groups[0]["lr"])
        message = f"Training diverged in epoch {epoch} (step {self.global_step}): the loss became NaN or Inf; {where}"
        if what == "input":
            fix = "clean the data (or set data.options.impute) and standardize the features"
        else:
            fix = (f"lower the learning rate (now {lr:g}; try {lr / 10:g}), clip gradients (clip = norm, "
                   "clip_value = 1), or use a gentler init (auto)")
            if s.autocast is not None:
                fix += ", or turn mixed precision off"
        diag = {"epoch": epoch, "code": "nan", "severity": "error", "layer": name, "message": message, "fix": fix}
        self.diagnostics.append(diag)
        self._flush_best()               # the in-memory best is finite; `last` keeps its previous, finite weights
        result = self._result("failed", epoch - 1, message=message, fix=fix)
        self.folder.write_json("diagnostics.json", self.diagnostics)
        self.folder.write_json("result.json", result.to_dict())
        self.result = result
        hooks.emit_nonfinite(self, epoch, name, message, fix)
        self._emit(Failed(message, fix, result, layer=name))
        return result

    def _crashed(self, message: str, fix: str) -> RunResult:
        self._flush_best()
        result = self._result("failed", len(self.history), message=message, fix=fix)
        self.folder.write_json("result.json", result.to_dict())
        self.result = result
        self._emit(Failed(message, fix, result))
        return result


class _Refused(Exception):
    def __init__(self, message: str, fix: str = "", problems=None):
        super().__init__(message)
        self.message, self.fix, self.problems = message, fix, list(problems or [])
