"""`layerlab lr-find PROJECT [--steps N] [--start LR] [--end LR] [--json] [--apply]`: the LR range
test on a fresh copy of the network (core.experiments.lr_find). Prints the smoothed loss-vs-LR
curve as a table, the suggested LR and the rule that chose it. Nothing is written unless --apply
is given, which sets training.lr in the project file. Exit 2: the project cannot train."""
from __future__ import annotations

import json
import math
import signal
import sys
from pathlib import Path

from .cli import CliError, load_project_or_exit


def register(sub) -> None:
    p = sub.add_parser("lr-find", help="LR range test: loss against an exponentially growing LR, and a suggested LR",
                       description=__doc__)
    p.add_argument("project", help="a *.layerlab.json file")
    p.add_argument("--steps", type=int, default=200, help="optimizer steps in the sweep (default 200)")
    p.add_argument("--start", type=float, default=1e-7, help="first LR (default 1e-7)")
    p.add_argument("--end", type=float, default=10.0, help="last LR (default 10)")
    p.add_argument("--json", action="store_true", help="print the whole curve and the suggestion as JSON")
    p.add_argument("--apply", action="store_true", help="write the suggested LR into the project file")
    p.set_defaults(func=run)


def _rows(result, points: int = 16) -> list[tuple[str, str]]:
    n = len(result.lrs)
    picks = sorted({round(i * (n - 1) / max(1, points - 1)) for i in range(points)}) if n else []
    return [(f"{result.lrs[i]:.3g}", f"{result.smoothed[i]:.4g}" if math.isfinite(result.smoothed[i]) else "inf")
            for i in picks]


def run(args) -> int:
    from .cmd_validate import format_table
    from .experiments.lr_find import LRFindError, lr_find
    from .train import Control

    project = load_project_or_exit(args.project)
    control = Control()
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    try:
        result = lr_find(project, base_dir=Path(args.project).resolve().parent, steps=args.steps,
                         start_lr=args.start, end_lr=args.end, control=control)
    except LRFindError as e:
        raise CliError(str(e), 2) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if args.json:
        print(json.dumps({k: (v if not isinstance(v, float) or math.isfinite(v) else None) if not isinstance(v, list)
                          else [x if math.isfinite(x) else None for x in v] for k, v in result.to_dict().items()}))
    else:
        print(format_table([("lr", "smoothed loss"), *_rows(result)]))
        print(f"{len(result.lrs)} steps, {result.ended}, {result.seconds:.1f} s")
        if result.suggested is None:
            print(f"no suggestion: {result.message}")
        else:
            print(f"suggested lr {result.suggested:.3g}  (rule {result.rule}; lowest loss at "
                  f"{result.lowest_at:.3g}" + (f", steepest fall at {result.steepest_at:.3g})" if result.steepest_at else ")"))
    if result.ended == "stopped":
        return 130
    if args.apply:
        if result.suggested is None:
            raise CliError(f"nothing to apply: {result.message}", 1)
        from .project import save_project
        project.training.lr = float(f"{result.suggested:.3g}")
        save_project(project, args.project)
        print(f"training.lr = {project.training.lr:g} written to {args.project}", file=sys.stderr)
    return 0
