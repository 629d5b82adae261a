"""Graph figures: validate + infer and compile of a 200-node graph (every edit re-runs the first)."""
from __future__ import annotations

from layerlab.core.analysis import analyze
from layerlab.core.compiler import compile_graph

from .common import big_graph, figure, median_time


def _plain_pytorch(graph):
    """The same layers built by hand with torch.nn: what compiling costs over plain PyTorch."""
    from torch import nn

    mods = []
    for node in graph.nodes.values():
        if node.type == "Dense":
            mods.append(nn.Linear(32, node.params["units"]))
        elif node.type == "ReLU":
            mods.append(nn.ReLU())
    return nn.ModuleList(mods)


def run() -> list[dict]:
    g = big_graph(200)
    assert len(g.nodes) == 200 and analyze(g).ok
    t_validate = median_time(lambda: analyze(g), repeats=21, warmup=3)
    t_compile = median_time(lambda: compile_graph(g), repeats=5)
    t_plain = median_time(lambda: _plain_pytorch(g), repeats=5)
    return [
        figure("graph_validate_200_ms", t_validate * 1e3, "ms", 20.0,
               note="reference: the 20 ms target (runs on every edit)"),
        figure("graph_compile_200_ms", t_compile * 1e3, "ms", t_plain * 1e3,
               note="reference: building the same torch.nn modules by hand"),
    ]
