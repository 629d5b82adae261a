"""The export dialog's parts that are not its form: the formats it offers (a one-line explanation
each, default file names), this project's run folders (newest first, with their best monitored
value), the worker thread that runs core.export, the report text and the style. Torch-free at import."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QHBoxLayout, QWidget

from ..core.export import SUFFIX
from . import theme

# format: (picker label, one-line explanation, default output name from the project slug)
FORMATS = {
    "onnx": ("ONNX (.onnx)", "ONNX — runs in onnxruntime, C++, browsers; preprocessing included", "{}.onnx"),
    "pt2": ("torch.export (.pt2)", "torch.export — torch.export.load() in plain PyTorch; preprocessing included",
            "{}.pt2"),
    "source": ("PyTorch source (.py)", "PyTorch source — a readable model class plus .safetensors weights; "
               "preprocessing included", "{}.py"),
    "native": ("LayerLab folder", "LayerLab folder — project, weights and preprocessing that LayerLab opens again",
               "{}-layerlab"),
    "card": ("Model card (.md)", "Model card — Markdown summary of network, data, set-up and metrics, with the "
             "loss curve", "{}-card.md"),
    "train-script": ("Training script (.py)", "Training script — a standalone .py that reproduces the run "
                     "(DDP-ready); needs no weights", "train_{}.py"),
}
VERIFIED = ("onnx", "pt2", "source")
QUANTIZE = {None: "None (float32)", "int8-dynamic": "int8, dynamic (weights int8; smallest)",
            "int8-static": "int8, static (calibrated on training batches)", "fp16": "float16 (half size)"}
WEIGHTS_FILTER = "safetensors weights (*.safetensors);;All files (*)"
STAMP = re.compile(r"^(\d{8}-\d{6})(?:-(.+))?$")
STYLE = f"""
QLabel#exportFormatHelp, QLabel#exportWeightsHint, QLabel#exportBusyText {{ color: {theme.TEXT_DIM}; }}
QLabel#exportFormatHelp, QLabel#exportWeightsHint {{ padding-bottom: 4px; }}
QLabel#exportError {{ color: #ff8a8a; background: #3a2225; border: 1px solid #7f2a32; border-radius: 4px;
    padding: 6px; }}
QFrame#exportResult {{ background: #1f2a22; border: 1px solid #2f6b43; border-radius: 4px; }}
QComboBox {{ padding: 3px 6px; }}
QRadioButton::indicator {{ width: 12px; height: 12px; border: 1px solid #6b7280; border-radius: 7px;
    background: {theme.BASE}; }}
QRadioButton::indicator:hover {{ border-color: {theme.ACCENT}; }}
QRadioButton::indicator:checked {{ border-color: {theme.ACCENT}; background: qradialgradient(cx:0.5, cy:0.5,
    radius:0.5, fx:0.5, fy:0.5, stop:0 white, stop:0.3 white, stop:0.42 {theme.ACCENT}, stop:1 {theme.ACCENT}); }}
QRadioButton::indicator:disabled {{ border-color: #4b5058; }}
"""


def row(*widgets) -> QWidget:
    """The widgets side by side without margins; None is a stretch."""
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for x in widgets:
        lay.addStretch(1) if x is None else lay.addWidget(x)
    return w


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name or "").strip("_").lower() or "network"


def default_name(fmt: str, project_name: str) -> str:
    return FORMATS[fmt][2].format(slug(project_name))


def graph_problem(analysis) -> str:
    """Why a graph cannot be exported (its first error), or ""."""
    errors = analysis.errors
    if not errors:
        return ""
    n = len(errors)
    return (f"The network has {n} problem{'s' if n != 1 else ''}; fix {'them' if n != 1 else 'it'} to export. "
            f"First: {errors[0]}")


def weights_hint(fmt: str, kind: str, weights: Path | None, own_project: bool = False) -> str:
    """The line under the weights picker: what the export will use. `own_project`: the run's graph
    differs from the current one, so the export uses the project the run trained."""
    if fmt == "train-script":
        return "The script trains from scratch: weights are not needed."
    if weights is None:
        return "Choose the weights to export: a run of this project or a .safetensors file."
    if own_project:
        return f"Uses the run's {weights.name} with the run's own project: the graph has changed since it trained"
    if not (weights.parent / "preprocessing.json").is_file():
        return f"{weights.name}: no preprocessing.json beside it, so the export applies none"
    return f"Uses the run's {weights.name} and its preprocessing.json" if kind == "run" else \
        f"Uses {weights.name} and the preprocessing.json beside it"


def renamed(path: Path, old: str, new: str, project_name: str) -> Path:
    """The output path after the format changed from `old` to `new`: a default name becomes the new
    format's default; a name the user typed keeps its stem and gets the new suffix."""
    if path.name == default_name(old, project_name):
        return path.with_name(default_name(new, project_name))
    stem = path.name[: -len(SUFFIX[old])] if SUFFIX[old] and path.name.endswith(SUFFIX[old]) else path.name
    return path.with_name(stem + SUFFIX[new])


def result_html(exported, warning_color: str) -> tuple[str, Path]:
    """The report of a finished export (files written, measured difference, opset, warnings) as rich
    text, and the folder to open."""
    info, files = exported.info, [Path(p) for p in exported]
    folder = Path(info["folder"]) if info.get("folder") else files[0].parent
    n = len(files)
    lines = [f"<b>✔ Wrote {n} file{'s' if n != 1 else ''}</b> in {html.escape(str(folder))}"]
    lines += [f"&nbsp;&nbsp;• {html.escape(str(p.relative_to(folder) if p.is_relative_to(folder) else p))}"
              for p in files]
    facts = []
    if isinstance(info.get("max_abs_diff"), (int, float)):
        facts.append(f"Max difference vs LayerLab's outputs: <b>{info['max_abs_diff']:.2e}</b>")
    if info.get("opset"):
        facts.append(f"ONNX opset {info['opset']}")
    if facts:
        lines.append(" · ".join(facts))
    if info.get("quantize"):
        lines.append(quantize_table(info))
    if info.get("run_project"):     # the current graph differs: the run's own project was used
        note = str(info["run_project"])
        lines.append(f"ℹ {html.escape(note[:1].upper() + note[1:])}")
    if info.get("preprocessing"):
        lines.append(f"Preprocessing included: {html.escape(str(info['preprocessing']))}")
    lines += [f"<span style='color:{warning_color}'>⚠ {html.escape(str(w))}</span>" for w in info.get("warnings", [])]
    return "<br>".join(lines), folder


def quantize_table(info: dict) -> str:
    """Float32 and quantized side by side: file size, test accuracy (or MAE)."""
    from ..core.export.quantize import comparison_rows   # torch-free

    rows = [("", "float32", info["quantize"]), *comparison_rows(info)]
    cell = "<td style='padding-right:14px'>{}</td>"
    body = "".join("<tr>" + "".join(cell.format(html.escape(c)) for c in r) + "</tr>" for r in rows)
    return f"<table>{body}</table>"


# ---------------------------------------------------------------- this project's runs
@dataclass
class RunInfo:
    path: Path
    name: str
    when: datetime
    metric: str = ""      # "best val_loss 0.412 (epoch 7)"
    status: str = ""

    def label(self) -> str:
        parts = [self.name, f"{self.when:%Y-%m-%d %H:%M}", self.metric or "no metrics yet"]
        if self.status and self.status != "finished":
            parts.append(self.status)
        return "  ·  ".join(parts)


def runs_root(window) -> Path | None:
    """Where the window's project keeps its runs: the training UI knows; else <project dir>/runs."""
    ui = getattr(window, "training_ui", None) or getattr(window, "training", None)
    if ui is not None and hasattr(ui, "runs_root"):
        return Path(ui.runs_root())
    path = window.document.path
    return Path(path).parent / "runs" if path else None


def list_runs(root) -> list[RunInfo]:
    """Run folders under `root` that hold weights, newest first."""
    if root is None or not Path(root).is_dir():
        return []
    runs = []
    for d in Path(root).iterdir():
        if not d.is_dir() or not any((d / f"{w}.safetensors").is_file() for w in ("best", "last")):
            continue
        m = STAMP.match(d.name)
        try:
            when = datetime.strptime(m.group(1), "%Y%m%d-%H%M%S") if m else datetime.fromtimestamp(d.stat().st_mtime)
        except (ValueError, OSError):
            when = datetime.fromtimestamp(0)
        runs.append(RunInfo(d, (m.group(2) or d.name) if m else d.name, when, *_summary(d)))
    return sorted(runs, key=lambda r: (r.when, r.path.name), reverse=True)


def _summary(d: Path) -> tuple[str, str]:
    """(best monitored value, status) from result.json; else the lowest val_loss in metrics.csv."""
    from ..core.train.run_files import read_run
    run = read_run(d)
    return run.best_summary(), str(run.result.get("status", ""))


# ---------------------------------------------------------------- the worker
class ExportThread(QThread):
    """Runs core.export.export(**job); afterwards `result` (Exported) or `error` (one line)."""

    def __init__(self, job: dict, parent=None):
        super().__init__(parent)
        self.setObjectName("exportThread")
        self.job, self.result, self.error = job, None, ""

    def run(self) -> None:
        try:
            from ..core.export import export
            self.result = export(**self.job)
        except ValueError as e:       # ExportError (and bad input) carries a one-line message
            self.error = str(e)
        except Exception as e:        # never leave the dialog waiting
            self.error = f"the export failed unexpectedly ({type(e).__name__}: {e})"
