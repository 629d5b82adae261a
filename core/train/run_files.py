"""Reading a run folder (see runs.py for what it holds): the one reader the trainer (resume), the
exports, the experiments and the GUI's run lists all ask. Torch-free, and it never raises on a
bad folder: a file that is missing, not a regular file, too big or unreadable reads as empty.
Run folders may come from elsewhere (copied, adopted), so sizes are checked before reading."""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

MAX_JSON_BYTES = 16 << 20      # config / result / preprocessing JSON beyond this is not a LayerLab one
MAX_METRICS_BYTES = 64 << 20   # nor is a metrics.csv beyond this
PROJECT_FILE = "project.layerlab.json"   # the project exactly as the run trained it


def _regular(path: Path, limit: int) -> bool:
    try:
        return path.is_file() and path.stat().st_size <= limit
    except OSError:
        return False


def read_json(path: str | Path) -> dict:
    """A JSON object file as a dict; {} when absent, unreadable, too big or not an object."""
    path = Path(path)
    if not _regular(path, MAX_JSON_BYTES):
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_metrics(run_dir: str | Path) -> list[dict[str, float]]:
    """metrics.csv as one dict per epoch ("epoch" an int, the rest floats, nan/inf kept). Empty cells
    (a metric the run has none of) are left out; reading stops at a row that does not parse, such
    as the half-written last line of a running run."""
    path = Path(run_dir) / "metrics.csv"
    if not _regular(path, MAX_METRICS_BYTES):
        return []
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for raw in csv.DictReader(f):
                row = _parse_row(raw)
                if row is None:
                    break
                rows.append(row)
    except (OSError, UnicodeDecodeError, csv.Error):
        return rows
    return rows


def _parse_row(raw: dict) -> dict[str, float] | None:
    row: dict[str, float] = {}
    for k, v in raw.items():
        if k is None or v is None:          # more or fewer cells than the header
            return None
        if v == "":
            continue
        try:
            row[k] = float(v)
        except ValueError:
            return None
    if "epoch" in row:
        if not math.isfinite(row["epoch"]):
            return None
        row["epoch"] = int(row["epoch"])
    return row


@dataclass
class RunRecord:
    """What the run lists show of one run folder."""
    path: Path
    config: dict
    result: dict = field(default_factory=dict)
    rows: list[dict[str, float]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def has_weights(self) -> bool:
        return any((self.path / f"{w}.safetensors").is_file() for w in ("best", "last"))

    def best_summary(self) -> str:
        """ "best val_accuracy 0.93 (epoch 7)" from result.json, else the lowest val_loss; "" if none."""
        r = self.result
        if isinstance(r.get("best_value"), (int, float)) and r.get("best_epoch"):
            return f"best {r.get('monitor', 'val_loss')} {r['best_value']:.4g} (epoch {r['best_epoch']})"
        values = [row["val_loss"] for row in self.rows if math.isfinite(row.get("val_loss", math.nan))]
        return f"best val_loss {min(values):.4g}" if values else ""


def read_run(path: str | Path) -> RunRecord:
    """Every readable part of a run folder (empty parts for what is missing)."""
    path = Path(path)
    return RunRecord(path, read_json(path / "config.json"), read_json(path / "result.json"), read_metrics(path))


def read_project(run_dir: str | Path):
    """The project the run trained (its project.layerlab.json) as a Project; None when the folder
    has none or it does not load (load_project checks size, nesting and every field)."""
    from ..project import MAX_FILE_BYTES, ProjectError, load_project

    path = Path(run_dir) / PROJECT_FILE
    if not _regular(path, MAX_FILE_BYTES):
        return None
    try:
        return load_project(path)
    except ProjectError:
        return None
