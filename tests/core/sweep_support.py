"""Shared by the sweep tests (no tests here): the spiral template saved into a folder."""
from pathlib import Path

from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path


def spiral_file(folder: Path, epochs: int | None = None) -> Path:
    p = load_project(template_path("mlp"))
    p.training.probe_every = 0
    if epochs:
        p.training.epochs = epochs
    path = Path(folder) / "spiral.layerlab.json"
    save_project(p, path)
    return path
