"""Exports of a trained network for people without LayerLab, and for LayerLab itself.

    export(project, weights_path, fmt, out, preprocessing=None) -> list[Path]

Formats (FORMATS): native (folder LayerLab reopens: `load_native`), onnx, pt2 (torch.export),
source (plain PyTorch .py + .safetensors), card (Markdown model card + loss-curve PNG),
train-script (standalone script reproducing the run, DDP-ready under torchrun).

Weights are read with core.weights (safetensors only; a pickle is refused, never unpickled).
Preprocessing is the run's preprocessing.json dict; when not given, the file beside the weights is
used (a run folder keeps one), else none. The returned list carries `.info` (opset, measured
difference to LayerLab's own outputs, ...) for reports.
"""
from __future__ import annotations

import os
from pathlib import Path

from .outcome import ExportError, Exported  # noqa: F401
from .prepared import prepare  # noqa: F401
from .preprocessing import check_preprocessing  # noqa: F401

FORMATS = ("native", "onnx", "pt2", "source", "card", "train-script")
SUFFIX = {"native": "", "onnx": ".onnx", "pt2": ".pt2", "source": ".py", "card": ".md", "train-script": ".py"}


def export(project, weights_path: str | os.PathLike | None, fmt: str, out: str | os.PathLike,
           preprocessing: dict | None = None, *, run_dir: str | os.PathLike | None = None,
           opset: int | None = None, verify: bool = True,
           base_dir: str | os.PathLike | None = None, quantize: str | None = None,
           force: bool = False) -> Exported:
    """Write `project` with the weights at `weights_path` in format `fmt` to `out`; returns the
    paths written (an `Exported` list with `.info`). `run_dir` (card, train-script) defaults to the
    weights' folder when it is a run folder. `verify` checks numerics against LayerLab's model.
    `base_dir` (train-script, quantize) is the project file's folder, where relative data paths start.
    `quantize` (onnx only): int8-dynamic, int8-static or fp16 (see export.quantize).
    Existing files are replaced only with `force`; another run's folder is never written into.
    Weights from a run folder whose project.layerlab.json has another graph than `project` are
    exported with that project (the one they were trained with); `.info["run_project"]` says so."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if quantize and fmt != "onnx":
        raise ExportError("quantization applies to ONNX exports only: use --format onnx, or drop --quantize")
    if run_dir is None and weights_path is not None:
        parent = Path(weights_path).parent
        if (parent / "metrics.csv").is_file() or (parent / "config.json").is_file():
            run_dir = parent
    from .overwrite import guard
    guard(project, fmt, out, run_dir, force)
    if fmt == "train-script":
        from .train_script import export_train_script
        return export_train_script(project, out, run_dir=run_dir, base_dir=base_dir)
    from .run_project import run_project
    project, note = run_project(project, weights_path)
    prep = prepare(project, weights_path, preprocessing)
    if fmt == "native":
        from .native import export_native
        done = export_native(prep, out)
    elif fmt == "onnx" and quantize:
        from .quantize import export_quantized
        done = export_quantized(prep, out, quantize, opset=opset, base_dir=base_dir)
    elif fmt == "onnx":
        from .onnx_export import export_onnx
        done = export_onnx(prep, out, opset=opset, verify=verify)
    elif fmt == "pt2":
        from .pt2 import export_pt2
        done = export_pt2(prep, out, verify=verify)
    elif fmt == "source":
        from .source import export_source
        done = export_source(prep, out, verify=verify)
    else:
        from .card import export_card
        done = export_card(prep, out, run_dir=run_dir)
    if prep.warnings:
        done.info["warnings"] = list(prep.warnings)
    if note:
        done.info["run_project"] = note
    return done


def load_native(folder):
    """Open a native export: (project, compiled model with weights, preprocessing dict)."""
    from .native import load_native as _load
    return _load(folder)
