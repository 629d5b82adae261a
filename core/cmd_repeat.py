"""`layerlab repeat PROJECT --seeds K [--epochs N] [--out DIR] [--json]`: train the project's set-up
with K seeds (training.seed, +1, …; same data split) into DIR/seed-S run folders and print each
final metric as mean ± standard deviation. Exit 2: the project cannot train."""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from .cli import CliError, load_project_or_exit


def register(sub) -> None:
    p = sub.add_parser("repeat", help="train one set-up with K seeds: mean ± std of every metric", description=__doc__)
    p.add_argument("project", help="a *.layerlab.json file")
    p.add_argument("--seeds", type=int, default=3, metavar="K", help="number of seeds (default 3)")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--out", metavar="DIR", help="folder for the run folders (default PROJECT_DIR/repeats/TIME)")
    p.add_argument("--json", action="store_true", help="print the aggregate as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from .experiments.repeats import run_repeats
    from .train import Control
    from .train.events import EpochEnd

    project = load_project_or_exit(args.project)
    if args.seeds < 1:
        raise CliError(f"--seeds must be ≥ 1 (got {args.seeds})", 2)
    if args.epochs is not None:
        project.training.epochs = args.epochs
    base = Path(args.project).resolve().parent
    out = Path(args.out) if args.out else base / "repeats" / time.strftime("%Y%m%d-%H%M%S")
    control = Control()

    def on_event(k, e):
        if isinstance(e, EpochEnd) and e.epoch == project.training.epochs:
            print(f"seed {project.training.seed + k}: done", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    try:
        results, agg = run_repeats(project, args.seeds, out, base_dir=base, on_event=on_event, control=control)
    except ValueError as e:
        raise CliError(str(e), 2) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    bad = [r for r in results if r.status != "finished"]
    if bad and not bad[0].run_dir:
        raise CliError(f"{bad[0].message}: {bad[0].fix}" if bad[0].fix else bad[0].message, 2)
    if args.json:
        print(json.dumps({"runs": agg.runs, "final": agg.final, "folders": [r.run_dir for r in results]}))
    else:
        for key, (mean, std) in agg.final.items():
            print(f"{key:<14} {mean:.4f} ± {std:.4f}")
        print(f"{agg.runs} run(s) in {out}")
    return 130 if control.stopped else (1 if bad else 0)
