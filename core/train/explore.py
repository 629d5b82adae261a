"""Init explorer: one forward pass per init scheme, per-layer activation mean / std / dead
fraction — the "activation variance across layers" view, headless.

A good scheme keeps the spread (std) roughly constant from layer to layer; a too-small one
makes it shrink toward 0 with depth, a too-large one makes it blow up or saturate.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from ..compiler import compile_graph
from ..specs import EXPLORE_INITS, INITS
from .init import initialize
from .probes import collect_probes

DEFAULT_INITS = EXPLORE_INITS


def explore_init(project, inits=DEFAULT_INITS, batch_size: int = 256, seed: int = 0,
                 base_dir: str | Path | None = None, dataset=None) -> dict[str, list[dict]]:
    """For each scheme in `inits`: compile the project's network, initialize it with that
    scheme everywhere (per-layer overrides are ignored, so schemes compare cleanly), push one
    seeded batch of the training data through (BatchNorm on batch statistics, dropout off) and
    record each layer's row {name, type, mean, std, dead_fraction, saturated_fraction}.

    dataset: an already loaded core.data Dataset (else loaded from project.data, with paths
    relative to base_dir). Raises ValueError (CompileError, DataError, ...) with a one-line
    reason for an unknown scheme, a network that does not compile, or data that does not fit."""
    inits = list(inits)
    unknown = [s for s in inits if s not in INITS]
    if unknown or not inits:
        raise ValueError(f"unknown init scheme {unknown[0]!r}: use {', '.join(INITS)}" if unknown
                         else f"no init scheme given: use {', '.join(INITS)}")
    if batch_size < 1:
        raise ValueError(f"the batch size must be at least 1 (got {batch_size})")
    compiled = compile_graph(project.graph)
    if dataset is None:
        from ..data import load
        dataset = load(project.data, base_dir)
    want = tuple(compiled.input_type.shape)
    if tuple(dataset.input_shape) != want:
        raise ValueError(f"the Input takes [B, {', '.join(map(str, want))}] but the data set gives "
                         f"[B, {', '.join(map(str, dataset.input_shape))}]: set the Input's shape to match")
    x = dataset.x_train
    g = torch.Generator().manual_seed(seed)
    batch = x[torch.randperm(len(x), generator=g)[:batch_size]] if len(x) > batch_size else x
    out = {}
    for scheme in inits:
        torch.manual_seed(seed)  # every scheme draws from the same random stream
        initialize(compiled, project.graph, dataclasses.replace(project.training, init=scheme, init_overrides={}))
        snap = collect_probes(compiled, batch, 0, graph=project.graph, batch_stats=True)
        out[scheme] = [{"name": s.name, "type": s.type, "mean": s.act_mean, "std": s.act_std,
                        "dead_fraction": s.dead_fraction, "saturated_fraction": s.saturated_fraction}
                       for s in snap.layers]
    return out
