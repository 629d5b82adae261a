"""Repeats: one set-up trained with k seeds (training.seed, +1, …; the data split stays the same),
then mean ± standard deviation per epoch of every metrics.csv column and of the final metrics,
so a difference smaller than the seed noise shows as one.

Reads run folders with core/train/run_files.py (no torch): the GUI aggregates the folders of a sweep
trial the same way.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..train.run_files import read_json, read_metrics



@dataclass
class Aggregate:
    runs: int
    epochs: list[int] = field(default_factory=list)
    mean: dict[str, list[float]] = field(default_factory=dict)
    std: dict[str, list[float]] = field(default_factory=dict)
    final: dict[str, tuple[float, float]] = field(default_factory=dict)   # metric -> (mean, std)


def _final(run_dir: Path) -> dict[str, float]:
    doc = read_json(run_dir / "result.json")
    out = {}
    for key in ("val_metrics", "test_metrics"):
        metrics = doc.get(key)
        for k, v in (metrics.items() if isinstance(metrics, dict) else ()):
            if isinstance(v, (int, float)) and math.isfinite(v):
                out[k] = float(v)
    return out


def mean_std(values: list[float]) -> tuple[float, float]:
    """NaN where a run has no value (an epoch between validations: core/train/epochs.validates)."""
    if not all(math.isfinite(v) for v in values):
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def aggregate(run_dirs: list[str | Path]) -> Aggregate:
    """Per epoch over the epochs every run reached; final metrics over the runs that finished."""
    tables = [read_metrics(d) for d in run_dirs]
    tables = [t for t in tables if t]
    agg = Aggregate(runs=len(tables))
    if not tables:
        return agg
    n = min(len(t) for t in tables)
    agg.epochs = [int(r["epoch"]) for r in tables[0][:n]]
    columns = [c for c in tables[0][0] if c not in ("epoch", "seconds") and all(c in t[0] for t in tables)]
    for c in columns:
        pairs = [mean_std([t[i][c] for t in tables]) for i in range(n)]
        agg.mean[c] = [m for m, _ in pairs]
        agg.std[c] = [s for _, s in pairs]
    finals = [_final(Path(d)) for d in run_dirs]
    finals = [f for f in finals if f]
    for key in sorted(set().union(*finals)) if finals else []:
        values = [f[key] for f in finals if key in f]
        if len(values) == len(finals):
            agg.final[key] = mean_std(values)
    return agg


def run_repeats(project, seeds: int, out_dir: str | Path, base_dir=None, dataset=None,
                on_event: Callable[[int, Any], None] | None = None, control=None) -> tuple[list, Aggregate]:
    """Train `seeds` copies (seed, seed+1, …) into out_dir/seed-S; (RunResults, Aggregate)."""
    from ..project import Project
    from ..train import Control, Trainer
    if seeds < 1:
        raise ValueError(f"seeds must be ≥ 1 (got {seeds})")
    if dataset is None:
        from ..data import load
        dataset = load(project.data, base_dir)
    out_dir = Path(out_dir)
    results, dirs = [], []
    for k in range(seeds):
        p = Project.from_dict(project.to_dict())
        p.training.seed = project.training.seed + k
        run_dir = out_dir / f"seed-{p.training.seed}"
        ctl = control or Control()
        result = Trainer(p, dataset, base_dir=base_dir, run_dir=run_dir).fit(
            (lambda e, k=k: on_event(k, e)) if on_event else None, ctl)
        results.append(result)
        dirs.append(run_dir)
        if result.status != "finished":
            break
    return results, aggregate(dirs)
