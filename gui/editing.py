"""Edit operations on the open document, shared by menus, shortcuts, palette and canvas.

Each turns a user intent into one undo command; connections are checked by the core
graph before a command exists, so a refusal leaves no trace but a tooltip.
"""
from __future__ import annotations

import json

from PySide6.QtCore import QObject, QPointF, Signal
from PySide6.QtWidgets import QApplication, QToolTip

from ..core.graph import Edge, GraphError, Node
from ..core.layout import X_GAP, Y_GAP, layered_positions
from .commands import AddNodes, Connect, MoveNodes, RemoveItems, ReplaceInput, SpliceNode
from .canvas.node_item import MIN_HEIGHT, WIDTH

CLIP_FORMAT = "layerlab.nodes"
PASTE_OFFSET = 40.0


class Editor(QObject):
    refused = Signal(str)  # why an edit was refused (also shown as a tooltip)
    notice = Signal(str)   # what an edit did beyond the obvious (a replaced connection)

    def __init__(self, document, scene, view, parent=None):
        super().__init__(parent)
        self.document = document
        self.scene = scene
        self.view = view
        self.last_refusal = ""
        self._paste_count = 0
        scene.connection_dropped.connect(self.connect_nodes)
        view.layer_dropped.connect(self.drop_layer)

    @property
    def graph(self):
        return self.document.graph

    # ------------------------------------------------------------ adding layers
    def _free_spot(self, x: float, y: float) -> tuple[float, float]:
        taken = [n.pos for n in self.graph.nodes.values()]
        while any(abs(px - x) < WIDTH and abs(py - y) < MIN_HEIGHT for px, py in taken):
            y += Y_GAP
        return x, y

    def _single_selected(self) -> Node | None:
        ids = self.scene.selected_node_ids()
        return self.graph.nodes.get(ids[0]) if len(ids) == 1 else None

    def add_layer(self, type_name: str, pos: tuple[float, float], after: Node | None = None) -> str | None:
        """Add a layer at `pos`; with `after`, connect after's output to its first input."""
        from ..core import layers
        from ..core.blocks import palette_entry
        type_name, params = palette_entry(self.graph, type_name)   # "Block:res" -> an instance of res
        if type_name not in layers.REGISTRY:
            self.refuse(f"unknown layer type {type_name!r}")
            return None
        spec = layers.get(type_name)
        node = Node("new", type_name, "", {**spec.defaults(), **params}, (round(pos[0], 1), round(pos[1], 1)))
        edges = []
        if after is not None and after.spec.role != "output" and self.graph.arity(node) > 0:
            edges.append(Edge(after.id, "new", 0))
        cmd = AddNodes(self.graph, [node], edges, f"Add {type_name}", fresh=True)
        self.document.push(cmd)
        new_id = cmd.node_ids[0]
        self.scene.select_nodes([new_id])
        return new_id

    def append_layer(self, type_name: str) -> str | None:
        """Palette double-click: after the selected node (connected), else in view."""
        after = self._single_selected()
        if after is not None:
            pos = self._free_spot(after.pos[0] + X_GAP, after.pos[1])
        else:
            c = self.view.mapToScene(self.view.viewport().rect().center())
            pos = self._free_spot(c.x() - WIDTH / 2, c.y() - MIN_HEIGHT / 2)
        return self.add_layer(type_name, pos, after)

    def drop_layer(self, type_name: str, scene_pos: QPointF) -> str | None:
        """A palette drop: into the edge under the pointer when the layer fits one, else where
        dropped (connected after the one selected node)."""
        target = self.scene.splice_target(type_name, scene_pos, self.view.transform())
        if target is not None:
            return self.splice(type_name, target.edge, scene_pos)
        pos = (scene_pos.x() - WIDTH / 2, scene_pos.y() - MIN_HEIGHT / 2)
        return self.add_layer(type_name, pos, self._single_selected())

    def splice(self, type_name: str, edge: Edge, scene_pos: QPointF) -> str:
        """Put a new layer into `edge` (src → new → dst) as one undo step; the layers from dst on
        move right when the new one needs the room."""
        from ..core import layers
        g = self.graph
        src, dst = g.nodes[edge.src], g.nodes[edge.dst]
        x, y = scene_pos.x() - WIDTH / 2, scene_pos.y() - MIN_HEIGHT / 2
        moves = {}
        if dst.pos[0] > src.pos[0]:          # a left-to-right chain: one column after src
            x = max(x, src.pos[0] + X_GAP)
            near = min((src.pos[1], dst.pos[1]), key=lambda v: abs(v - y))
            y = near if abs(near - y) < MIN_HEIGHT else y
            shift = x + X_GAP - dst.pos[0]
            if shift > 0:       # dst and what follows it on its row (a wrapped layout keeps its rows)
                row = [g.nodes[n] for n in self._downstream(dst.id)]
                row = [n for n in row if n.pos[0] >= dst.pos[0] and abs(n.pos[1] - dst.pos[1]) < MIN_HEIGHT]
                moves = {n.id: (n.pos, (n.pos[0] + shift, n.pos[1])) for n in row}
        node = Node("new", type_name, "", layers.get(type_name).defaults(), (round(x, 1), round(y, 1)))
        cmd = SpliceNode(g, node, edge, moves)
        self.document.push(cmd)
        self.scene.select_nodes([cmd.node_id])
        return cmd.node_id

    def _downstream(self, start: str) -> list[str]:
        succ: dict[str, list[str]] = {}
        for e in self.graph.edges:
            succ.setdefault(e.src, []).append(e.dst)
        seen, stack = [], [start]
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.append(n)
                stack.extend(succ.get(n, ()))
        return seen

    # ------------------------------------------------------------ connections
    def connect_nodes(self, src: str, dst: str, slot: int, scene_pos: QPointF | None = None) -> bool:
        """Connect src's output to dst's input `slot`; an input taken by another source is
        handed over to the new one (one undo step, said in the status bar)."""
        old = next((e for e in self.graph.edges if e.dst == dst and e.slot == slot), None)
        if old is not None and old.src != src:
            return self._replace_input(old, src, scene_pos)
        try:
            edge = self.graph.connect(src, dst, slot)
        except GraphError as e:
            self.refuse(str(e), scene_pos)
            return False
        self.document.push(Connect(self.graph, edge, done=True))
        return True

    def _replace_input(self, old: Edge, src: str, scene_pos: QPointF | None) -> bool:
        g = self.graph
        index = g.edges.index(old)
        g.disconnect(old)
        try:
            edge = g.connect(src, old.dst, old.slot)
        except GraphError as e:      # e.g. a cycle: the old connection stays as it was
            g.restore(edges=[(index, old)])
            self.refuse(str(e), scene_pos)
            return False
        self.document.push(ReplaceInput(g, old, index, edge, done=True))
        dst = g.nodes[old.dst]
        port = f" input {old.slot + 1}" if g.arity(dst) > 1 else ""
        self.notice.emit(f"Replaced {g.nodes[old.src].name} → {dst.name}{port} with "
                         f"{g.nodes[src].name} → {dst.name} (Ctrl+Z puts it back)")
        return True

    def refuse(self, message: str, scene_pos: QPointF | None = None) -> None:
        self.last_refusal = message
        vp = self.view.viewport()
        local = self.view.mapFromScene(scene_pos) if scene_pos is not None else vp.rect().center()
        QToolTip.showText(vp.mapToGlobal(local), message, vp)
        self.refused.emit(message)

    # ------------------------------------------------------------ selection edits
    def select_all(self) -> None:
        self.scene.select_nodes(self.graph.nodes)

    def delete_selection(self, text: str = "Delete") -> bool:
        ids, edges = self.scene.selected_node_ids(), self.scene.selected_edges()
        if not ids and not edges:
            return False
        self.document.push(RemoveItems(self.graph, ids, edges, text))
        return True

    def _fragment(self, ids: list[str]) -> dict:
        g = self.graph
        keep = set(ids)
        sub = {"nodes": [n for n in g.to_dict()["nodes"] if n["id"] in keep],
               "edges": [{"src": e.src, "dst": e.dst, "slot": e.slot} for e in g.edges
                         if e.src in keep and e.dst in keep]}
        return {"format": CLIP_FORMAT, "version": 1, **sub}

    def copy(self) -> bool:
        ids = self.scene.selected_node_ids()
        if not ids:
            return False
        # plain text (JSON with a format tag): pastes into editors and back; and a QMimeData
        # handed to the clipboard crashes PySide6 6.11 at exit
        QApplication.clipboard().setText(json.dumps(self._fragment(ids), indent=1))
        self._paste_count = 0
        return True

    def cut(self) -> bool:
        return self.copy() and self.delete_selection("Cut")

    def paste(self) -> bool:
        raw = QApplication.clipboard().text()
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or doc.get("format") != CLIP_FORMAT:
            return False
        self._paste_count += 1
        return self._insert(doc, self._paste_count * PASTE_OFFSET, "Paste")

    def duplicate(self) -> bool:
        ids = self.scene.selected_node_ids()
        return bool(ids) and self._insert(self._fragment(ids), PASTE_OFFSET, "Duplicate")

    def _insert(self, doc: dict, offset: float, text: str) -> bool:
        from ..core import layers
        nodes, known = [], set()
        try:
            for raw in doc["nodes"]:
                if raw["type"] not in layers.REGISTRY:
                    continue
                x, y = raw.get("pos", (0, 0))
                nodes.append(Node(str(raw["id"]), raw["type"], str(raw.get("name", "")),
                                  dict(raw.get("params", {})), (x + offset, y + offset)))
                known.add(str(raw["id"]))
            edges = [Edge(str(e["src"]), str(e["dst"]), int(e.get("slot", 0))) for e in doc.get("edges", [])
                     if str(e["src"]) in known and str(e["dst"]) in known]
        except (KeyError, TypeError, ValueError):
            self.refuse("the clipboard holds no LayerLab layers")
            return False
        if not nodes:
            return False
        # placeholder ids must not collide with real ones the edges could be mapped onto
        ren = {n.id: f"__clip{i}" for i, n in enumerate(nodes)}
        for n in nodes:
            n.id = ren[n.id]
        edges = [Edge(ren[e.src], ren[e.dst], e.slot) for e in edges]
        cmd = AddNodes(self.graph, nodes, edges, f"{text} {len(nodes)} layer(s)", fresh=True)
        self.document.push(cmd)
        self.scene.select_nodes(cmd.node_ids)
        return True

    # ------------------------------------------------------------ layout
    def auto_layout(self) -> None:
        g = self.graph
        moves = {nid: (g.nodes[nid].pos, pos) for nid, pos in layered_positions(g).items()
                 if g.nodes[nid].pos != pos}
        if moves:
            self.document.push(MoveNodes(g, moves, text="Auto-layout"))
        self.view.fit()
