"""Native format: a folder LayerLab opens again to evaluate or continue training.

    model/
      project.layerlab.json   the project as trained (graph, data spec, training spec)
      weights.safetensors     keyed by node id, like a run folder's best/last weights
      preprocessing.json      the statistics fitted on the training split
      export.json             what this folder is and which files it holds
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from ..compiler import CompileError, Compiled, compile_graph
from ..project import Project, ProjectError, atomic_write_text, load_project, save_project
from ..weights import WeightsError, load_weights
from .outcome import ExportError, Exported
from .prepared import Prepared, save_weights_readable
from .preprocessing import check_preprocessing, read_preprocessing

FORMAT = "layerlab.native"
VERSION = 1
PROJECT_FILE = "project.layerlab.json"
WEIGHTS_FILE = "weights.safetensors"
PRE_FILE = "preprocessing.json"
MANIFEST = "export.json"


def export_native(prep: Prepared, out: str | os.PathLike) -> Exported:
    import torch

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is a file: the native format is a folder, give a folder path")
    folder.mkdir(parents=True, exist_ok=True)
    save_project(prep.project, folder / PROJECT_FILE)
    meta = {"format": FORMAT, "project": prep.project.name, "torch": torch.__version__}
    save_weights_readable(prep.module, prep.compiled.node_of_module, folder / WEIGHTS_FILE, metadata=meta)
    atomic_write_text(folder / PRE_FILE, json.dumps(prep.preprocessing) + "\n")
    manifest = {"format": FORMAT, "version": VERSION, "project": PROJECT_FILE, "weights": WEIGHTS_FILE,
                "preprocessing": PRE_FILE, "torch": torch.__version__,
                "source_weights": str(prep.weights_path) if prep.weights_path else None}
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return Exported([folder / PROJECT_FILE, folder / WEIGHTS_FILE, folder / PRE_FILE, folder / MANIFEST],
                    {"format": "native", "folder": str(folder)})


class Native(NamedTuple):
    """A native export opened again: unpack as `project, compiled, preprocessing = load_native(p)`,
    or use `.module`, `.preprocess(x)`, `.predict(x)`."""

    project: Project
    compiled: Compiled
    preprocessing: dict

    @property
    def module(self):
        return self.compiled.module

    def preprocess(self, x):
        from .preprocessing import preprocess_module
        return preprocess_module(self.preprocessing)(x)

    def predict(self, x):
        """Raw inputs → outputs (preprocessing applied, evaluation mode, no gradients)."""
        import torch

        self.module.eval()
        with torch.no_grad():
            return self.module(self.preprocess(x))


def load_native(folder: str | os.PathLike) -> Native:
    """Open a native export: the project, its compiled network with the weights loaded (safetensors
    only, never a pickle), and the preprocessing dict. Errors are ExportError naming the file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExportError(f"{folder}: not a folder (a native export is a folder holding {PROJECT_FILE})")
    manifest_path = folder / MANIFEST
    manifest = {}
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ExportError(f"{manifest_path}: unreadable ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ExportError(f"{manifest_path}: not a LayerLab native export")
        if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
            raise ExportError(f"{manifest_path}: version {manifest.get('version')!r} is newer than this "
                              f"LayerLab reads ({VERSION}): update LayerLab")
    names = {}
    for key, default in (("project", PROJECT_FILE), ("weights", WEIGHTS_FILE), ("preprocessing", PRE_FILE)):
        name = manifest.get(key, default)
        # only plain file names inside the folder: a manifest cannot point elsewhere
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise ExportError(f"{manifest_path}: {key} must be a file name inside the folder")
        names[key] = folder / name
    try:
        project = load_project(names["project"])
    except ProjectError as e:
        raise ExportError(str(e)) from None
    try:
        compiled = compile_graph(project.graph)
        load_weights(compiled.module, compiled.node_of_module, names["weights"])
    except (CompileError, WeightsError) as e:
        raise ExportError(f"{folder}: {e}") from None
    compiled.module.eval()
    pre = read_preprocessing(names["preprocessing"]) if names["preprocessing"].is_file() else None
    return Native(project, compiled, check_preprocessing(pre, compiled.input_type))
