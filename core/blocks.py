"""Blocks: reusable sub-graphs a project defines once (`Graph.blocks`: name -> sub-graph with
BlockInput / BlockOutput ports) and uses as `Block` nodes, each instance with weights of its own.

Here: turning selected nodes into a block (`plan_block` / `apply_block`, which the GUI's undo
command replays) and the block file (`save_block` / `load_block`) that carries one block between
projects, read as defensively as a project file."""
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
    if any(n.spec.role or n.spec.port or n.spec.block for n in chosen):
        raise BlockError("a block holds layers only: leave Input, Output, ports and other blocks out of the selection")
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
def block_to_dict(name: str, sub: Graph) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "name": name, "graph": sub.to_dict()}


def save_block(name: str, sub: Graph, path: str | os.PathLike) -> None:
    atomic_write_text(path, json.dumps(block_to_dict(name, sub), indent=2, ensure_ascii=False) + "\n")


def load_block(path: str | os.PathLike) -> tuple[str, Graph]:
    """(name, sub-graph) from a block file; BlockError in one line naming the file otherwise."""
    p = Path(path)
    try:
        doc = read_json_file(p, MAX_FILE_BYTES, "a block", SUFFIX)
        return block_from_dict(doc)
    except (ProjectError, GraphError, BlockError) as e:
        text = str(e) if str(e).startswith(str(p)) else f"{p}: {e}"
        raise BlockError(shown(" ".join(text.splitlines()), 600)) from None


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
    if any(n.spec.role or n.spec.block for n in sub.nodes.values()):
        raise BlockError("a block cannot hold Input, Output or other blocks")
    return name, sub


def import_block(graph: Graph, name: str, sub: Graph) -> str:
    """Add a loaded block to the graph's definitions under a free name (name, name_2, …)."""
    final, k = name, 2
    while final in graph.blocks:
        final, k = f"{name}_{k}", k + 1
    graph.blocks[final] = sub
    graph.changed.emit()
    return final
