"""Temperature scaling for a run folder: `calibrate_run(run_dir) -> dict`, written to the run's
calibration.json (what `layerlab calibrate RUN`, `layerlab train --calibrate` and the app's
Calibrate action do). The run's own project, its data (loaded and split as when it trained),
and its weights: best and last each get their own T (`fits`), since an export may take either
and applies a T only to the weights it was fitted on (checked by SHA-256); the top-level fields
are those of the weights the run ended with."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .calibration import FILE, CalibrationError, calibrate, kind_of, sha256

WEIGHTS = ("best.safetensors", "last.safetensors")


def _weights(run: Path, weights) -> list[Path]:
    """The weights to fit: the given file, else the run's best and last, the one the run ended
    with first (best when the trainer restored it, else last; result.json says which)."""
    from .run_files import read_json

    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise CalibrationError(f"{path}: no such weights file")
        return [path]
    restored = read_json(run / "result.json").get("restored_epoch")
    names = WEIGHTS if restored else WEIGHTS[::-1]
    found = [run / n for n in names if (run / n).is_file()]
    if not found:
        raise CalibrationError(f"{run} holds no weights (best.safetensors or last.safetensors): train it first")
    return found


def check_run(run_dir):
    """The project of a run that can be calibrated; CalibrationError (one line)
    for anything else: not a run, a regression run, a loss without probabilities."""
    from .run_files import read_json, read_project

    run = Path(run_dir)
    if not run.is_dir():
        raise CalibrationError(f"{run}: no such run folder")
    project = read_project(run)
    if project is None:
        raise CalibrationError(f"{run} is not a run folder (no readable project.layerlab.json)")
    dataset = read_json(run / "config.json").get("dataset", {})
    task = dataset.get("task") if isinstance(dataset, dict) else None
    if task == "regression":
        raise CalibrationError(f"{run.name} is a regression run: temperature scaling calibrates a "
                               "classifier's probabilities only")
    loss = project.training.loss
    if kind_of("classification", loss, 2) is None:
        raise CalibrationError(f"{run.name} trained with the {loss} loss, whose outputs are margins, not "
                               "probabilities: calibrate a cross_entropy or bce_logits run")
    return project


def calibrate_run(run_dir, base_dir=None, weights=None) -> dict[str, Any]:
    """Fit T on the run's validation split for its weights; write and return calibration.json.
    `base_dir`: where the project's relative data paths start (default: the folder above runs/)."""
    from ..data import load
    from .runs import RunFolder
    from .setup import resolve_device

    run = Path(run_dir)
    project = check_run(run)
    paths = _weights(run, weights)
    try:
        dataset = load(project.data, base_dir if base_dir is not None else run.resolve().parent.parent)
    except ValueError as e:
        raise CalibrationError(f"the run's data could not be loaded: {e}") from None
    if dataset.task != "classification":
        raise CalibrationError(f"{run.name} is a regression run: temperature scaling calibrates a "
                               "classifier's probabilities only")
    device = resolve_device(project.training.device)
    data = {f"{a}_{s}": getattr(dataset, f"{a}_{s}").to(device) for a in ("x", "y") for s in ("val", "test")}
    fits, seen = [], {}
    for path in paths:
        digest = sha256(path)
        if digest not in seen:      # best and last are often the same weights
            seen[digest] = _fit(project, path, data, device)
        fits.append({"weights": path.name, "weights_sha256": digest, **seen[digest]})
    cal = {"format": "layerlab.calibration/1", "method": "temperature scaling: logits / T, T fitted on the "
           "validation split by minimizing the NLL (LBFGS on log T)", **fits[0], "fits": fits}
    RunFolder(run).write_json(FILE, cal)
    return cal


def _fit(project, path: Path, data, device) -> dict[str, Any]:
    from ..compiler import compile_graph
    from ..weights import WeightsError, load_weights
    from .setup import eval_batch

    compiled = compile_graph(project.graph)
    try:
        load_weights(compiled.module, compiled.node_of_module, path)
    except WeightsError as e:
        raise CalibrationError(str(e)) from None
    compiled.module.to(device)
    width = compiled.output_type.shape[-1] if compiled.output_type.shape else 1
    kind = kind_of("classification", project.training.loss, width)
    return calibrate(compiled.module, data, kind, eval_batch(compiled.analysis, project.training.batch_size))


def summary(cal: dict[str, Any]) -> list[str]:
    """Lines for people: T, then ECE before → after per split."""
    lines = [f"temperature T = {cal['temperature']:.4f} (fitted on the validation split, "
             f"for {cal.get('weights', 'the weights')})"]
    for split in ("val", "test"):
        if split in cal:
            s = cal[split]
            lines.append(f"{split} ECE {s['ece_before']:.4f} → {s['ece_after']:.4f}   NLL {s['nll_before']:.4f} → "
                         f"{s['nll_after']:.4f}   accuracy {s['accuracy']:.4f} (unchanged)")
    return lines
