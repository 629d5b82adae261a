"""Blocks: reusable sub-graphs a project defines once (`Graph.blocks`: name -> sub-graph with
BlockInput / BlockOutput ports) and uses as `Block` nodes, each instance with weights of its own.

Here: turning selected nodes into a block (`plan_block` / `apply_block`, which the GUI's undo
command replays) and the block file (`save_block` / `read_block`) that carries one block between
projects (with the blocks it holds: blocks nest), read as defensively as a project file."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .graph import Edge, Graph, GraphError, Node
from .project import (MAX_DEPTH, ProjectError, atomic_write_text, check_block_name, nesting_depth,
                      read_json_file)
from .safe_text import shown

FORMAT = "layerlab.block"
VERSION = 1
SUFFIX = ".layerlab-block.json"
MAX_FILE_BYTES = 8 * 2**20


PALETTE_PREFIX = "Block:"   # the palette's entry for a block: "Block:<name>"


class BlockError(Exception):
    """A block file that cannot be read or a selection that cannot become a block; one line."""


# ---------------------------------------------------------------- layers inside block instances
QUALIFIER = "/"     # "n5/n3": inner node n3 of block instance n5 (the compiler's LayerRef.qid)


def qualified_layers(graph: Graph) -> dict[str, Node]:
    """Qualified id -> Node for every layer of the network (no Input/Output/ports): block
    instances, then their inner layers as "instance/inner" (recursively). Torch-free; a block
    that (crafted) contains itself is walked once."""
    out: dict[str, Node] = {}

    def walk(g: Graph, prefix: str, seen: tuple[str, ...]) -> None:
        for node in g.nodes.values():
            if node.spec.role or node.spec.port:
                continue
            out[prefix + node.id] = node
            block = node.params.get("block") if node.spec.block else None
            if block in graph.blocks and block not in seen:
                walk(graph.blocks[block], f"{prefix}{node.id}{QUALIFIER}", (*seen, block))

    walk(graph, "", ())
    return out


def within(qid: str, ids) -> bool:
    """`qid` is one of `ids` or inside a block instance that is."""
    parts = qid.split(QUALIFIER)
    return any(QUALIFIER.join(parts[:k]) in ids for k in range(1, len(parts) + 1))


# ---------------------------------------------------------------- make a block from a selection
@dataclass
class BlockPlan:
    name: str                             # the new block's name (a key of Graph.blocks)
    sub: Graph                            # its sub-graph, ports included
    removed: list[str]                    # node ids the block replaces
    node: Node                            # the Block node that replaces them
    edges: list[Edge] = field(default_factory=list)   # edges into and out of the Block node


def plan_block(graph: Graph, ids, name: str) -> BlockPlan:
    """What making a block of `ids` does, computed without touching `graph`. Each outside node
    feeding the selection becomes one input port (in the order of the graph's edges); every edge
    leaving the selection must start at the same node, the block's one output."""
    check_block_name(name)
    if name in graph.blocks:
        raise BlockError(f"a block named {name!r} already exists: pick another name")
    chosen = [graph.node(i) for i in graph.nodes if i in set(ids)]
    if not chosen:
        raise BlockError("select the layers to make a block of")
    if any(n.spec.role or n.spec.port for n in chosen):
        raise BlockError("a block holds layers and blocks only: leave Input, Output and ports out of the selection")
    inside = {n.id for n in chosen}
    into = [e for e in graph.edges if e.dst in inside and e.src not in inside]
    out = [e for e in graph.edges if e.src in inside and e.dst not in inside]
    sources = list(dict.fromkeys(e.src for e in into))
    ends = list(dict.fromkeys(e.src for e in out))
    if not sources or len(ends) != 1:
        raise BlockError(f"the selection takes {len(sources)} input(s) and passes on {len(ends)} value(s): "
                         "a block needs at least one input and exactly one layer whose output leaves it")
    if any(graph.reaches(e.dst, s) for e in out for s in sources):
        raise BlockError("a path leaves the selection and comes back into it: select the layers on that path too")
    sub = _sub_graph(graph, chosen, inside, into, sources, ends[0])
    xs = [n.pos[0] for n in chosen]
    ys = [n.pos[1] for n in chosen]
    node = Node(graph._new_id(), "Block", graph.unique_name(name),
                {"block": name, "inputs": len(sources)}, (sum(xs) / len(xs), sum(ys) / len(ys)))
    edges = [Edge(s, node.id, k) for k, s in enumerate(sources)]
    edges += [Edge(node.id, e.dst, e.slot) for e in out]
    return BlockPlan(name, sub, [n.id for n in chosen], node, edges)


def _sub_graph(graph: Graph, chosen: list[Node], inside: set[str], into: list[Edge],
               sources: list[str], end: str) -> Graph:
    sub = Graph()
    for n in chosen:
        sub._load_node(n.type, dict(n.params), n.pos, n.name, n.id, {m.name for m in sub.nodes.values()})
    left = min(n.pos[0] for n in chosen) - 180
    ports = {}
    for k, s in enumerate(sources):
        port = sub.add_node("BlockInput", {"index": k}, (left, graph.nodes[s].pos[1]), name=sub.unique_name("x"))
        ports[s] = port.id
    right = max(n.pos[0] for n in chosen) + 180
    exit_ = sub.add_node("BlockOutput", {}, (right, graph.nodes[end].pos[1]), name=sub.unique_name("out"))
    sub.edges += [e for e in graph.edges if e.src in inside and e.dst in inside]
    sub.edges += [Edge(ports[e.src], e.dst, e.slot) for e in into]
    sub.edges.append(Edge(end, exit_.id, 0))
    return sub


def apply_block(graph: Graph, plan: BlockPlan) -> Node:
    """Replace the planned nodes by the Block node (the definition is added first)."""
    graph.blocks[plan.name] = plan.sub
    for nid in plan.removed:
        graph.remove_node(nid)
    n = plan.node
    node = graph.add_node(n.type, dict(n.params), n.pos, name=n.name, id=n.id)
    for e in plan.edges:
        graph.connect(e.src, e.dst, e.slot)
    return node


def palette_entry(graph: Graph, entry: str) -> tuple[str, dict]:
    """(layer type, params) for a palette entry: "Block:res" is an instance of the block res."""
    if not entry.startswith(PALETTE_PREFIX):
        return entry, {}
    name = entry[len(PALETTE_PREFIX):]
    sub = graph.blocks.get(name)
    ports = sum(1 for n in sub.nodes.values() if n.spec.port == "in") if sub is not None else 1
    return "Block", {"block": name, "inputs": max(1, ports)}


# ---------------------------------------------------------------- block files
def uses(sub: Graph, defs: dict[str, Graph]) -> list[str]:
    """The blocks `sub` uses, directly or inside those, each once, a block after the blocks it
    uses (the order to define them in); names `defs` lacks are left out."""
    order: list[str] = []

    def visit(g: Graph, path: tuple[str, ...]) -> None:
        for n in g.nodes.values():
            name = n.params.get("block") if n.spec.block else None
            if name in defs and name not in order and name not in path:
                visit(defs[name], (*path, name))
                order.append(name)

    visit(sub, ())
    return order


def block_to_dict(name: str, sub: Graph, defs: dict[str, Graph] | None = None) -> dict[str, Any]:
    """The block file's document; a block holding other blocks carries their definitions."""
    doc = {"format": FORMAT, "version": VERSION, "name": name, "graph": sub.to_dict()}
    inner = [b for b in uses(sub, defs or {}) if b != name]
    if inner:
        doc["blocks"] = {b: defs[b].to_dict() for b in inner}
    return doc


def save_block(name: str, sub: Graph, path: str | os.PathLike, defs: dict[str, Graph] | None = None) -> None:
    atomic_write_text(path, json.dumps(block_to_dict(name, sub, defs), indent=2, ensure_ascii=False) + "\n")


def load_block(path: str | os.PathLike) -> tuple[str, Graph]:
    """(name, sub-graph) from a block file; BlockError in one line naming the file otherwise."""
    name, sub, _ = read_block(path)
    return name, sub


def read_block(path: str | os.PathLike) -> tuple[str, Graph, dict[str, Graph]]:
    """(name, sub-graph, the definitions of the blocks it holds) from a block file."""
    p = Path(path)
    try:
        doc = read_json_file(p, MAX_FILE_BYTES, "a block", SUFFIX)
        name, sub = block_from_dict(doc)
        return name, sub, _carried(doc, name, sub)
    except (ProjectError, GraphError, BlockError) as e:
        text = str(e) if str(e).startswith(str(p)) else f"{p}: {e}"
        raise BlockError(shown(" ".join(text.splitlines()), 600)) from None


def _carried(doc: dict, name: str, sub: Graph) -> dict[str, Graph]:
    from .project import blocks_from_dict

    defs = blocks_from_dict(doc.get("blocks", {}))
    if name in defs:
        raise BlockError(f"the file defines the block {name!r} twice")
    for g in (sub, *defs.values()):
        for n in g.nodes.values():
            if n.spec.block and n.params.get("block") not in defs:
                raise BlockError(f"the block uses the block {shown(repr(n.params.get('block')), 60)}, which the file "
                                 "does not carry: export it again from the project that defines it")
    return defs


def plan_import(graph: Graph, name: str, sub: Graph, defs: dict[str, Graph] | None = None) -> list[tuple[str, Graph]]:
    """The definitions to add for an imported block, in order, each under a free name (name,
    name_2, …) with the instances inside renamed to match; a carried block identical to one the
    project has under the same name is reused."""
    renamed: dict[str, str] = {}
    out: list[tuple[str, Graph]] = []
    taken = set(graph.blocks)
    defs = defs or {}
    for b, g in [*((b, defs[b]) for b in uses(sub, defs)), (name, sub)]:
        g = g.copy()
        for n in g.nodes.values():
            if n.spec.block and n.params.get("block") in renamed:
                n.params["block"] = renamed[n.params["block"]]
        if b != name and b in graph.blocks and graph.blocks[b].to_dict() == g.to_dict():
            renamed[b] = b
            continue
        final, k = b, 2
        while final in taken:
            final, k = f"{b}_{k}", k + 1
        taken.add(final)
        renamed[b] = final
        out.append((final, g))
    return out


def block_from_dict(doc: Any) -> tuple[str, Graph]:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BlockError(f"not a LayerLab block: format is {shown(repr(doc.get('format') if isinstance(doc, dict) else None), 60)}, "
                         f"expected {FORMAT!r}")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise BlockError(f"the block's version {shown(repr(version), 40)} is not one this LayerLab reads ({VERSION})")
    if nesting_depth(doc) > MAX_DEPTH:
        raise BlockError(f"the block nests over {MAX_DEPTH} levels deep: the file is crafted or damaged")
    name = doc.get("name")
    check_block_name(name)
    sub = Graph.from_dict(doc.get("graph"))
    outs = [n for n in sub.nodes.values() if n.spec.port == "out"]
    if len(outs) != 1 or not any(n.spec.port == "in" for n in sub.nodes.values()):
        raise BlockError("a block needs one BlockOutput and at least one BlockInput")
    if any(n.spec.role for n in sub.nodes.values()):
        raise BlockError("a block cannot hold Input or Output")
    return name, sub


def import_block(graph: Graph, name: str, sub: Graph, defs: dict[str, Graph] | None = None) -> str:
    """Add a loaded block (and the blocks it carries, `defs`) to the graph's definitions under
    free names (name, name_2, …); returns the block's final name."""
    plan = plan_import(graph, name, sub, defs)
    for final, g in plan:
        graph.blocks[final] = g
    graph.changed.emit()
    return plan[-1][0]
