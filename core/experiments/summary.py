"""A study as plain data: one row per trial for tables, the best row, parameter importances
(Optuna's PED-ANOVA evaluator) and the normalized axes of a parallel-coordinates plot. Read-only:
the GUI polls it while workers run, the CLI prints it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .space import Range
from .study import CONFIG_ATTR, SweepConfig, SweepError, safe_url


@dataclass
class Row:
    number: int
    state: str                        # WAITING, RUNNING, COMPLETE, PRUNED, FAIL
    value: float | None               # final value (COMPLETE) or the latest reported one (RUNNING / PRUNED)
    std: float | None
    params: dict[str, Any]
    epochs: int                       # epochs reported so far
    seconds: float | None
    run_dirs: list[str] = field(default_factory=list)
    message: str = ""
    curve: list[float] = field(default_factory=list)   # the objective per epoch (first seed)


@dataclass
class Summary:
    study: str
    config: SweepConfig | None
    rows: list[Row]

    @property
    def finished(self) -> int:
        return sum(r.state in ("COMPLETE", "PRUNED", "FAIL") for r in self.rows)

    def best(self) -> Row | None:
        done = [r for r in self.rows if r.state == "COMPLETE" and r.value is not None and math.isfinite(r.value)]
        if not done or self.config is None:
            return None
        sign = -1 if self.config.direction == "maximize" else 1
        return min(done, key=lambda r: (sign * r.value, r.number))


def summarize(study) -> Summary:
    attrs = study.user_attrs.get(CONFIG_ATTR)
    config = SweepConfig.from_dict(attrs) if isinstance(attrs, dict) else None
    rows = []
    for t in study.get_trials(deepcopy=False):
        steps = sorted(t.intermediate_values)
        curve = [float(t.intermediate_values[s]) for s in steps]
        value = t.value if t.value is not None else (curve[-1] if curve else None)
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start else None
        rows.append(Row(t.number, t.state.name, value, t.user_attrs.get("std"), dict(t.params), len(steps), seconds,
                        list(t.user_attrs.get("run_dirs", [])), str(t.user_attrs.get("message", "")), curve))
    return Summary(study.study_name, config, rows)


def load_summary(url: str, name: str) -> Summary:
    import optuna
    from .study import open_storage
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return summarize(optuna.load_study(study_name=name, storage=open_storage(url, create=False)))
    except KeyError:
        raise SweepError(f"there is no study {name!r} in {safe_url(url)}: start a sweep first") from None


def study_names(url: str) -> list[str]:
    from .study import open_storage
    try:
        return [s.study_name for s in open_storage(url, create=False).get_all_studies()]
    except SweepError:        # no study file yet
        return []


def importances(study) -> dict[str, float]:
    """{param: share of the objective's variance it explains}, {} with too few finished trials."""
    import optuna
    from optuna.trial import TrialState
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 3:
        return {}
    try:
        # PED-ANOVA (optuna's default since 5.0; fANOVA before, which needs scikit-learn): named here so
        # that no optuna version needs sklearn, which the packaged app leaves out
        return dict(optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()))
    except (ValueError, RuntimeError):   # a parameter that never varied, a single-value space
        return {}


def axis_position(r: Range, value: Any) -> float:
    """Where `value` sits on r's parallel-coordinates axis, 0..1 (log axes for log ranges)."""
    if r.kind == "choice":
        n = len(r.choices)
        return r.choices.index(value) / (n - 1) if n > 1 and value in r.choices else 0.5
    lo, hi, v = float(r.low), float(r.high), float(value)
    if r.log:
        lo, hi, v = math.log(lo), math.log(hi), math.log(max(v, 1e-300))
    return min(1.0, max(0.0, (v - lo) / (hi - lo))) if hi > lo else 0.5


def parallel(summary: Summary) -> tuple[list[str], list[list[float]], list[float]]:
    """(axis names: each range then the objective, rows of 0..1 positions, objective values) of
    the COMPLETE trials."""
    if summary.config is None:
        return [], [], []
    space = summary.config.space
    done = [r for r in summary.rows if r.state == "COMPLETE" and r.value is not None and math.isfinite(r.value)]
    values = [r.value for r in done]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    rows, kept = [], []
    for r in done:
        pos = [axis_position(rng, r.params.get(rng.target)) for rng in space if rng.target in r.params]
        if len(pos) == len(space):
            rows.append(pos + [(r.value - lo) / (hi - lo) if hi > lo else 0.5])
            kept.append(r.value)
    return [rng.target for rng in space] + [summary.config.objective], rows, kept
