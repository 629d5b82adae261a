"""An Optuna study with a fixed number of trial slots, shared by any number of workers.

The first worker to create the study (a unique name in the storage decides who) stores the sweep
configuration in the study's user attributes and enqueues one WAITING trial per slot; every worker
then claims slots one at a time with Optuna's own atomic WAITING → RUNNING transition and never
creates a trial of its own. So N slots give exactly N trials, however many workers join and
however they race: none lost, none run twice. On PostgreSQL the transition is a row lock
(SELECT … FOR UPDATE); SQLite has no row locks, so there claims also hold a file lock next to
the database file (SQLite studies are one machine's anyway).

Grid searches enqueue each grid point as the slot's fixed parameters (Optuna's GridSampler picks
points per worker and may run one twice when workers race); TPE and random slots are empty and
the sampler fills them when claimed.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .space import Range, SpaceError

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "none")
MAXIMIZED = ("val_accuracy", "val_f1", "val_r2")
CONFIG_ATTR, READY_ATTR = "layerlab.sweep", "layerlab.ready"
READY_WAIT_S = 120.0


class SweepError(ValueError):
    """A sweep that cannot start or continue: `str()` is `cause: fix`."""


@dataclass
class SweepConfig:
    space: list[Range]
    objective: str = "val_loss"
    trials: int = 20
    sampler: str = "tpe"
    pruner: str = "median"
    repeats: int = 1                 # seeds per trial (training.seed, +1, ...): value = their mean
    epochs: int | None = None        # override training.epochs for every trial
    grid_points: int = 4             # values per numeric range in a grid search
    baseline: bool = True            # the project's own values as the first slot (TPE / random)
    seed: int | None = None          # sampler seed

    @property
    def direction(self) -> str:
        return "maximize" if self.objective in MAXIMIZED else "minimize"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["space"] = [r.to_dict() for r in self.space]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SweepConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        values["space"] = [Range.from_dict(r) for r in d.get("space", [])]
        return cls(**values)

    def problems(self) -> list[str]:
        out = []
        if not self.space:
            out.append("the sweep varies nothing: add a range (e.g. training.lr=1e-4:1e-1:log)")
        if self.trials < 1:
            out.append(f"trials must be ≥ 1 (got {self.trials})")
        if self.sampler not in SAMPLERS:
            out.append(f"sampler {self.sampler!r} is unknown: use {', '.join(SAMPLERS)}")
        if self.pruner not in PRUNERS:
            out.append(f"pruner {self.pruner!r} is unknown: use {', '.join(PRUNERS)}")
        if self.repeats < 1:
            out.append(f"repeats must be ≥ 1 (got {self.repeats})")
        if self.epochs is not None and self.epochs < 1:
            out.append(f"epochs must be ≥ 1 (got {self.epochs})")
        return out


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "sweep"


def default_storage(project_path: str | Path) -> str:
    """sqlite:///<project folder>/<project stem>.sweeps.db"""
    p = Path(project_path).resolve()
    stem = p.name.removesuffix(".json").removesuffix(".layerlab")
    return f"sqlite:///{p.parent / (stem + '.sweeps.db')}"


def safe_url(url: str) -> str:
    """The URL as it may be shown or written down: without its password."""
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:   # noqa: BLE001 - not a URL SQLAlchemy reads: show nothing of it
        return "<storage>"


def claim_lock(url: str):
    """A cross-process lock for SQLite claims (see the module docstring); no-op elsewhere."""
    if not url.startswith("sqlite:///"):
        return nullcontext()
    from filelock import FileLock
    return FileLock(url[len("sqlite:///"):] + ".lock", timeout=120)


def open_storage(url: str, create: bool = True):
    """Optuna's RDBStorage; with create=False a missing SQLite file is a SweepError, not a new file."""
    import optuna
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not create and not path.is_file():
            raise SweepError(f"there is no study file {path}: start a sweep first")
        if not path.parent.is_dir():
            raise SweepError(f"{path.parent} does not exist: create the folder or pass another --storage")
        kwargs = {"connect_args": {"timeout": 60}}     # wait for the other workers' writes
    try:
        for attempt in range(3):
            try:
                with claim_lock(url):     # two workers creating the tables of a new SQLite file at once collide
                    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
            except Exception as e:        # noqa: BLE001 - on a server the loser of that race sees a duplicate
                if attempt == 2 or not any(w in str(e) for w in ("already exists", "duplicate key")):
                    raise
                time.sleep(0.5 + attempt)  # the winner's tables are there now
    except ImportError as e:
        raise SweepError(f"the storage {safe_url(url)} needs a database driver ({e}): "
                         "pip install 'psycopg[binary]' (PostgreSQL)") from None
    except Exception as e:    # noqa: BLE001 - sqlalchemy / driver errors: connection refused, bad URL, auth
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SweepError(f"cannot open the study storage {safe_url(url)} ({first}): check the URL, that the "
                         "server runs and accepts this user") from None


def build_sampler(config: SweepConfig):
    import optuna
    if config.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=config.seed)
    return optuna.samplers.RandomSampler(seed=config.seed)   # random; grid slots carry fixed values


def build_pruner(config: SweepConfig):
    import optuna
    if config.pruner == "none" or config.repeats > 1:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)


def grid_points(config: SweepConfig) -> list[dict[str, Any]]:
    axes = [(r.target, r.grid(config.grid_points)) for r in config.space]
    combos = itertools.product(*[values for _, values in axes])
    return [dict(zip([t for t, _ in axes], c)) for c in itertools.islice(combos, config.trials)]


def open_study(url: str, name: str, config: SweepConfig | None = None, baseline: dict[str, Any] | None = None):
    """(study, config, storage). Creates the study with `config` when it does not exist yet; joins
    it (with its stored configuration) when it does. `baseline`: the project's current values."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(url)
    with claim_lock(url):
        try:
            direction = config.direction if config is not None else "minimize"
            if config is None:
                raise optuna.exceptions.DuplicatedStudyError   # joining only: load it below
            study = optuna.create_study(storage=storage, study_name=name, direction=direction)
        except optuna.exceptions.DuplicatedStudyError:
            try:
                study = optuna.load_study(study_name=name, storage=storage)
            except KeyError:
                raise SweepError(f"there is no study {name!r} in {safe_url(url)}: give ranges (--param) to "
                                 "create it, or pick an existing --study") from None
            config = _joined(study, config, url)
        else:
            _create_slots(study, config, baseline)
    study.sampler, study.pruner = build_sampler(config), build_pruner(config)   # each worker's own
    return study, config, storage


def _create_slots(study, config: SweepConfig, baseline: dict[str, Any] | None) -> None:
    study.set_user_attr(CONFIG_ATTR, config.to_dict())
    if config.sampler == "grid":
        for point in grid_points(config):
            study.enqueue_trial(point)
    else:
        for i in range(config.trials):
            study.enqueue_trial(baseline if (i == 0 and config.baseline and baseline) else {})
    study.set_user_attr(READY_ATTR, True)


def _joined(study, config: SweepConfig | None, url: str) -> SweepConfig:
    deadline = time.monotonic() + READY_WAIT_S
    while not study.user_attrs.get(READY_ATTR):    # the creator is still enqueueing its slots
        if time.monotonic() > deadline:
            raise SweepError(f"study {study.study_name!r} in {safe_url(url)} was never finished by the worker that "
                             "created it: start a new --study")
        time.sleep(0.5)
    stored = study.user_attrs.get(CONFIG_ATTR)
    if not isinstance(stored, dict):
        raise SweepError(f"study {study.study_name!r} was not made by layerlab sweep: pick another --study")
    try:
        have = SweepConfig.from_dict(stored)
    except (TypeError, ValueError) as e:
        raise SweepError(f"study {study.study_name!r} holds an unreadable configuration ({e}): start a new --study") from None
    if config is not None and ([r.to_dict() for r in config.space] != [r.to_dict() for r in have.space]
                               or config.objective != have.objective):
        raise SweepError(f"study {study.study_name!r} already exists with other ranges or objective "
                         f"({', '.join(map(str, have.space))}; {have.objective}): join it without --param, "
                         "or name a new --study")
    return have


def claim(study, storage, url: str):
    """The next WAITING slot as a running optuna.Trial, or None when every slot is taken."""
    import optuna
    from optuna.trial import TrialState
    with claim_lock(url):
        for frozen in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            try:
                # FrozenTrial has no public id; this is the call Study.ask makes to pop a queued trial
                if storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                    return optuna.Trial(study, frozen._trial_id)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
    return None


def check_space(project, config: SweepConfig) -> None:
    from .space import check
    problems = config.problems()
    if problems:
        raise SweepError(problems[0])
    try:
        for r in config.space:
            check(project, r)
    except SpaceError as e:
        raise SweepError(str(e)) from None

