"""Layered left-to-right auto-layout (longest-path layers, barycentre ordering)."""
from __future__ import annotations

from .graph import Graph

X_GAP = 230.0
Y_GAP = 120.0


def layered_positions(graph: Graph) -> dict[str, tuple[float, float]]:
    preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        preds[e.dst].append(e.src)
        succ[e.src].append(e.dst)
    layer: dict[str, int] = {}

    def depth(n: str, seen: frozenset = frozenset()) -> int:
        if n in layer:
            return layer[n]
        if n in seen:  # a cycle: lay it out anyway
            return 0
        layer[n] = d = 1 + max((depth(p, seen | {n}) for p in preds[n]), default=-1)
        return d

    for n in graph.nodes:
        depth(n)
    columns: dict[int, list[str]] = {}
    for n in graph.nodes:  # insertion order keeps the user's order stable
        columns.setdefault(layer[n], []).append(n)
    pos: dict[str, tuple[float, float]] = {}
    for col in sorted(columns):
        ids = columns[col]
        if col > 0:
            def bary(n: str) -> float:
                ys = [pos[p][1] for p in preds[n] if p in pos]
                return sum(ys) / len(ys) if ys else 0.0
            ids.sort(key=bary)
        top = -(len(ids) - 1) * Y_GAP / 2
        for i, n in enumerate(ids):
            pos[n] = (col * X_GAP, top + i * Y_GAP)
    return pos


def apply_layout(graph: Graph) -> None:
    for nid, p in layered_positions(graph).items():
        graph.move(nid, p)
