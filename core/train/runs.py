"""Run folders: everything a training run produced, readable without LayerLab's trainer.

    <run>/project.layerlab.json   the project exactly as trained
    <run>/config.json             resolved settings, seed, device, library versions, data sizes
    <run>/metrics.csv             one row per epoch: epoch,train_loss,val_loss,<2 task metrics>,lr,seconds
    <run>/best.safetensors        weights of the best epoch by the monitored metric (keyed by node id)
    <run>/last.safetensors        weights at the last checkpoint
    <run>/last.state.safetensors  optimizer state tensors, RNG states, and (metadata "state", JSON) the
                                  optimizer's scalars, scheduler and trainer counters: resume continues
                                  exactly where the checkpoint left off. No pickle anywhere.
    <run>/preprocessing.json      the fitted preprocessing (train-split statistics)
    <run>/diagnostics.json        diagnoses raised during the run
    <run>/result.json             final status, best epoch, test metrics

Every file is written atomically (temp file + rename), so a crash leaves the previous version.
"""
from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from ..project import atomic_write_text, save_project
from ..weights import load_weights, read_weights, save_weights
from .run_files import read_metrics

METRICS_FLUSH_S = 0.5     # metrics.csv reaches the disk at least this often (and at checkpoints and close)

STATE_FILE = "last.state.safetensors"


class RunError(ValueError):
    """A run folder that cannot be resumed or read; the message says why and what to do."""


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower()[:40] or "run"


def new_run_dir(root: str | os.PathLike, name: str) -> Path:
    """<root>/<YYYYmmdd-HHMMSS>-<name>, made unique with -2, -3 ..."""
    root = Path(root)
    base = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(name)}"
    path, k = root / base, 2
    while path.exists():
        path, k = root / f"{base}-{k}", k + 1
    return path


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    if hasattr(o, "__dataclass_fields__"):
        from dataclasses import asdict
        return asdict(o)
    return str(o)


def _finite(v):
    """JSON has no NaN / Infinity: write them as null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def dumps(obj: Any) -> str:
    return json.dumps(_finite(json.loads(json.dumps(obj, default=_json_default))), indent=2,
                      ensure_ascii=False) + "\n"


class RunFolder:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._csv = None
        self._columns: list[str] = []

    def file(self, name: str) -> Path:
        return self.path / name

    def create(self) -> "RunFolder":
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_text(self.file(name), dumps(obj))

    def write_project(self, project) -> None:
        save_project(project, self.file("project.layerlab.json"))

    # ------------------------------------------------------------ metrics.csv
    def open_metrics(self, columns: list[str], keep_until: int | None = None) -> None:
        """Start metrics.csv, or (resuming) keep its rows up to epoch `keep_until` and append."""
        self._columns = columns
        path = self.file("metrics.csv")
        rows: list[list[str]] = []
        if keep_until is not None and path.is_file():
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                header = next(reader, None)
                if header == columns:
                    rows = [r for r in reader if r and r[0].isdigit() and int(r[0]) <= keep_until]
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(columns)
            w.writerows(rows)
        self._csv = open(path, "a", newline="", encoding="utf-8")

    def append_metrics(self, row: dict[str, Any]) -> None:
        def fmt(v):
            if isinstance(v, float):
                return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
            return str(v)
        self._csv.write(",".join(fmt(row.get(c, "")) for c in self._columns) + "\n")
        now = time.monotonic()
        if now - getattr(self, "_flushed", 0.0) >= METRICS_FLUSH_S:   # readers see rows within this much
            self.flush_metrics()

    def flush_metrics(self) -> None:
        if self._csv is not None:
            self._csv.flush()
            self._flushed = time.monotonic()

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
            self._csv = None

    def read_metrics(self) -> list[dict[str, float]]:
        return read_metrics(self.path)

    # ------------------------------------------------------------ weights and state
    def save_weights(self, compiled, which: str, metadata: dict[str, str] | None = None) -> None:
        save_weights(compiled.module, compiled.node_of_module, self.file(f"{which}.safetensors"), metadata)

    def save_state_dict(self, compiled, state: dict[str, torch.Tensor], which: str,
                        metadata: dict[str, str] | None = None) -> None:
        """Weights from a module-name-keyed state dict copy (e.g. the in-memory best)."""
        from ..weights import by_node_id
        from safetensors.torch import save_file
        tensors = {k: v.detach().cpu().contiguous() for k, v in by_node_id(state, compiled.node_of_module).items()}
        p = self.file(f"{which}.safetensors")
        tmp = p.with_name(f".{p.name}.tmp")
        save_file(tensors, str(tmp), metadata=metadata)
        os.replace(tmp, p)

    def load_weights(self, compiled, which: str = "last") -> dict[str, str]:
        return load_weights(compiled.module, compiled.node_of_module, self.file(f"{which}.safetensors"))

    def save_state(self, optimizer, scheduler, trainer_state: dict[str, Any], rng: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save_file
        tensors, scalars = flatten_optimizer(optimizer)
        for k, v in rng.items():
            tensors[f"rng.{k}"] = v.detach().cpu().contiguous()
        meta = {"optimizer": scalars, "trainer": trainer_state,
                "scheduler": scheduler.state_dict() if scheduler is not None else None}
        p = self.file(STATE_FILE)
        tmp = p.with_name(f".{p.name}.tmp")
        save_file(tensors, str(tmp), metadata={"state": json.dumps(meta, default=_json_default)})
        os.replace(tmp, p)

    def load_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        path = self.file(STATE_FILE)
        if not path.is_file():
            raise RunError(f"{self.path} has no {STATE_FILE}, so it cannot be resumed: start a new run "
                           "(its weights can still be loaded from last.safetensors)")
        tensors, metadata = read_weights(path, weights_only=False)   # checked in resume_state
        try:
            return tensors, json.loads(metadata["state"])
        except (KeyError, ValueError, RecursionError):   # ValueError: also 5,000-digit numbers
            raise RunError(f"{path} holds no readable training state: start a new run") from None


def flatten_optimizer(optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """optimizer.state_dict() as {"opt.<param>.<key>": tensor} plus JSON-able scalars."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"opt.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"scalars": scalars, "param_groups": sd["param_groups"]}


def restore_optimizer(optimizer, tensors: dict[str, torch.Tensor], saved: dict[str, Any],
                      keep_lr: bool = False) -> None:
    """Load saved per-parameter state into `optimizer`, keeping its own hyperparameters (so a
    changed learning rate or weight decay applies); `keep_lr` also restores each group's lr."""
    sd = optimizer.state_dict()
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    for idx, entry in saved.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(entry)
    n_params = sum(len(g["params"]) for g in sd["param_groups"])
    saved_groups = saved.get("param_groups", [])
    if sum(len(g.get("params", [])) for g in saved_groups) != n_params or any(i >= n_params for i in state):
        raise RunError("the saved optimizer state does not fit this network: resume with the project the run "
                       "was trained with")
    sd["state"] = state
    if keep_lr:
        for g, s in zip(sd["param_groups"], saved_groups):
            g["lr"] = s.get("lr", g["lr"])
    optimizer.load_state_dict(sd)   # moves state to the parameters' device and dtype
    for group in optimizer.param_groups:            # and to their memory layout (channels_last convs)
        for p in group["params"]:
            for k, v in optimizer.state.get(p, {}).items():
                if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                    optimizer.state[p][k] = torch.empty_like(p).copy_(v)


def adopt_runs(src: str | os.PathLike, dst: str | os.PathLike, link: bool = False) -> list[Path]:
    """Bring the run folders under `src` to `dst` (a saved project's runs/ folder): moved, or
    linked (symlinks) when the old location keeps its own project. A name already taken at
    `dst` gets -2, -3 ... Returns the new paths; nothing that is not a run folder is touched."""
    src, dst = Path(src), Path(dst)
    if not src.is_dir() or src.resolve() == dst.resolve():
        return []
    moved = []
    for run in sorted(p for p in src.iterdir() if p.is_dir() and not p.is_symlink()
                      and any((p / f).is_file() for f in ("config.json", "project.layerlab.json"))):
        dst.mkdir(parents=True, exist_ok=True)
        target, k = dst / run.name, 2
        while target.exists() or target.is_symlink():
            target, k = dst / f"{run.name}-{k}", k + 1
        try:
            if link:
                target.symlink_to(run.resolve(), target_is_directory=True)
            else:
                shutil.move(str(run), str(target))   # a rename on one file system
        except OSError:
            continue   # one unmovable run must not stop the others; it stays where it was
        moved.append(target)
    return moved
