"""`layerlab sweep PROJECT --trials N [--storage URL] [--study NAME] [--param TARGET=SPEC ...]`:
a hyperparameter search with Optuna. The first worker creates the study (its ranges, objective,
sampler and N trial slots); the same command on other machines (a PostgreSQL --storage URL) or in
other processes joins it, and every worker runs slots until none is left. Each trial is an
ordinary run folder under PROJECT_DIR/sweeps/STUDY/ (or --out). Storage defaults to an SQLite
file next to the project. `--show` prints the study's trials without running any.

Ranges: training.lr=1e-4:1e-1:log, fc1.units=8:64, drop.p=0:0.5, training.optimizer=adam,sgd
(default: the LR a decade either side of the project's). Ctrl-C stops the running trial and puts
its slot back (exit 130). Exit 2: the project, the ranges or the storage are unusable."""
from __future__ import annotations

import json
import math
import signal
import sys
from pathlib import Path

from .cli import CliError, load_project_or_exit


def register(sub) -> None:
    from .experiments.study import PRUNERS, SAMPLERS
    from .specs import MONITORS
    p = sub.add_parser("sweep", help="hyperparameter search with Optuna (one machine or many)", description=__doc__)
    p.add_argument("project", help="a *.layerlab.json file")
    p.add_argument("--trials", type=int, default=20, help="trial slots of a new study (default 20)")
    p.add_argument("--storage", metavar="URL", help="study storage (default sqlite:///PROJECT_DIR/NAME.sweeps.db; "
                   "postgresql://user:pass@host/db to share a study across machines)")
    p.add_argument("--study", default="sweep", help="study name (default: sweep)")
    p.add_argument("--param", action="append", default=[], metavar="TARGET=SPEC", help="a range (repeatable)")
    p.add_argument("--objective", choices=[m for m in MONITORS], help="metric to optimize (default training.monitor)")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="search strategy (default tpe)")
    p.add_argument("--pruner", choices=PRUNERS, default="median", help="per-epoch pruning (default median)")
    p.add_argument("--repeats", type=int, default=1, metavar="K", help="seeds per trial; the value is their mean")
    p.add_argument("--epochs", type=int, help="override training.epochs in every trial")
    p.add_argument("--grid-points", type=int, default=4, metavar="K", help="values per numeric range for grid")
    p.add_argument("--no-baseline", action="store_true", help="do not try the project's own values first")
    p.add_argument("--seed", type=int, help="sampler seed")
    p.add_argument("--out", metavar="DIR", help="folder for the trials' run folders")
    p.add_argument("--max-trials", type=int, metavar="M", help="run at most M slots in this process")
    p.add_argument("--show", action="store_true", help="print the study's trials and exit")
    p.add_argument("--json", action="store_true", help="one JSON object per finished trial")
    p.set_defaults(func=run)


def _config(args, project, url: str):
    from .experiments.space import SpaceError, default_space, parse_range
    from .experiments.study import SweepConfig
    from .experiments.summary import study_names
    try:
        space = [parse_range(project, text) for text in args.param]
    except SpaceError as e:
        raise CliError(str(e), 2) from None
    if not space and args.study in study_names(url):
        return None                       # join the existing study with its own ranges
    objective = args.objective or project.training.monitor
    config = SweepConfig(space or default_space(project), objective=objective, trials=args.trials,
                         sampler=args.sampler, pruner=args.pruner, repeats=args.repeats, epochs=args.epochs,
                         grid_points=args.grid_points, baseline=not args.no_baseline, seed=args.seed)
    problems = config.problems()
    if problems:
        raise CliError(problems[0], 2)
    return config


def _fmt(v) -> str:
    return "" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def show(url: str, name: str) -> int:
    from .cmd_validate import format_table
    from .experiments.summary import load_summary
    s = load_summary(url, name)
    targets = [r.target for r in s.config.space] if s.config else []
    rows = [("trial", "state", s.config.objective if s.config else "value", "± std", "epochs", *targets)]
    for r in s.rows:
        rows.append((str(r.number), r.state, _fmt(r.value), _fmt(r.std), str(r.epochs),
                     *[_fmt(r.params.get(t)) for t in targets]))
    print(format_table(rows))
    best = s.best()
    if best is not None:
        print(f"best: trial {best.number} {s.config.objective} {best.value:.4g}  "
              + " ".join(f"{k}={_fmt(v)}" for k, v in best.params.items()))
    return 0


def run(args) -> int:
    from .experiments.study import SweepError, default_storage, slug
    from .experiments.sweep import SweepControl, work

    project = load_project_or_exit(args.project)
    url = args.storage or default_storage(args.project)
    base = Path(args.project).resolve().parent
    try:
        if args.show:
            return show(url, args.study)
        config = _config(args, project, url)
    except SweepError as e:
        raise CliError(str(e), 2) from None
    out = Path(args.out) if args.out else base / "sweeps" / slug(args.study)
    control = SweepControl()

    def on_trial(kind, data) -> None:
        if kind == "start":
            number, params = data
            print(f"trial {number}: " + " ".join(f"{k}={_fmt(v)}" for k, v in params.items()), file=sys.stderr)
        elif kind == "end":
            if args.json:
                print(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                                  for k, v in data.__dict__.items()}), flush=True)
            else:
                extra = f" ± {data.std:.3g}" if data.std is not None else ""
                value = f" {_fmt(data.value)}{extra}" if data.value is not None else ""
                why = f" ({data.message})" if data.message else ""
                print(f"trial {data.number}: {data.state}{value}{why}", flush=True)

    def on_sigint(signum, frame):
        if control.stopped:
            raise KeyboardInterrupt
        control.stop()
        print("\nstopping this trial; its slot goes back to the study (Ctrl-C again to abort)…", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        reports = work(project, url, args.study, out, config, base_dir=base, control=control, on_trial=on_trial,
                       max_trials=args.max_trials)
    except SweepError as e:
        raise CliError(str(e), 2) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if not args.json:
        print(f"{len(reports)} trial(s) run here; study {args.study!r}", file=sys.stderr)
        show(url, args.study)
    return 130 if control.stopped else 0
