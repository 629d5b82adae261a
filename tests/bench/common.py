"""Shared helpers for benchmarks."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def figure(name: str, value: float, unit: str, reference: float, ratio: float | None = None,
           note: str = "") -> dict:
    """ratio defaults to value / reference."""
    out = {"name": name, "value": round(value, 4), "unit": unit, "reference": round(reference, 4),
           "ratio": round(ratio if ratio is not None else value / reference, 3)}
    if note:
        out["note"] = note
    return out


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def big_graph(n_nodes: int):
    """A valid n-node residual MLP: Input, Dense 32 / ReLU blocks with Add skips every 4 nodes, Output."""
    from layerlab.core.graph import Graph

    g = Graph()
    prev = g.add_node("Input", {"shape": [32]})
    skip = prev
    k = 0
    while len(g.nodes) < n_nodes - 2:
        k += 1
        if k % 4 == 0:
            node = g.add_node("Add")
            g.connect(prev.id, node.id, 0)
            g.connect(skip.id, node.id, 1)
            skip = node
        else:
            node = g.add_node("Dense" if k % 2 else "ReLU", {"units": 32} if k % 2 else None)
            g.connect(prev.id, node.id)
        prev = node
    head = g.add_node("Dense", {"units": 10})
    g.connect(prev.id, head.id)
    out = g.add_node("Output")
    g.connect(head.id, out.id)
    from layerlab.core.layout import apply_layout
    apply_layout(g)
    return g
