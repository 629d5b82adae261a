"""`layerlab explore-init PROJECT [--inits he_normal,xavier_normal,...] [--batch N]`: one
forward pass per init scheme and a table of per-layer activation mean / std / dead units.
Exit 0; a bad project, scheme or data set is one line on stderr and exit 2."""
from __future__ import annotations

import json
import math
from pathlib import Path

from .cli import CliError, load_project_or_exit


def register(sub) -> None:
    from .specs import EXPLORE_INITS as DEFAULT_INITS
    p = sub.add_parser("explore-init", help="compare init schemes: activation mean/std per layer at initialization",
                       description=__doc__)
    p.add_argument("project", help="a *.layerlab.json file")
    p.add_argument("--inits", default=",".join(DEFAULT_INITS),
                   help=f"comma-separated schemes (default: {','.join(DEFAULT_INITS)})")
    p.add_argument("--batch", type=int, default=256, help="training samples pushed through (default 256)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the weights and the batch")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=run)


def _pct(v) -> str:
    return "" if v is None else f"{100 * v:.0f}%"


def _num(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else str(v)


def run(args) -> int:
    from .train.explore import explore_init
    from .cmd_validate import format_table

    project = load_project_or_exit(args.project)
    inits = [s.strip() for s in args.inits.split(",") if s.strip()]
    try:
        result = explore_init(project, inits, batch_size=args.batch, seed=args.seed,
                              base_dir=Path(args.project).parent)
    except (ValueError, RuntimeError) as e:  # CompileError, DataError, shape mismatches: all one line
        lines = [ln.strip("- ") for ln in str(e).splitlines() if ln.strip()]
        raise CliError(" ".join(lines[:2]) if lines else type(e).__name__, 2) from None
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for scheme, rows in result.items():
        print(f"init {scheme}")
        table = [("layer", "type", "mean", "std", "dead", "saturated")]
        table += [(r["name"], r["type"], _num(r["mean"]), _num(r["std"]), _pct(r["dead_fraction"]),
                   _pct(r["saturated_fraction"])) for r in rows]
        print(format_table(table))
        print()
    return 0
