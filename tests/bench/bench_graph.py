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


def residual_doc(n_nodes: int) -> dict:
    """big_graph's layout as a graph dict, built directly (add_node checks each edit against all)."""
    nodes = [{"id": "n1", "type": "Input", "name": "x", "params": {"shape": [32]}}]
    edges, prev, skip = [], "n1", "n1"
    for k in range(1, n_nodes - 2):
        nid = f"n{k + 1}"
        if k % 4 == 0:
            nodes.append({"id": nid, "type": "Add", "name": f"add{k}"})
            edges += [{"src": prev, "dst": nid, "slot": 0}, {"src": skip, "dst": nid, "slot": 1}]
            skip = nid
        else:
            dense = k % 2 == 1
            nodes.append({"id": nid, "type": "Dense" if dense else "ReLU", "name": f"l{k}",
                          "params": {"units": 32} if dense else {}})
            edges.append({"src": prev, "dst": nid})
        prev = nid
    nodes += [{"id": "head", "type": "Dense", "name": "head", "params": {"units": 10}},
              {"id": "out", "type": "Output", "name": "out"}]
    edges += [{"src": prev, "dst": "head"}, {"src": "head", "dst": "out"}]
    return {"nodes": nodes, "edges": edges}


def _cpu_time(fn, repeats: int = 3) -> float:
    """Median CPU seconds of this process: on a shared machine wall time mostly measures the others."""
    import statistics
    import time
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def _load_and_validate(doc):
    from layerlab.core.graph import Graph
    a = analyze(Graph.from_dict(doc))
    assert a.ok, a.problems[:1]


def run() -> list[dict]:
    g = big_graph(200)
    assert len(g.nodes) == 200 and analyze(g).ok
    t_validate = median_time(lambda: analyze(g), repeats=21, warmup=3)
    t_compile = median_time(lambda: compile_graph(g), repeats=5)
    t_plain = median_time(lambda: _plain_pytorch(g), repeats=5)
    doc_10k, doc_20k = residual_doc(10_000), residual_doc(20_000)
    t_10k = _cpu_time(lambda: _load_and_validate(doc_10k))
    t_20k = _cpu_time(lambda: _load_and_validate(doc_20k))
    return [
        figure("graph_validate_20k_s", t_20k, "s", 1.0,
               note=f"load + validate 20,000 nodes, CPU seconds; reference: the 1 s target (10k took {t_10k:.2f} s: "
                    f"ratio {t_20k / t_10k:.2f}, 2 means linear)"),
        figure("graph_validate_200_ms", t_validate * 1e3, "ms", 20.0,
               note="reference: the 20 ms target (runs on every edit)"),
        figure("graph_compile_200_ms", t_compile * 1e3, "ms", t_plain * 1e3,
               note="reference: building the same torch.nn modules by hand"),
    ]
