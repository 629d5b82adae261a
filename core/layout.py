"""Layered left-to-right auto-layout (longest-path layers, barycentre ordering)."""
from __future__ import annotations

from collections import deque

from .graph import Graph

X_GAP = 230.0
Y_GAP = 120.0
ROW_GAP = 60.0


def layered_positions(graph: Graph, wrap: int = 5) -> dict[str, tuple[float, float]]:
    """Left to right by depth; past `wrap` layers the columns continue on a new row below,
    like text, so a long chain fits a window instead of one 4,000-pixel line. Rows share the
    columns evenly (16 columns at wrap 5: 4 rows of 4, not 5+5+5+1); a chain that fits in
    `wrap` columns stays on one row."""
    preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        preds[e.dst].append(e.src)
        succ[e.src].append(e.dst)
    # longest-path depth, iteratively (Kahn), so thousands of layers cannot hit the recursion limit
    indeg = {n: len(preds[n]) for n in graph.nodes}
    queue = deque(n for n in graph.nodes if indeg[n] == 0)
    layer: dict[str, int] = {n: 0 for n in queue}
    while queue:
        n = queue.popleft()
        for m in succ[n]:
            layer[m] = max(layer.get(m, 0), layer[n] + 1)
            indeg[m] -= 1
            if indeg[m] == 0:
                queue.append(m)
    for n in graph.nodes:  # nodes on a cycle: lay them out anyway
        layer.setdefault(n, 0)
    columns: dict[int, list[str]] = {}
    for n in graph.nodes:  # insertion order keeps the user's order stable
        columns.setdefault(layer[n], []).append(n)
    pos: dict[str, tuple[float, float]] = {}
    n_cols = max(columns, default=0) + 1
    wrap = n_cols if wrap <= 0 else wrap
    rows = (n_cols + wrap - 1) // wrap
    wrap = (n_cols + rows - 1) // rows   # balanced rows: never an Output alone on the last row
    row_tops, top = [], 0.0
    for r in range((n_cols + wrap - 1) // wrap):
        tallest = max(len(columns.get(c, ())) for c in range(r * wrap, min(n_cols, (r + 1) * wrap)))
        row_tops.append(top + (tallest - 1) * Y_GAP / 2)
        top += tallest * Y_GAP + ROW_GAP
    for col in sorted(columns):
        ids = columns[col]
        if col > 0:
            def bary(n: str) -> float:
                ys = [pos[p][1] for p in preds[n] if p in pos]
                return sum(ys) / len(ys) if ys else 0.0
            ids.sort(key=bary)  # positions of the previous column, possibly on the row above
        row, x = divmod(col, wrap)
        first = row_tops[row] - (len(ids) - 1) * Y_GAP / 2
        for i, n in enumerate(ids):
            pos[n] = (x * X_GAP, first + i * Y_GAP)
    return pos


def apply_layout(graph: Graph) -> None:
    for nid, p in layered_positions(graph).items():
        graph.move(nid, p)
