"""The scene mirrors the core graph: it adds, removes and updates items when the graph
announces a change, and repaints only the nodes whose analysis state changed.

User gestures never edit items directly: a drag becomes MoveNodes commands (merged per
drag), and a port-to-port drag asks the editor to connect (which checks first).
"""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPen, QTransform
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from ...core.graph import Edge, Graph, Node
from ..commands import MoveNodes
from .edge_item import EdgeItem, curve
from .node_item import NodeItem
from .port_item import PortItem

EXTENT = 200_000.0
SPLICE_REACH = 8.0   # screen pixels either side of an edge that still count as "on" it


def fits_in_edge(graph: Graph, type_name: str) -> bool:
    """A layer can go into an edge when it takes an input and gives an output."""
    from ...core import layers
    if type_name not in layers.REGISTRY:
        return False
    spec = layers.get(type_name)
    probe = Node("probe", type_name, "probe", spec.defaults(), (0.0, 0.0))
    return spec.role != "output" and graph.arity(probe) > 0


@lru_cache(maxsize=4096)
def shape_label(t) -> str:
    return f"{t}  int" if getattr(t, "dtype", "float") == "long" else str(t)


class GraphScene(QGraphicsScene):
    # source node id, destination node id, slot, scene position of the release
    connection_dropped = Signal(str, str, int, QPointF)

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document
        self.graph: Graph | None = None
        self.nodes: dict[str, NodeItem] = {}
        self.edge_items: dict[Edge, list[EdgeItem]] = defaultdict(list)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.setSceneRect(QRectF(-EXTENT, -EXTENT, 2 * EXTENT, 2 * EXTENT))
        self._pending_moves: dict[str, tuple[float, float]] = {}
        self._drag_id = 0
        self._link_from: PortItem | None = None
        self._link_item: QGraphicsPathItem | None = None
        self._link_target: PortItem | None = None
        self._marked: list[EdgeItem] = []   # edges shown as "lands here" / "is replaced"
        # edges of moved nodes are re-routed once per batch, not once per moved end
        self._stale_edges: set[EdgeItem] = set()
        self._edge_timer = QTimer(self)
        self._edge_timer.setSingleShot(True)
        self._edge_timer.setInterval(0)
        self._edge_timer.timeout.connect(self.flush_edges)
        document.graph_replaced.connect(self.rebuild)
        self.data_problems: list = []
        document.analyzed.connect(self.apply_analysis)
        self.rebuild(document.graph)
        self.apply_analysis(document.analysis)

    # ------------------------------------------------------------ following the graph
    def rebuild(self, graph: Graph) -> None:
        self._disconnect()
        self.clear()
        self.nodes.clear()
        self.edge_items.clear()
        self._stale_edges.clear()
        self._link_item = None
        self._marked = []
        self.graph = graph
        for node in graph.nodes.values():
            self._on_node_added(node)
        for edge in graph.edges:
            self._on_edge_added(edge)
        for sig, slot in self._slots():
            sig.connect(slot)

    def _slots(self):
        g = self.graph
        return ((g.node_added, self._on_node_added), (g.node_removed, self._on_node_removed),
                (g.node_renamed, self._on_renamed), (g.node_moved, self._on_moved),
                (g.param_changed, self._on_param_changed), (g.edge_added, self._on_edge_added),
                (g.edge_removed, self._on_edge_removed))

    def _disconnect(self) -> None:
        if self.graph is not None:
            for sig, slot in self._slots():
                sig.disconnect(slot)

    def detach(self) -> None:
        """Stop following the graph (the window is closing)."""
        self._disconnect()
        self.graph = None

    def _on_node_added(self, node: Node) -> None:
        item = NodeItem(node, self)
        self.nodes[node.id] = item
        self.addItem(item)

    def _on_node_removed(self, node: Node) -> None:
        item = self.nodes.pop(node.id, None)
        if item is not None:
            self.removeItem(item)

    def _on_renamed(self, node_id: str, name: str) -> None:
        self.nodes[node_id].refresh(self.graph.nodes[node_id])

    def _on_moved(self, node_id: str, pos) -> None:
        self.nodes[node_id].set_pos_from_graph(pos)

    def edges_moved(self, edges) -> None:
        if edges:
            self._stale_edges.update(edges)
            if not self._edge_timer.isActive():
                self._edge_timer.start()

    def flush_edges(self) -> None:
        self._edge_timer.stop()
        stale, self._stale_edges = self._stale_edges, set()
        for edge in stale:
            if edge.scene() is self:
                edge.adjust()

    def _on_param_changed(self, node_id: str, key: str, value) -> None:
        item = self.nodes[node_id]
        item.refresh(self.graph.nodes[node_id])
        for edge in item.edges:
            edge.adjust()

    def _on_edge_added(self, edge: Edge) -> None:
        src, dst = self.nodes.get(edge.src), self.nodes.get(edge.dst)
        if src is None or dst is None:
            return
        item = EdgeItem(edge, src, dst)
        self.edge_items[edge].append(item)
        src.edges.append(item)
        dst.edges.append(item)
        self.addItem(item)
        src.set_connected(None, True)
        dst.set_connected(edge.slot, True)

    def _on_edge_removed(self, edge: Edge) -> None:
        items = self.edge_items.get(edge)
        if not items:
            return
        item = items.pop()
        if not items:
            del self.edge_items[edge]
        for node in (item.src_item, item.dst_item):
            if item in node.edges:
                node.edges.remove(item)
        self.removeItem(item)
        g = self.graph
        if edge.src in self.nodes:
            self.nodes[edge.src].set_connected(None, any(e.src == edge.src for e in g.edges))
        if edge.dst in self.nodes:
            taken = any(e.dst == edge.dst and e.slot == edge.slot for e in g.edges)
            self.nodes[edge.dst].set_connected(edge.slot, taken)

    def set_data_problems(self, problems: list) -> None:
        """Problems that need the data set (output width vs classes, input shape vs samples),
        from the set-up checks after every edit: shown on the nodes like shape errors."""
        keyed = [p for p in problems if p.node_id is not None and p.node_id in self.nodes]
        if [str(p) for p in keyed] != [str(p) for p in self.data_problems]:
            self.data_problems = keyed
            self.apply_analysis(self.document.analysis)

    def apply_analysis(self, analysis) -> None:
        problems = defaultdict(list)
        for p in list(analysis.problems) + [p for p in self.data_problems if p.node_id in self.graph.nodes]:
            if p.node_id is not None and str(p) not in {str(q) for q in problems[p.node_id]}:
                problems[p.node_id].append(p)
        shapes, counts = analysis.shapes, analysis.param_counts
        for nid, item in self.nodes.items():
            t = shapes.get(nid)
            item.set_state(shape_label(t) if t is not None else "", counts.get(nid), problems.get(nid, ()))

    # ------------------------------------------------------------ queries
    def edge_tooltip(self, edge: Edge) -> str:
        g = self.graph
        src, dst = g.nodes.get(edge.src), g.nodes.get(edge.dst)
        if src is None or dst is None:
            return ""
        t = self.document.analysis.shapes.get(edge.src)
        slot = f" (input {edge.slot + 1})" if g.arity(dst) > 1 else ""
        return f"{src.name} → {dst.name}{slot}: {shape_label(t) if t is not None else 'shape unknown'}"

    def splice_target(self, type_name: str, pos: QPointF, transform: QTransform) -> EdgeItem | None:
        """The edge a layer of `type_name` dropped at `pos` would go into: the edge under the
        pointer (a few screen pixels either side), not over a node, and only for a type with an
        input and an output."""
        if self.graph is None or not fits_in_edge(self.graph, type_name):
            return None
        if self._node_at(pos, transform) is not None:
            return None
        r = SPLICE_REACH / max(transform.m11(), 1e-6)
        area = QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r)
        for item in self.items(area, Qt.ItemSelectionMode.IntersectsItemShape, Qt.SortOrder.DescendingOrder,
                               transform):
            if isinstance(item, EdgeItem):
                return item
        return None

    def mark_edges(self, items, mark: str) -> None:
        """Show `items` as `mark` ("insert" / "replace"); every other mark is cleared."""
        for item in self._marked:
            if item not in items and item.scene() is self:
                item.set_mark(None)
        self._marked = list(items)
        for item in self._marked:
            item.set_mark(mark)

    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def nodes_rect(self, ids=None) -> QRectF:
        rect = QRectF()
        for nid, item in self.nodes.items():
            if ids is None or nid in ids:
                rect = rect.united(item.sceneBoundingRect())
        return rect

    def select_nodes(self, ids) -> None:
        ids = set(ids)
        self.blockSignals(True)
        try:
            self.clearSelection()
            for nid in ids:
                if nid in self.nodes:
                    self.nodes[nid].setSelected(True)
        finally:
            self.blockSignals(False)
        self.selectionChanged.emit()

    # ------------------------------------------------------------ moves -> commands
    def request_move(self, node_id: str, pos: tuple[float, float]) -> None:
        self._pending_moves[node_id] = pos

    def _flush_moves(self) -> None:
        if not self._pending_moves or self.graph is None:
            self._pending_moves.clear()
            return
        g = self.graph
        moves = {nid: (g.nodes[nid].pos, (round(p[0], 1), round(p[1], 1)))
                 for nid, p in self._pending_moves.items() if nid in g.nodes}
        self._pending_moves.clear()
        self.document.push(MoveNodes(g, moves, drag=self._drag_id))
        self.flush_edges()

    # ------------------------------------------------------------ mouse: connection drags
    def _port_at(self, pos: QPointF, transform: QTransform) -> PortItem | None:
        for item in self.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
                               Qt.SortOrder.DescendingOrder, transform):
            if isinstance(item, PortItem):
                return item
        return None

    def _node_at(self, pos: QPointF, transform: QTransform) -> NodeItem | None:
        for item in self.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
                               Qt.SortOrder.DescendingOrder, transform):
            if isinstance(item, NodeItem):
                return item
        return None

    @staticmethod
    def _transform(event) -> QTransform:
        widget = event.widget()
        view = widget.parent() if widget is not None else None
        return view.transform() if view is not None and hasattr(view, "transform") else QTransform()

    def mousePressEvent(self, event) -> None:
        self._drag_id += 1
        if event.button() == Qt.MouseButton.LeftButton:
            port = self._port_at(event.scenePos(), self._transform(event))
            if port is not None:
                self._start_link(port, event.scenePos())
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._link_from is not None:
            self._update_link(event.scenePos(), self._transform(event))
            event.accept()
            return
        super().mouseMoveEvent(event)
        self._flush_moves()

    def mouseReleaseEvent(self, event) -> None:
        if self._link_from is not None and event.button() == Qt.MouseButton.LeftButton:
            self._finish_link(event.scenePos(), self._transform(event))
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self._flush_moves()

    def _start_link(self, port: PortItem, pos: QPointF) -> None:
        self._link_from = port
        self._link_item = QGraphicsPathItem()
        pen = QPen(QColor("#c9d1d9"), 2.0, Qt.PenStyle.DashLine)
        self._link_item.setPen(pen)
        self._link_item.setZValue(10)
        self.addItem(self._link_item)
        self._draw_link(pos)

    def _draw_link(self, pos: QPointF) -> None:
        a = self._link_from.anchor()
        self._link_item.setPath(curve(a, pos) if self._link_from.kind == "out" else curve(pos, a))

    def _target(self, pos: QPointF, transform: QTransform) -> PortItem | None:
        src = self._link_from
        want = "in" if src.kind == "out" else "out"
        port = self._port_at(pos, transform)
        if port is not None:
            return port if port.kind == want and port.node_item is not src.node_item else None
        node = self._node_at(pos, transform)
        if node is None or node is src.node_item:
            return None
        if want == "out":
            return node.out_port
        free = [p for p in node.in_ports if not p.connected]
        return free[0] if free else (node.in_ports[0] if node.in_ports else None)

    def _update_link(self, pos: QPointF, transform: QTransform) -> None:
        self._draw_link(pos)
        target = self._target(pos, transform)
        if target is not self._link_target:
            if self._link_target is not None:
                self._link_target.set_highlight(False)
            self._link_target = target
            if target is not None:
                target.set_highlight(True)
            self.mark_edges(self._replaced_by(target), "replace")

    def _replaced_by(self, target: PortItem | None) -> list[EdgeItem]:
        """The edge a wire dropped on `target` would replace (an occupied input of another source)."""
        if target is None or self._link_from is None:
            return []
        out, inp = (self._link_from, target) if self._link_from.kind == "out" else (target, self._link_from)
        if not inp.connected:
            return []
        return [item for item in inp.node_item.edges if item.edge.dst == inp.node_id
                and item.edge.slot == inp.slot and item.edge.src != out.node_id]

    def _finish_link(self, pos: QPointF, transform: QTransform) -> None:
        src, target = self._link_from, self._target(pos, transform)
        self.removeItem(self._link_item)
        if self._link_target is not None:
            self._link_target.set_highlight(False)
        self.mark_edges([], "replace")
        self._link_from = self._link_item = self._link_target = None
        if target is None:
            return
        out, inp = (src, target) if src.kind == "out" else (target, src)
        self.connection_dropped.emit(out.node_id, inp.node_id, inp.slot, pos)
