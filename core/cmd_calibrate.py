"""`layerlab calibrate RUN [--weights W] [--data-dir DIR] [--json]`: temperature scaling for a
finished classification run. Fits T on the run's validation split (LBFGS on log T, minimizing
the NLL), writes RUN/calibration.json, and prints T with ECE before → after on val and test.
Every later export of those weights outputs logits / T. A regression run (or a hinge-loss run)
is refused in one line (exit 2)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .cli import CliError


def register(sub) -> None:
    p = sub.add_parser("calibrate", help="fit a temperature on a run's validation split (calibration.json)")
    p.add_argument("run", help="a run folder of a classification run")
    p.add_argument("--weights", help="one weights file to calibrate (default: the run's best and last)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="where the project's relative data paths start (default: the folder above runs/)")
    p.add_argument("--json", action="store_true", help="print calibration.json's content as one JSON object")
    p.set_defaults(func=run)


def calibrate_folder(run_dir, data_dir=None, weights=None, as_json: bool = False) -> int:
    """Calibrate `run_dir` and print the outcome (shared with `layerlab train --calibrate`)."""
    from .train.calibrate_run import calibrate_run, summary
    from .train.calibration import CalibrationError
    from .train.runs import _finite

    try:
        cal = calibrate_run(run_dir, base_dir=data_dir, weights=weights)
    except CalibrationError as e:
        raise CliError(str(e), 2) from None
    if as_json:
        print(json.dumps(_finite({"event": "calibrated", **cal})), flush=True)
    else:
        for line in summary(cal):
            print(line)
        print(f"calibration: {Path(run_dir) / 'calibration.json'}")
    return 0


def run(args) -> int:
    if not Path(args.run).is_dir():
        print(f"layerlab calibrate: {args.run}: no such run folder", file=sys.stderr)
        return 2
    return calibrate_folder(args.run, args.data_dir, args.weights, args.json)
