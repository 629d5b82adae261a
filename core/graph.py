"""The network graph: the one source of truth that canvas, inference and compiler read.

Every change goes through a method here and is announced with a psygnal signal, so views
follow the graph instead of holding state of their own.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from psygnal import Signal

from . import layers
from .safe_text import shown


class GraphError(ValueError):
    """An edit the graph refuses. `message` says why, `fix` what to do instead."""

    def __init__(self, message: str, fix: str = ""):
        super().__init__(f"{message}: {fix}" if fix else message)
        self.message = message
        self.fix = fix


@dataclass
class Node:
    id: str
    type: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] = (0.0, 0.0)

    @property
    def spec(self) -> layers.LayerSpec:
        return layers.get(self.type)

    @property
    def label(self) -> str:
        return f"{self.type} '{self.name}'"


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    slot: int = 0


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_NODES = 50_000   # validation is linear, but the canvas and generated code are not meant for more
# node ids key weights ("<id>.weight") and file names: no "." and nothing a path could misread
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Node names become variable and sub-module names in generated code; these would shadow
# nn.Module / GraphModule attributes or names the generated code uses.
RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset("""
self forward training train eval to cuda cpu type float double half bfloat16 parameters
named_parameters buffers named_buffers modules named_modules children named_children state_dict
load_state_dict apply zero_grad register_buffer register_parameter register_module add_module
get_submodule get_parameter get_buffer requires_grad_ share_memory extra_repr compile ipu xpu mtia
code graph recompile print_readable delete_submodule delete_all_unused_submodules to_folder
to_empty set_extra_state get_extra_state register_forward_hook register_forward_pre_hook
register_full_backward_hook register_full_backward_pre_hook register_backward_hook T_destination
dump_patches call_super_init add_submodule set_submodule
register_state_dict_pre_hook register_state_dict_post_hook register_load_state_dict_pre_hook
register_load_state_dict_post_hook torch nn F math operator input print len range list dict tuple int
str bool object super None True False getattr setattr
""".split())


def check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise GraphError(f"{shown(repr(name))} is not a valid layer name",
                         "use letters, digits and _, starting with a letter (at most 64)")
    if name in RESERVED or name.startswith("_"):
        raise GraphError(f"{name!r} is reserved in generated PyTorch code", "pick another name")


class Graph:
    """Nodes and edges with change signals. Edits are checked; loads are lenient and
    leave semantic problems (cycles, missing inputs) to validation."""

    node_added = Signal(object)          # Node
    node_removed = Signal(object)        # Node
    node_renamed = Signal(str, str)      # node id, new name
    node_moved = Signal(str, object)     # node id, (x, y)
    param_changed = Signal(str, str, object)  # node id, param, value
    edge_added = Signal(object)          # Edge
    edge_removed = Signal(object)        # Edge
    changed = Signal()                   # anything that can change shapes or validity

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        self._next_id = 1
        # the project's block definitions (name -> sub-graph), shared by every instance in the
        # graph; Project loads and saves them (core/project.py), analysis and compiler read them
        self.blocks: dict[str, Graph] = {}

    # ------------------------------------------------------------ queries
    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"there is no node {node_id!r}") from None

    def by_name(self, name: str) -> Node | None:
        return next((n for n in self.nodes.values() if n.name == name), None)

    def inputs_of(self, node_id: str) -> list[Edge]:
        return sorted((e for e in self.edges if e.dst == node_id), key=lambda e: e.slot)

    def outputs_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    def arity(self, node: Node) -> int:
        spec = node.spec
        if not callable(spec.inputs):
            return spec.inputs
        try:
            return spec.arity(spec.resolve(node.params))
        except layers.ParamError:
            return spec.arity(spec.resolve({}))

    def reaches(self, start: str, goal: str) -> bool:
        """True if a directed path leads from start to goal."""
        seen, stack = set(), [start]
        succ: dict[str, list[str]] = {}
        for e in self.edges:
            succ.setdefault(e.src, []).append(e.dst)
        while stack:
            n = stack.pop()
            if n == goal:
                return True
            if n not in seen:
                seen.add(n)
                stack.extend(succ.get(n, ()))
        return False

    def unique_name(self, base: str) -> str:
        base = re.sub(r"\W", "", base.lower()) or "layer"
        taken = {n.name for n in self.nodes.values()}
        k = 1
        while f"{base}{k}" in taken or f"{base}{k}" in RESERVED:
            k += 1
        return f"{base}{k}"

    # ------------------------------------------------------------ edits
    def add_node(self, type: str, params: dict[str, Any] | None = None, pos=(0.0, 0.0),
                 name: str | None = None, id: str | None = None) -> Node:
        try:
            spec = layers.get(type)
        except KeyError as e:
            raise GraphError(str(e.args[0])) from None
        if name is None:
            name = self.unique_name(type)
        check_name(name)
        if self.by_name(name):
            raise GraphError(f"a layer named {name!r} already exists", "pick another name")
        if id is None:
            id = self._new_id()
        elif id in self.nodes:
            raise GraphError(f"node id {id!r} is used twice")
        merged = spec.defaults()
        merged.update(params or {})
        node = Node(id, type, name, merged, (float(pos[0]), float(pos[1])))
        self.nodes[id] = node
        self._bump_id(id)
        self.node_added.emit(node)
        self.changed.emit()
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        node = self.node(node_id)
        removed = [e for e in self.edges if node_id in (e.src, e.dst)]
        for e in removed:
            self.edges.remove(e)
            self.edge_removed.emit(e)
        del self.nodes[node_id]
        self.node_removed.emit(node)
        self.changed.emit()
        return node, removed

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        if name == node.name:
            return
        check_name(name)
        if self.by_name(name):
            raise GraphError(f"a layer named {name!r} already exists", "pick another name")
        node.name = name
        self.node_renamed.emit(node_id, name)
        self.changed.emit()

    def move(self, node_id: str, pos) -> None:
        node = self.node(node_id)
        node.pos = (float(pos[0]), float(pos[1]))
        self.node_moved.emit(node_id, node.pos)

    def set_param(self, node_id: str, key: str, value: Any) -> None:
        node = self.node(node_id)
        if key not in node.spec.defaults():
            raise GraphError(f"{node.type} has no parameter {key!r}")
        node.params[key] = value
        # fewer ports after lowering Add/Concat `inputs`: drop edges into vanished slots
        arity = self.arity(node)
        for e in [e for e in self.edges if e.dst == node_id and e.slot >= arity]:
            self.edges.remove(e)
            self.edge_removed.emit(e)
        self.param_changed.emit(node_id, key, value)
        self.changed.emit()

    def connect(self, src: str, dst: str, slot: int = 0) -> Edge:
        """Add an edge after checking it: refused edges never enter the graph."""
        s, d = self.node(src), self.node(dst)
        if s.spec.role == "output":
            raise GraphError(f"{s.label} is the network's end and has no output to connect")
        arity = self.arity(d)
        if arity == 0:
            raise GraphError(f"{d.label} takes no inputs", "connect into a layer's input port")
        if not 0 <= slot < arity:
            raise GraphError(f"{d.label} has {arity} input(s); there is no input {slot + 1}",
                             "connect into one of its input ports")
        if any(e.dst == dst and e.slot == slot for e in self.edges):
            raise GraphError(f"input {slot + 1} of {d.label} is already connected",
                             "remove that connection first")
        if src == dst or self.reaches(dst, src):
            raise GraphError(f"connecting {s.label} to {d.label} would make a cycle",
                             "networks are acyclic; connect to a later layer instead")
        edge = Edge(src, dst, slot)
        self.edges.append(edge)
        self.edge_added.emit(edge)
        self.changed.emit()
        return edge

    def disconnect(self, edge: Edge) -> None:
        self.edges.remove(edge)
        self.edge_removed.emit(edge)
        self.changed.emit()

    def restore(self, nodes: Iterable[tuple[int, Node]] = (), edges: Iterable[tuple[int, Edge]] = ()) -> None:
        """Undo support: put removed nodes and edges back exactly, unchecked, each at its old
        index in `nodes` / `edges` (pass them in ascending index order); announced like
        add_node / connect, nodes before edges, then one `changed`."""
        nodes, edges = list(nodes), list(edges)
        if nodes:
            items = list(self.nodes.items())
            for index, node in nodes:
                if node.id in self.nodes:
                    raise GraphError(f"node id {node.id!r} is used twice")
                items.insert(index, (node.id, node))
                self._bump_id(node.id)
            self.nodes.clear()
            self.nodes.update(items)
        for index, edge in edges:
            self.edges.insert(index, edge)
        for _, node in nodes:
            self.node_added.emit(node)
        for _, edge in edges:
            self.edge_added.emit(edge)
        if nodes or edges:
            self.changed.emit()

    # ------------------------------------------------------------ helpers
    def _new_id(self) -> str:
        while f"n{self._next_id}" in self.nodes:
            self._next_id += 1
        return f"n{self._next_id}"

    def _bump_id(self, node_id: str) -> None:
        if node_id.startswith("n") and node_id[1:].isdigit():
            self._next_id = max(self._next_id, int(node_id[1:]) + 1)

    # ------------------------------------------------------------ (de)serialization
    def to_dict(self) -> dict:
        return {
            "nodes": [{"id": n.id, "type": n.type, "name": n.name, "params": _jsonable(n.params),
                       "pos": [round(n.pos[0], 2), round(n.pos[1], 2)]} for n in self.nodes.values()],
            "edges": [{"src": e.src, "dst": e.dst, "slot": e.slot} for e in self.edges],
        }

    @classmethod
    def from_dict(cls, data: Any) -> "Graph":
        """Build a graph from parsed JSON; raises GraphError naming the bad entry."""
        g = cls()
        if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) \
                or not isinstance(data.get("edges", []), list):
            raise GraphError("graph must hold a list of nodes and a list of edges")
        if len(data["nodes"]) > MAX_NODES or len(data.get("edges", [])) > 4 * MAX_NODES:
            raise GraphError(f"the graph has {len(data['nodes']):,} nodes and {len(data.get('edges', [])):,} edges "
                             f"(LayerLab edits at most {MAX_NODES:,} nodes and {4 * MAX_NODES:,} edges)",
                             "split the network or build it in code")
        names: set[str] = set()
        for i, raw in enumerate(data["nodes"]):
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("type"), str):
                raise GraphError(f"node {i + 1} needs a string id and a string type")
            if not _ID.match(raw["id"]):
                raise GraphError(f"node {i + 1} has the id {shown(repr(raw['id']))}",
                                 "ids are 1 to 64 letters, digits, _ or - (no '.', which would split weight names)")
            params = raw.get("params", {})
            pos = raw.get("pos", [0, 0])
            if not isinstance(params, dict):
                raise GraphError(f"node {raw['id']!r}: params must be an object")
            if (not isinstance(pos, list) or len(pos) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e9
                               and v == v for v in pos)):
                raise GraphError(f"node {raw['id']!r}: pos must be [x, y]")
            spec = layers.REGISTRY.get(raw["type"])
            unknown = params.keys() - spec._by_name.keys() if spec is not None else ()
            if unknown:
                raise GraphError(f"node {raw['id']!r}: {raw['type']} has no parameter {shown(repr(sorted(unknown)[0]))}")
            g._load_node(raw["type"], params, tuple(pos), raw.get("name"), raw["id"], names)
        for i, raw in enumerate(data.get("edges", [])):
            if (not isinstance(raw, dict) or not isinstance(raw.get("src"), str) or not isinstance(raw.get("dst"), str)
                    or raw["src"] not in g.nodes or raw["dst"] not in g.nodes
                    or not isinstance(raw.get("slot", 0), int) or isinstance(raw.get("slot", 0), bool)
                    or raw.get("slot", 0) < 0):
                raise GraphError(f"edge {i + 1} must join two existing node ids with a slot ≥ 0 "
                                 f"(got {shown(repr(raw), 120)})")
            g.edges.append(Edge(raw["src"], raw["dst"], raw.get("slot", 0)))
        return g

    def _load_node(self, type: str, params: dict, pos, name, id: str, names: set[str]) -> None:
        """add_node for loading: checked the same way, in constant time per node, no signals."""
        try:
            spec = layers.get(type)
        except KeyError as e:
            raise GraphError(str(e.args[0])) from None
        name = self.unique_name(type) if name is None else name
        check_name(name)
        if name in names:
            raise GraphError(f"a layer named {name!r} already exists", "pick another name")
        if id in self.nodes:
            raise GraphError(f"node id {id!r} is used twice")
        merged = spec.defaults()
        merged.update(params)
        self.nodes[id] = Node(id, type, name, merged, (float(pos[0]), float(pos[1])))
        names.add(name)
        self._bump_id(id)

    def copy(self) -> "Graph":
        g = Graph.from_dict(self.to_dict())
        g.blocks = {name: sub.copy() for name, sub in self.blocks.items()}
        return g


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}

