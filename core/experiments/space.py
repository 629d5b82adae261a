"""What a sweep varies: one `Range` per target, a target being `training.FIELD` (any TrainSpec
field) or `NODE.PARAM` (a layer parameter, by the node's name).

The kind of a range follows from its target: float and int fields take `low:high[:log]`
(log-uniform with `:log`), choices (optimizer, schedule, a layer's Choice or Bool parameter) take
a comma list or `*` for every option. On the command line a range is `TARGET=SPEC`, e.g.
`training.lr=1e-4:1e-1:log`, `fc1.units=8:64`, `training.optimizer=adam,sgd`, `drop.p=0:0.5`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..specs import CLIPPING, DEVICES, INITS, LOSSES, MONITORS, OPTIMIZERS, SCHEDULES, TrainSpec

TRAIN_CHOICES = {"init": INITS, "loss": LOSSES, "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "clip": CLIPPING,
                 "device": DEVICES, "monitor": MONITORS}
NOT_SWEPT = {"device", "probe_every"}   # settings that change no result


def _sweepable(name: str) -> bool:
    """Numbers, switches and named choices; per-layer maps, lists and paths are not hyperparameters."""
    default = getattr(TrainSpec(), name)
    return name not in NOT_SWEPT and (name in TRAIN_CHOICES or isinstance(default, (bool, int, float)))


class SpaceError(ValueError):
    """A range that cannot be used: the message names the target and the fix."""


@dataclass
class Target:
    """Where a value goes and what it may be."""
    name: str                 # "training.lr" / "fc1.units"
    kind: str                 # "float", "int" or "choice"
    where: tuple              # ("training", field) or ("node", node_id, param)
    current: Any
    lo: float | None = None   # hard bounds (a layer parameter's min / max)
    hi: float | None = None
    options: tuple = ()       # choices


@dataclass
class Range:
    target: str
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Range":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def __str__(self) -> str:
        if self.kind == "choice":
            return f"{self.target}={','.join(map(_text, self.choices))}"
        return f"{self.target}={_text(self.low)}:{_text(self.high)}{':log' if self.log else ''}"

    def suggest(self, trial) -> Any:
        """The trial's value, through Optuna's suggest API (so TPE and pruning see it)."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.target, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.target, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.target, float(self.low), float(self.high), log=self.log)

    def grid(self, points: int) -> list[Any]:
        """Evenly spaced values (geometrically with log) for a grid search; every option of a choice."""
        if self.kind == "choice":
            return list(self.choices)
        lo, hi, n = float(self.low), float(self.high), max(2, int(points))
        if self.log:
            values = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (n - 1)) for i in range(n)]
        else:
            values = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
        if self.kind == "int":
            return sorted({int(round(v)) for v in values})
        return [float(f"{v:.6g}") for v in values]


def _text(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else f"{v:g}" if isinstance(v, float) else str(v)


def targets(project) -> list[Target]:
    """Every sweepable value of the project: TrainSpec fields, then each layer's parameters."""
    out = []
    for f in dataclasses.fields(TrainSpec):
        if _sweepable(f.name):
            out.append(_train_target(project, f.name))
    for node in project.graph.nodes.values():
        for p in node.spec.params:
            t = _layer_target(node, p)
            if t is not None:
                out.append(t)
    return out


def _train_target(project, name: str) -> Target:
    value = getattr(project.training, name)
    where = ("training", name)
    if name in TRAIN_CHOICES:
        return Target(f"training.{name}", "choice", where, value, options=tuple(TRAIN_CHOICES[name]))
    if isinstance(value, bool):
        return Target(f"training.{name}", "choice", where, value, options=(False, True))
    kind = "int" if isinstance(value, int) else "float"
    return Target(f"training.{name}", kind, where, value, lo=0)


def _layer_target(node, p) -> Target | None:
    where, name = ("node", node.id, p.name), f"{node.name}.{p.name}"
    current = node.params.get(p.name, p.default)
    if p.kind in ("int", "float"):
        return Target(name, p.kind, where, current, lo=p.min, hi=p.max)
    if p.kind == "bool":
        return Target(name, "choice", where, current, options=(False, True))
    if p.kind == "choice":
        return Target(name, "choice", where, current, options=tuple(p.options))
    return None   # shapes (Dims) change what the network accepts: not a hyperparameter


def find_target(project, name: str) -> Target:
    section, dot, key = name.partition(".")
    if not dot or not key:
        raise SpaceError(f"{name!r} is not a sweep target: write training.FIELD or LAYER.PARAM (e.g. training.lr, fc1.units)")
    if section == "training":
        known = [f.name for f in dataclasses.fields(TrainSpec) if _sweepable(f.name)]
        if key not in known:
            raise SpaceError(f"training.{key} is not a sweepable setting: use one of {', '.join(known)}")
        return _train_target(project, key)
    node = project.graph.by_name(section)
    if node is None:
        names = ", ".join(n.name for n in project.graph.nodes.values())
        raise SpaceError(f"{name}: the network has no layer named {section!r}: use one of {names}")
    for p in node.spec.params:
        if p.name == key:
            t = _layer_target(node, p)
            if t is None:
                raise SpaceError(f"{name} is a shape, not a hyperparameter: sweep another parameter")
            return t
    raise SpaceError(f"{name}: {node.type} has no parameter {key!r}: use one of "
                     f"{', '.join(p.name for p in node.spec.params) or 'none'}")


def _coerce(t: Target, raw: Any) -> Any:
    if isinstance(raw, str):
        raw = raw.strip()
        low = raw.lower()
        if t.kind == "choice" and t.options and isinstance(t.options[0], bool):
            if low not in ("true", "false"):
                raise SpaceError(f"{t.name} takes true or false (got {raw!r})")
            return low == "true"
        if t.kind in ("int", "float"):
            try:
                raw = float(raw)
            except ValueError:
                raise SpaceError(f"{t.name} takes numbers (got {raw!r})") from None
    if t.kind == "int":
        if float(raw) != int(float(raw)):
            raise SpaceError(f"{t.name} takes whole numbers (got {raw!r})")
        return int(float(raw))
    if t.kind == "float":
        return float(raw)
    if raw not in t.options:
        raise SpaceError(f"{t.name} has no option {raw!r}: use {', '.join(map(_text, t.options))}")
    return raw


def parse_range(project, text: str) -> Range:
    """`TARGET=SPEC` from the command line (see the module docstring)."""
    name, eq, spec = text.partition("=")
    if not eq or not spec.strip():
        raise SpaceError(f"{text!r} is not a range: write TARGET=LOW:HIGH[:log] or TARGET=A,B,C "
                         "(e.g. training.lr=1e-4:1e-1:log)")
    t = find_target(project, name.strip())
    spec = spec.strip()
    if t.kind == "choice" or "," in spec:      # a list of numbers is a choice too: training.lr=0.001,0.01
        values = list(t.options) if spec == "*" else [_coerce(t, v) for v in spec.split(",") if v.strip()]
        return check(project, Range(t.name, "choice", choices=list(dict.fromkeys(values))))
    parts = spec.split(":")
    log = len(parts) == 3 and parts[2].strip().lower() == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise SpaceError(f"{t.name} is a number: write {t.name}=LOW:HIGH or {t.name}=LOW:HIGH:log")
    return check(project, Range(t.name, t.kind, _coerce(t, parts[0]), _coerce(t, parts[1]), log))


def check(project, r: Range) -> Range:
    """The range, if it fits its target; else SpaceError saying what to change."""
    t = find_target(project, r.target)
    if t.kind != r.kind and r.kind != "choice":
        raise SpaceError(f"{r.target} takes a {t.kind} range, not a {r.kind} one")
    if r.kind == "choice":
        if not r.choices:
            raise SpaceError(f"{r.target}: give at least one option")
        for v in r.choices:
            _coerce(t, v)
        return r
    lo, hi = r.low, r.high
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise SpaceError(f"{r.target}: the range needs LOW < HIGH (got {lo}:{hi})")
    if r.log and lo <= 0:
        raise SpaceError(f"{r.target}: a log range needs LOW > 0 (got {lo})")
    if t.lo is not None and lo < t.lo or t.hi is not None and hi > t.hi:
        raise SpaceError(f"{r.target}: the range {_text(lo)}:{_text(hi)} leaves the allowed "
                         f"{_text(t.lo) if t.lo is not None else '-inf'}..{_text(t.hi) if t.hi is not None else 'inf'}")
    return r


def default_space(project) -> list[Range]:
    """A learning-rate range a decade either side of the project's LR, log-uniform."""
    lr = project.training.lr
    return [Range("training.lr", "float", float(f"{lr / 10:.3g}"), float(f"{min(lr * 10, 10.0):.3g}"), True)]


def current_values(project, ranges: list[Range]) -> dict[str, Any]:
    return {r.target: find_target(project, r.target).current for r in ranges}


def apply(project, values: dict[str, Any]):
    """A copy of the project with `values` ({target: value}) set; the project itself is untouched."""
    from ..project import Project
    copy = Project.from_dict(project.to_dict())
    for name, value in values.items():
        t = find_target(copy, name)
        value = _coerce(t, value)
        if t.where[0] == "training":
            setattr(copy.training, t.where[1], value)
        else:
            node = copy.graph.node(t.where[1])
            try:
                node.params[t.where[2]] = node.spec.param(t.where[2]).coerce(value)
            except ValueError as e:
                raise SpaceError(f"{name}: {e}") from None
    return copy
