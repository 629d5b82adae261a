"""The sweep worker: claim a slot of the study, train it as ordinary run folders through
`Trainer.fit`, report each epoch's objective to Optuna (which may prune the trial: the run is
stopped through its Control), and tell the study the result. Loops until no slot is left.

A trial's value is the best epoch's objective (the mean over seeds with repeats > 1). A trial
that cannot train (bad values, divergence) is FAIL with its one-line reason in the user
attribute `message`. A trial interrupted by the user goes back into the study as a new WAITING
slot with the same values, so stopping a worker loses no trial.
"""
from __future__ import annotations

import json
import math
import socket
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .space import SpaceError, apply
from .study import SweepConfig, SweepError, claim, claim_lock, open_study, safe_url

TASK_METRICS = {"classification": ("val_loss", "val_accuracy", "val_f1"),
                "regression": ("val_loss", "val_mae", "val_r2")}


@dataclass
class TrialReport:
    number: int
    state: str                        # COMPLETE / PRUNED / FAIL
    value: float | None = None
    std: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    run_dirs: list[str] = field(default_factory=list)
    message: str = ""


class SweepControl:
    """Stops a worker: the running trial within one optimizer step (its run folder is kept and the
    slot goes back to the study), and no further slot is claimed."""

    def __init__(self) -> None:
        self.stopped = False
        self.current = None           # the running trial's core.train.Control

    def stop(self) -> None:
        self.stopped = True
        if self.current is not None:
            self.current.stop()


def objective_of(event, objective: str) -> float:
    value = event.val_loss if objective == "val_loss" else event.metrics.get(objective, math.nan)
    return float(value)


def work(project, url: str, study_name: str, out_dir: str | Path, config: SweepConfig | None = None,
         base_dir: str | Path | None = None, dataset=None, control: SweepControl | None = None,
         on_trial: Callable[[str, Any], None] | None = None, max_trials: int | None = None) -> list[TrialReport]:
    """Run slots of the study until none is left (or `max_trials` ran here, or `control` stops).
    `on_trial(kind, data)`: ("start", (number, params)), ("epoch", (number, seed_index, EpochEnd)),
    ("end", TrialReport)."""
    from .space import current_values
    control = control or SweepControl()
    emit = on_trial or (lambda kind, data: None)
    baseline = None
    if config is not None:
        try:
            baseline = current_values(project, config.space)
        except SpaceError as e:
            raise SweepError(str(e)) from None
    study, config, storage = open_study(url, study_name, config, baseline)
    if dataset is None:
        dataset = _load(project, base_dir)
    allowed = TASK_METRICS.get(dataset.task, ("val_loss",))
    if config.objective not in allowed:
        raise SweepError(f"the objective {config.objective} does not fit a {dataset.task} task: use one of "
                         f"{', '.join(allowed)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports: list[TrialReport] = []
    while not control.stopped and (max_trials is None or len(reports) < max_trials):
        trial = claim(study, storage, url)
        if trial is None:
            break
        report = run_trial(project, study, trial, config, dataset, base_dir, out_dir, control, emit,
                           {"study": study_name, "storage": safe_url(url), "url": url})
        if report is None:            # interrupted: the slot is back in the study
            break
        reports.append(report)
        emit("end", report)
    return reports


def run_trial(project, study, trial, config: SweepConfig, dataset, base_dir, out_dir: Path,
              control: SweepControl, emit, where: dict) -> TrialReport | None:
    from optuna.trial import TrialState
    params: dict[str, Any] = {}
    try:
        params = {r.target: r.suggest(trial) for r in config.space}
        trial.set_user_attr("host", socket.gethostname())
        emit("start", (trial.number, params))
        values, run_dirs, pruned, failure = _run_seeds(project, trial, config, params, dataset, base_dir,
                                                       out_dir, control, emit, where)
    except (SpaceError, ValueError) as e:
        values, run_dirs, pruned, failure = [], [], False, str(e)
    except Exception as e:   # noqa: BLE001 - one broken trial must not end the study
        values, run_dirs, pruned, failure = [], [], False, f"internal error: {type(e).__name__}: {e}"
    trial.set_user_attr("run_dirs", run_dirs)
    if control.stopped and not pruned and failure is None and len(values) < config.repeats:
        trial.set_user_attr("message", "interrupted: the slot was put back into the study")
        with claim_lock(where["url"]):
            study.tell(trial, state=TrialState.FAIL)
            study.enqueue_trial(params)
        return None
    report = TrialReport(trial.number, "FAIL", params=params, run_dirs=run_dirs)
    if failure is not None:
        report.message = failure
        trial.set_user_attr("message", failure)
        study.tell(trial, state=TrialState.FAIL)
    elif pruned:
        report.state = "PRUNED"
        study.tell(trial, state=TrialState.PRUNED)
    else:
        report.state, report.value = "COMPLETE", statistics.fmean(values)
        report.std = statistics.stdev(values) if len(values) > 1 else None
        trial.set_user_attr("seed_values", values)
        if report.std is not None:
            trial.set_user_attr("std", report.std)
        study.tell(trial, report.value)
    return report


def _run_seeds(project, trial, config, params, dataset, base_dir, out_dir, control, emit, where):
    """(per-seed values, run folders, pruned, failure message or None)."""
    from ..train import Control, Trainer
    from ..train.events import EpochEnd
    maximize = config.direction == "maximize"
    values, run_dirs = [], []
    for k in range(config.repeats):
        p = apply(project, params)
        p.training.seed = project.training.seed + k
        if config.epochs:
            p.training.epochs = config.epochs
        name = f"trial-{trial.number:04d}" + (f"-seed{p.training.seed}" if config.repeats > 1 else "")
        run_dir = _free(out_dir / name)
        run_dirs.append(str(run_dir))
        history: list[float] = []
        state = {"pruned": False}
        ctl = Control()
        control.current = ctl

        def on_event(e, k=k, history=history, state=state, ctl=ctl):
            if not isinstance(e, EpochEnd):
                return
            v = objective_of(e, config.objective)
            history.append(v)
            emit("epoch", (trial.number, k, e))
            if k == 0 and math.isfinite(v):
                trial.report(v, e.epoch)
                if trial.should_prune():
                    state["pruned"] = True
                    ctl.stop()

        if control.stopped:
            break
        result = Trainer(p, dataset, base_dir=base_dir, run_dir=run_dir).fit(on_event, ctl)
        control.current = None
        _write_trial_file(run_dir, where, trial.number, params, p.training.seed)
        if state["pruned"]:
            return values, run_dirs, True, None
        if result.status == "failed":
            return values, run_dirs, False, result.message + (f": {result.fix}" if result.fix else "")
        if result.status == "stopped":
            return values, run_dirs, False, None
        finite = [v for v in history if math.isfinite(v)]
        if not finite:
            return values, run_dirs, False, f"no epoch gave a finite {config.objective}"
        values.append(max(finite) if maximize else min(finite))
    return values, run_dirs, False, None


def _free(path: Path) -> Path:
    """A run folder name nobody used yet (a slot put back runs again under a new name)."""
    candidate, k = path, 2
    while candidate.exists():
        candidate, k = path.with_name(f"{path.name}-{k}"), k + 1
    return candidate


def _write_trial_file(run_dir: Path, where: dict, number: int, params: dict, seed: int) -> None:
    if run_dir.is_dir():
        doc = {**{k: v for k, v in where.items() if k != "url"}, "trial": number, "params": params, "seed": seed,
               "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (run_dir / "trial.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")


def _load(project, base_dir):
    from ..data import load
    try:
        return load(project.data, base_dir)
    except ValueError as e:
        raise SweepError(f"the data could not be loaded: {e}") from None
