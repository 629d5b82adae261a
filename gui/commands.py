"""Undo commands. Each edits the core graph only; canvas items follow the graph's signals.

Undo restores the graph exactly: removed nodes and edges go back at their old places in
`graph.nodes` / `graph.edges` (Graph.restore), so the saved file is byte-identical.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from PySide6.QtGui import QUndoCommand

from ..core.graph import Edge, Graph, GraphError, Node

MOVE_ID = 1001


def clone(node: Node) -> Node:
    return Node(node.id, node.type, node.name, copy.deepcopy(node.params), tuple(node.pos))


class AddNodes(QUndoCommand):
    """Add nodes and edges that touch them.

    With fresh=True the given node ids and names are placeholders: the first redo lets the
    graph pick new ids (and unique names where a name is taken), maps the edges onto them,
    and later redos reuse exactly those ids, so undo/redo/redo gives the same graph.
    """

    def __init__(self, graph: Graph, nodes: list[Node], edges: list[Edge], text: str = "Add",
                 fresh: bool = False):
        super().__init__(text)
        self.graph = graph
        self.nodes = [clone(n) for n in nodes]
        self.edges = list(edges)
        self._fresh = fresh

    def redo(self) -> None:
        g = self.graph
        if self._fresh:
            self._fresh = False
            ids = {}
            for n in self.nodes:
                name = n.name if n.name and g.by_name(n.name) is None else free_name(g, n.name or n.type)
                added = g.add_node(n.type, copy.deepcopy(n.params), n.pos, name)
                ids[n.id] = added.id
                n.id, n.name = added.id, added.name
            self.edges = [Edge(ids.get(e.src, e.src), ids.get(e.dst, e.dst), e.slot) for e in self.edges]
        else:
            for n in self.nodes:
                g.add_node(n.type, copy.deepcopy(n.params), n.pos, n.name, n.id)
        kept = []
        for e in self.edges:
            try:
                g.connect(e.src, e.dst, e.slot)
                kept.append(e)
            except GraphError:  # an edge of a copied invalid graph: leave it out, and on redo too
                pass
        self.edges = kept

    def undo(self) -> None:
        for e in reversed(self.edges):
            if e in self.graph.edges:
                self.graph.disconnect(e)
        for n in reversed(self.nodes):
            self.graph.remove_node(n.id)

    @property
    def node_ids(self) -> list[str]:
        return [n.id for n in self.nodes]


def free_name(graph: Graph, name: str) -> str:
    """`conv1` when free, else the next free `conv<k>` (copies of conv1 become conv4, ...)."""
    base = re.sub(r"\d+$", "", name) or name
    return graph.unique_name(base)


class RemoveItems(QUndoCommand):
    """Delete nodes (with every edge touching them) and edges."""

    def __init__(self, graph: Graph, node_ids: list[str], edges: list[Edge], text: str = "Delete"):
        super().__init__(text)
        self.graph = graph
        self.node_ids = list(dict.fromkeys(node_ids))
        self.edge_list = [e for e in dict.fromkeys(edges) if e.src not in node_ids and e.dst not in node_ids]
        self.saved_nodes: list[tuple[int, Node]] = []
        self.saved_edges: list[tuple[int, Edge]] = []

    def redo(self) -> None:
        g = self.graph
        ids = set(self.node_ids)
        order = list(g.nodes)
        self.saved_nodes = [(i, clone(g.nodes[nid])) for i, nid in enumerate(order) if nid in ids]
        wanted = set(self.edge_list)
        self.saved_edges = [(i, e) for i, e in enumerate(g.edges) if e.src in ids or e.dst in ids or e in wanted]
        for e in self.edge_list:
            g.disconnect(e)
        for _, n in self.saved_nodes:
            g.remove_node(n.id)

    def undo(self) -> None:
        self.graph.restore([(i, clone(n)) for i, n in self.saved_nodes], self.saved_edges)


class Connect(QUndoCommand):
    """An edge that `Graph.connect` already accepted (done=True): the check runs before the
    command exists, so a refused connection never reaches the undo stack."""

    def __init__(self, graph: Graph, edge: Edge, done: bool = False):
        super().__init__("Connect")
        self.graph = graph
        self.edge = edge
        self._skip = done

    def redo(self) -> None:
        if self._skip:
            self._skip = False
            return
        self.graph.connect(self.edge.src, self.edge.dst, self.edge.slot)

    def undo(self) -> None:
        self.graph.disconnect(self.edge)


class MoveNodes(QUndoCommand):
    """Move nodes. Commands of the same drag (`drag` id) merge into one undo step."""

    def __init__(self, graph: Graph, moves: dict[str, tuple[tuple[float, float], tuple[float, float]]],
                 drag: int | None = None, text: str = "Move"):
        super().__init__(text)
        self.graph = graph
        self.moves = dict(moves)
        self.drag = drag

    def id(self) -> int:
        return MOVE_ID if self.drag is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, MoveNodes) or other.drag != self.drag:
            return False
        for nid, (old, new) in other.moves.items():
            self.moves[nid] = (self.moves[nid][0], new) if nid in self.moves else (old, new)
        if all(old == new for old, new in self.moves.values()):
            self.setObsolete(True)  # dragged back to where it started: no step at all
        return True

    def redo(self) -> None:
        for nid, (_, new) in self.moves.items():
            self.graph.move(nid, new)

    def undo(self) -> None:
        for nid, (old, _) in self.moves.items():
            self.graph.move(nid, old)


class SetParam(QUndoCommand):
    """Change one parameter; undo also restores edges dropped when an Add/Concat loses inputs."""

    def __init__(self, graph: Graph, node_id: str, key: str, value: Any):
        node = graph.node(node_id)
        super().__init__(f"Set {node.name}.{key}")
        self.graph = graph
        self.node_id = node_id
        self.key = key
        self.old = copy.deepcopy(node.params.get(key))
        self.new = copy.deepcopy(value)
        self.dropped: list[tuple[int, Edge]] = []

    def redo(self) -> None:
        before = list(enumerate(self.graph.edges))
        self.graph.set_param(self.node_id, self.key, copy.deepcopy(self.new))
        after = set(self.graph.edges)
        self.dropped = [(i, e) for i, e in before if e not in after]

    def undo(self) -> None:
        self.graph.set_param(self.node_id, self.key, copy.deepcopy(self.old))
        if self.dropped:
            self.graph.restore(edges=self.dropped)


class Rename(QUndoCommand):
    def __init__(self, graph: Graph, node_id: str, name: str):
        self.old = graph.node(node_id).name
        super().__init__(f"Rename {self.old} to {name}")
        self.graph = graph
        self.node_id = node_id
        self.new = name

    def redo(self) -> None:
        self.graph.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.rename(self.node_id, self.old)


class SpliceNode(QUndoCommand):
    """A new layer put into an edge: src → new → dst replaces src → dst in one step. `moves`
    (node id → (old, new) position) make room downstream. Undo removes the layer and puts the
    old edge back at its old index, so the graph is exactly as before."""

    def __init__(self, graph: Graph, node: Node, edge: Edge,
                 moves: dict[str, tuple[tuple[float, float], tuple[float, float]]] | None = None):
        super().__init__(f"Insert {node.type}")
        self.graph = graph
        self.node = clone(node)
        self.edge = edge
        self.moves = dict(moves or {})
        self._fresh = True
        self._index = -1

    def redo(self) -> None:
        g, n, e = self.graph, self.node, self.edge
        self._index = g.edges.index(e)
        if self._fresh:      # the graph picks the id and a free name once; later redos reuse them
            self._fresh = False
            name = n.name if n.name and g.by_name(n.name) is None else free_name(g, n.name or n.type)
            added = g.add_node(n.type, copy.deepcopy(n.params), n.pos, name)
            n.id, n.name = added.id, added.name
        else:
            g.add_node(n.type, copy.deepcopy(n.params), n.pos, n.name, n.id)
        g.disconnect(e)
        g.connect(e.src, n.id, 0)
        g.connect(n.id, e.dst, e.slot)
        for nid, (_, new) in self.moves.items():
            g.move(nid, new)

    def undo(self) -> None:
        g = self.graph
        for nid, (old, _) in self.moves.items():
            g.move(nid, old)
        g.remove_node(self.node.id)      # with its two edges
        g.restore(edges=[(self._index, self.edge)])

    @property
    def node_id(self) -> str:
        return self.node.id


class ReplaceInput(QUndoCommand):
    """A wire dropped on an occupied input: the old edge makes way for the new one, in one step.
    Like Connect, the graph has already checked and made the change (done=True)."""

    def __init__(self, graph: Graph, old: Edge, index: int, new: Edge, done: bool = False):
        super().__init__("Replace connection")
        self.graph = graph
        self.old, self.new, self.index = old, new, index
        self._skip = done

    def redo(self) -> None:
        if self._skip:
            self._skip = False
            return
        self.graph.disconnect(self.old)
        self.graph.connect(self.new.src, self.new.dst, self.new.slot)

    def undo(self) -> None:
        self.graph.disconnect(self.new)
        self.graph.restore(edges=[(self.index, self.old)])
