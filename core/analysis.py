"""Validation and shape inference in one pass, run on every edit.

Each problem names the node, says what is wrong and how to fix it. Problems do not
cascade: a node downstream of a broken one is left without a shape, not blamed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Sequence

import math

from . import layers, memory
from .graph import Graph, Node
from .safe_text import shown
from .layers import ParamError, ShapeError, TensorType


MAX_FEATURES = 2**26          # values per sample at any node: 256 MB of float32 for one sample
TRAIN_BYTES_PER_PARAM = 16
MAX_NESTING = 8               # blocks inside blocks, levels (each level is an nn.Module inside the last)


@dataclass(frozen=True)
class Problem:
    node_id: str | None
    message: str
    fix: str = ""
    severity: str = "error"  # or "warning": the model still compiles

    def __str__(self) -> str:
        return f"{self.message}: {self.fix}" if self.fix else self.message


@dataclass
class Analysis:
    order: list[str] = field(default_factory=list)           # topological, nodes feeding Output
    shapes: dict[str, TensorType] = field(default_factory=dict)  # each node's output
    resolved: dict[str, SimpleNamespace] = field(default_factory=dict)
    param_counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    input_id: str | None = None
    output_id: str | None = None
    ports: tuple[TensorType, ...] | None = None   # a block's sub-graph: the types fed to its inputs
    blocks: dict[str, "Analysis"] = field(default_factory=dict)  # block instance id -> its sub-graph's

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(self.param_counts.get(n, 0) for n in self.order)

    def problems_for(self, node_id: str) -> list[Problem]:
        return [p for p in self.problems if p.node_id == node_id]

    def input_types(self, graph: Graph, node_id: str) -> list[TensorType]:
        return [self.shapes[e.src] for e in graph.inputs_of(node_id)]


def analyze(graph: Graph, ports: Sequence[TensorType] | None = None, defs: dict | None = None,
            within: tuple[str, ...] = ()) -> Analysis:
    """`ports`: analyze a block's sub-graph whose inputs get these types (None: a whole network).
    `defs`: the project's block definitions (default `graph.blocks`; a block's sub-graph is given
    the network's), `within`: the blocks this sub-graph is inside (a block may not use itself)."""
    a = Analysis(ports=None if ports is None else tuple(ports))
    defs = graph.blocks if defs is None else defs
    nodes = graph.nodes
    for node in nodes.values():
        try:
            a.resolved[node.id] = node.spec.resolve(node.params)
        except ParamError as e:
            a.problems.append(Problem(node.id, f"{node.label} has an invalid parameter: {e.message}", e.fix))

    if ports is None:
        _check_ends(graph, a)
    else:
        _check_ports(graph, a)
    incoming = _check_edges(graph, a)
    order = _topological(graph, a)
    if order is None:
        return a

    for nid in order:
        node = nodes[nid]
        if nid not in a.resolved:
            continue
        p = a.resolved[nid]
        arity = node.spec.arity(p)
        slots = incoming.get(nid, {})
        missing = [s for s in range(arity) if s not in slots]
        if missing:
            which = "its input" if arity == 1 else f"input {missing[0] + 1} of {arity}"
            a.problems.append(Problem(nid, f"{node.label}: {which} is not connected",
                                      "connect a layer's output to it, or delete the node"))
            continue
        ins = [a.shapes.get(slots[s]) for s in range(arity)]
        if any(t is None for t in ins):
            continue  # upstream already reported
        try:
            out = _infer(graph, node, p, ins, a, defs, within)
        except ShapeError as e:
            a.problems.append(Problem(nid, f"{node.label} {e.message}", e.fix))
            continue
        if math.prod(out.shape) > MAX_FEATURES:
            a.problems.append(Problem(nid, f"{node.label} outputs {shown(out, 80)} = {math.prod(out.shape):.3g} values "
                                           f"per sample (at most {MAX_FEATURES:,})", "use smaller sizes"))
            continue
        a.shapes[nid] = out
        if nid in a.blocks:
            a.param_counts[nid] = a.blocks[nid].total_params
        elif node.spec.count is not None:
            a.param_counts[nid] = node.spec.count(p, ins)

    _check_reachability(graph, a, order)
    _check_memory(graph, a)
    return a


def _infer(graph: Graph, node: Node, p: SimpleNamespace, ins: list[TensorType], a: Analysis,
           defs: dict, within: tuple[str, ...]) -> TensorType:
    spec = node.spec
    if spec.port == "in" and a.ports is not None:
        if p.index >= len(a.ports):
            raise ShapeError(f"is input {p.index + 1} of a block fed {len(a.ports)} input(s)",
                             "number the block's inputs from 0")
        return a.ports[p.index]
    if spec.block:
        inner = _instance(node, p, ins, defs, within)
        a.blocks[node.id] = inner
        return inner.shapes[inner.output_id]
    return spec.infer(p, ins)


def _instance(node: Node, p: SimpleNamespace, ins: list[TensorType], defs: dict,
              within: tuple[str, ...]) -> Analysis:
    """A block instance: its sub-graph analysed with the instance's input types; the first inner
    problem becomes the instance's, naming the block and the inner layer. Blocks nest; a block
    that uses itself (directly or through others) is refused."""
    sub = defs.get(p.block)
    if sub is None:
        raise ShapeError(f"uses the block {p.block!r}, which this project does not define",
                         "import the block's file, or delete the node")
    if p.block in within:
        path = " → ".join((*within[within.index(p.block):], p.block))
        raise ShapeError(f"uses the block {p.block!r} inside itself ({path})",
                         "a block cannot contain itself: delete the inner instance")
    if len(within) >= MAX_NESTING:
        raise ShapeError(f"nests blocks {len(within) + 1} deep (at most {MAX_NESTING})", "flatten some blocks")
    taken = sum(1 for n in sub.nodes.values() if n.spec.port == "in")
    if taken != p.inputs:
        raise ShapeError(f"has {p.inputs} input(s) but the block {p.block!r} takes {taken}",
                         f"set inputs to {taken}")
    inner = analyze(sub, ins, defs, (*within, p.block))
    if inner.errors:
        e = inner.errors[0]
        raise ShapeError(f"(block {p.block}): {e.message}", e.fix)
    return inner


def _check_ports(graph: Graph, a: Analysis) -> None:
    """A block's sub-graph: inputs numbered 0..k-1, one output port, no Input/Output."""
    ins = sorted((n for n in graph.nodes.values() if n.spec.port == "in"), key=lambda n: n.params.get("index", 0))
    outs = [n for n in graph.nodes.values() if n.spec.port == "out"]
    for n in graph.nodes.values():
        if n.spec.role:
            a.problems.append(Problem(n.id, f"{n.label} cannot be inside a block",
                                      "use BlockInput / BlockOutput ports"))
    if [n.params.get("index") for n in ins] != list(range(len(ins))):
        a.problems.append(Problem(ins[0].id if ins else None, "The block's inputs must be numbered 0, 1, … once each",
                                  "renumber the BlockInput ports"))
    if len(outs) != 1:
        a.problems.append(Problem(outs[1].id if outs else None, f"The block has {len(outs)} outputs; it needs one",
                                  "keep exactly one BlockOutput"))
    a.output_id = outs[0].id if outs else None


def _check_memory(graph: Graph, a: Analysis) -> None:
    """Training holds weights, gradients and two optimizer moments: 16 bytes per parameter."""
    total = a.total_params
    try:
        memory.check_budget(TRAIN_BYTES_PER_PARAM * total, f"the network's {total:,} parameters (training)")
    except memory.BudgetError as e:
        node = max(a.param_counts, key=a.param_counts.get) if a.param_counts else None
        cause, _, fix = str(e).partition(": ")
        a.problems.append(Problem(node, cause, fix))


def _check_ends(graph: Graph, a: Analysis) -> None:
    ins = [n for n in graph.nodes.values() if n.spec.role == "input"]
    outs = [n for n in graph.nodes.values() if n.spec.role == "output"]
    if not ins:
        a.problems.append(Problem(None, "The network has no Input", "drag an Input layer onto the canvas"))
    elif len(ins) > 1:
        for extra in ins[1:]:
            a.problems.append(Problem(extra.id, f"{extra.label} is a second Input; a network takes one",
                                      "delete it, or merge the branches from one Input"))
    if not outs:
        a.problems.append(Problem(None, "The network has no Output",
                                  "add an Output layer after the last layer"))
    elif len(outs) > 1:
        for extra in outs[1:]:
            a.problems.append(Problem(extra.id, f"{extra.label} is a second Output; a network has one",
                                      "delete it"))
    for port in (n for n in graph.nodes.values() if n.spec.port):
        a.problems.append(Problem(port.id, f"{port.label} is a block port outside a block",
                                  "delete it; ports belong in a block's own sub-graph"))
    a.input_id = ins[0].id if ins else None
    a.output_id = outs[0].id if outs else None


def _check_edges(graph: Graph, a: Analysis) -> dict[str, dict[int, str]]:
    incoming: dict[str, dict[int, str]] = {}
    arities: dict[str, int] = {}
    for e in graph.edges:
        dst = graph.nodes[e.dst]
        if graph.nodes[e.src].spec.role == "output":
            a.problems.append(Problem(e.src, f"{graph.nodes[e.src].label} has an outgoing connection",
                                      "Output ends the network; remove the connection"))
            continue
        arity = arities.get(e.dst)
        if arity is None:
            p = a.resolved.get(e.dst)
            arity = arities[e.dst] = dst.spec.arity(p) if p is not None else graph.arity(dst)
        if e.slot >= arity:
            a.problems.append(Problem(e.dst, f"{dst.label} has {arity} input(s) but a connection "
                                             f"goes into input {e.slot + 1}", "remove that connection"))
            continue
        if e.slot in incoming.setdefault(e.dst, {}):
            a.problems.append(Problem(e.dst, f"{dst.label}: input {e.slot + 1} is connected twice",
                                      "remove one of the connections"))
            continue
        incoming[e.dst][e.slot] = e.src
    return incoming


def _topological(graph: Graph, a: Analysis) -> list[str] | None:
    indeg = {nid: 0 for nid in graph.nodes}
    succ: dict[str, list[str]] = {nid: [] for nid in graph.nodes}
    for e in graph.edges:
        indeg[e.dst] += 1
        succ[e.src].append(e.dst)
    ready = [nid for nid, d in indeg.items() if d == 0]
    order: list[str] = []
    while ready:
        nid = ready.pop()
        order.append(nid)
        for m in succ[nid]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    if len(order) == len(graph.nodes):
        return order
    cycle = _find_cycle(graph, {n for n, d in indeg.items() if d > 0}, succ)
    names = " → ".join(graph.nodes[n].name for n in cycle)
    a.problems.append(Problem(cycle[0], f"The graph has a cycle: {names}",
                              "remove one of these connections; networks must be acyclic"))
    return None


def _find_cycle(graph: Graph, left: set[str], succ: dict[str, list[str]]) -> list[str]:
    """Every node Kahn's sort left behind has a predecessor also left behind, so walking
    predecessors must revisit a node: that loop, reversed, is a cycle."""
    preds: dict[str, list[str]] = {n: [] for n in left}
    for m in left:
        for n in succ[m]:
            if n in preds:
                preds[n].append(m)
    path, index, node = [], {}, min(left)
    while node not in index:
        index[node] = len(path)
        path.append(node)
        node = min(preds[node])
    loop = path[index[node]:][::-1]
    return loop + [loop[0]]


def _check_reachability(graph: Graph, a: Analysis, order: list[str]) -> None:
    """Keep in `a.order` only the nodes that feed Output; warn about the rest."""
    if a.output_id is None:
        a.order = [n for n in order if n in a.shapes]
        return
    preds: dict[str, list[str]] = {}
    for e in graph.edges:
        preds.setdefault(e.dst, []).append(e.src)
    feeding, stack = set(), [a.output_id]
    while stack:
        n = stack.pop()
        if n not in feeding:
            feeding.add(n)
            stack.extend(preds.get(n, ()))
    if a.input_id is not None and a.input_id not in feeding:
        out = graph.nodes[a.output_id]
        a.problems.append(Problem(a.output_id, f"{out.label} is not reached from the Input",
                                  "connect a path of layers from Input to Output"))
    a.order = [n for n in order if n in feeding]
    blamed = {p.node_id for p in a.problems}
    for nid in order:
        node: Node = graph.nodes[nid]
        if nid not in feeding and node.spec.role != "input" and nid not in blamed:
            a.problems.append(Problem(nid, f"{node.label} does not lead to the Output, so it is unused",
                                      "connect its output onward or delete it", "warning"))
