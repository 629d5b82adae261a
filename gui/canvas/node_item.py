"""A layer node: category-coloured header (icon, type, parameter count), the user's name,
key parameters and the inferred output shape; input ports left, the output port right.

Painting is cached (DeviceCoordinateCache) and redone only when the text or state changes;
far out a node draws as a plain tile. Positions follow the graph: a user drag is turned
into a MoveNodes command (see GraphScene) instead of moving the item directly.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyle

from ...core.graph import Node
from .. import theme
from .port_item import PortItem

WIDTH = 184.0
HEADER = 24.0
LINE = 17.0
MIN_HEIGHT = 84.0
PORT_GAP = 16.0
PAD = 10.0       # text inset from the node's left and right edges
ABBREV = {"kernel_size": "k", "stride": "s", "return_sequences": "seq", "padding": "pad",
          "dilation": "dil", "negative_slope": "slope"}


def format_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_params_text(node: Node) -> str:
    parts = []
    for key in node.spec.key_params:
        value = node.params.get(key)
        if isinstance(value, bool):
            if value:
                parts.append(ABBREV.get(key, key))
            continue
        parts.append(f"{ABBREV.get(key, key)} {format_value(value)}")
    return " · ".join(parts)


def compact_count(n: int) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return str(n)


class NodeItem(QGraphicsItem):
    def __init__(self, node: Node, scene):
        super().__init__()
        self.node_id = node.id
        self.graph_scene = scene
        self.category = node.spec.category
        self.edges: list = []
        self.in_ports: list[PortItem] = []
        self.out_port: PortItem | None = None
        self.shape_text = ""
        self.count_text = ""
        self.severity = ""  # "", "warning" or "error"
        self.frozen = False  # training.frozen: drawn hatched with a lock (gui/transfer.py sets it)
        self.problems: list = []
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setAcceptHoverEvents(True)
        self.height = MIN_HEIGHT
        self.refresh(node)
        self._following = True
        self.setPos(QPointF(*node.pos))
        self._following = False

    # ------------------------------------------------------------ content
    def refresh(self, node: Node) -> None:
        """Re-read type, name, key parameters and port count from the core node."""
        spec = node.spec
        self.type_text = f"{theme.glyph(spec.icon, spec.name)}  {node.type}"
        self.name_text = node.name
        self.params_text = key_params_text(node)
        self.help = spec.help
        self.label = node.label
        arity = self.graph_scene.document.graph.arity(node)
        height = max(MIN_HEIGHT, HEADER + 10 + arity * PORT_GAP)
        if height != self.height:
            self.prepareGeometryChange()
            self.height = height
        self._sync_ports(arity, spec.role != "output")
        self._update_tooltip(self.problems)
        self.update()

    def _sync_ports(self, arity: int, has_output: bool) -> None:
        while len(self.in_ports) > arity:
            port = self.in_ports.pop()
            port.setParentItem(None)
            if port.scene():
                port.scene().removeItem(port)
        while len(self.in_ports) < arity:
            self.in_ports.append(PortItem(self, "in", len(self.in_ports)))
        top = HEADER + (self.height - HEADER - (arity - 1) * PORT_GAP) / 2
        for i, port in enumerate(self.in_ports):
            port.setPos(0, top + i * PORT_GAP)
        if has_output and self.out_port is None:
            self.out_port = PortItem(self, "out")
        if self.out_port is not None:
            self.out_port.setPos(WIDTH, HEADER + (self.height - HEADER) / 2)

    def set_state(self, shape: str, count: int | None, problems: list) -> bool:
        """Shape, parameter count and problems from the analysis; repaints only on change."""
        severity = ""
        if problems:
            severity = "error" if any(p.severity == "error" for p in problems) else "warning"
        count_text = compact_count(count) if count else ""
        state = (shape, count_text, severity, tuple(str(p) for p in problems))
        if state == getattr(self, "_state", None):
            return False
        self._state = state
        self.shape_text, self.count_text, self.severity = shape, count_text, severity
        self.problems = list(problems)
        self._update_tooltip(problems)
        self.update()
        return True

    def _update_tooltip(self, problems: list) -> None:
        if problems:
            self.problem_text = "\n".join(f"⚠ {p}" for p in problems)
            self.setToolTip(self.problem_text)
        else:
            self.problem_text = ""
            self.setToolTip(f"<b>{self.label}</b><br>{self.help}")

    def set_connected(self, slot: int | None, on: bool) -> None:
        port = self.out_port if slot is None else (self.in_ports[slot] if slot < len(self.in_ports) else None)
        if port is not None:
            port.set_connected(on)

    # ------------------------------------------------------------ geometry
    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, WIDTH + 4, self.height + 4)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, WIDTH, self.height), 7, 7)
        return path

    def in_anchor(self, slot: int) -> QPointF:
        if slot < len(self.in_ports):
            return self.in_ports[slot].scenePos()
        return self.scenePos() + QPointF(0, HEADER + 10)

    def out_anchor(self) -> QPointF:
        if self.out_port is not None:
            return self.out_port.scenePos()
        return self.scenePos() + QPointF(WIDTH, HEADER + 10)

    def set_pos_from_graph(self, pos) -> None:
        self._following = True
        try:
            self.setPos(QPointF(*pos))
        finally:
            self._following = False

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and not self._following:
            # a user drag: ask for a command; the graph's node_moved signal moves the item
            self.graph_scene.request_move(self.node_id, (value.x(), value.y()))
            return self.pos()
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self.graph_scene.edges_moved(self.edges)
        return super().itemChange(change, value)

    # ------------------------------------------------------------ painting
    def paint(self, painter, option, widget=None) -> None:
        rect = QRectF(0, 0, WIDTH, self.height)
        color = theme.category_color(self.category)
        border = self._border_pen(bool(option.state & QStyle.StateFlag.State_Selected))
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < 0.4:
            self._paint_tile(painter, rect, border, color, lod)
            return
        self._paint_body(painter, rect, border, color)
        self._paint_header_text(painter)
        self._paint_lines(painter)

    def _border_pen(self, selected: bool) -> QPen:
        if self.severity == "error":
            border = QPen(QColor(theme.ERROR), 2.4)
        elif selected:
            border = QPen(QColor(theme.ACCENT), 2.4)
        elif self.severity == "warning":
            border = QPen(QColor(theme.WARNING), 1.8)
        else:
            border = QPen(QColor("#3c4048"), 1.2)
        if selected and self.severity == "error":
            border.setStyle(Qt.PenStyle.DashLine)
        return border

    def _paint_tile(self, painter, rect: QRectF, border: QPen, color: QColor, lod: float) -> None:
        """Far out: a coloured tile with the type in large print, then a bare tile."""
        painter.setPen(border)
        painter.setBrush(color.darker(110) if self.severity != "error" else QColor(theme.ERROR).darker(120))
        painter.drawRect(rect)
        if lod > 0.12:
            painter.setPen(QColor("#ffffff"))
            f = theme.ui_font(9.0, True)
            f.setPixelSize(int(min(34, 11 / lod)))
            painter.setFont(f)
            self._text(painter, rect.adjusted(8, 0, -8, 0), self.type_text.split()[-1],
                       Qt.AlignmentFlag.AlignCenter)

    def _paint_body(self, painter, rect: QRectF, border: QPen, color: QColor) -> None:
        """Rounded body, category-coloured header band, frozen hatching and the outline."""
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.NODE_BODY_ERROR if self.severity == "error" else theme.NODE_BODY))
        painter.drawRoundedRect(rect, 7, 7)
        header = QPainterPath()
        header.addRoundedRect(QRectF(0, 0, WIDTH, HEADER + 7), 7, 7)
        clip = QPainterPath()
        clip.addRect(QRectF(0, 0, WIDTH, HEADER))
        painter.setBrush(QColor(theme.ERROR).darker(125) if self.severity == "error" else color.darker(115))
        painter.drawPath(header.intersected(clip))
        if self.frozen:      # not trained: a hatched body and a dashed outline
            painter.setBrush(QBrush(QColor(255, 255, 255, 28), Qt.BrushStyle.BDiagPattern))
            painter.drawRoundedRect(rect.adjusted(0, HEADER, 0, 0), 7, 7)
            border.setStyle(Qt.PenStyle.DashLine)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(border)
        painter.drawRoundedRect(rect, 7, 7)

    def _paint_header_text(self, painter) -> None:
        """Right to left: problem and frozen badges, the parameter count; the type takes the rest."""
        painter.setPen(QColor("#ffffff"))
        painter.setFont(theme.ui_font(9.0, True))
        right = WIDTH - PAD
        if self.severity:
            painter.drawText(QRectF(right - 14, 0, 14, HEADER), Qt.AlignmentFlag.AlignVCenter, "⚠")
            right -= 18
        if self.frozen:
            painter.drawText(QRectF(right - 14, 0, 14, HEADER), Qt.AlignmentFlag.AlignVCenter, "❄")
            right -= 18
        if self.count_text:
            painter.setFont(theme.ui_font(8.0))
            painter.setPen(QColor(255, 255, 255, 200))
            w = QFontMetrics(painter.font()).horizontalAdvance(self.count_text)
            painter.drawText(QRectF(right - w, 0, w, HEADER), Qt.AlignmentFlag.AlignVCenter, self.count_text)
            right -= w + 6
            painter.setFont(theme.ui_font(9.0, True))
            painter.setPen(QColor("#ffffff"))
        self._text(painter, QRectF(PAD, 0, right - PAD, HEADER), self.type_text)

    def _paint_lines(self, painter) -> None:
        """Below the header: the user's name, key parameters, and the output shape at the bottom."""
        y = HEADER + 5
        painter.setFont(theme.ui_font(9.5))
        painter.setPen(QColor(theme.TEXT))
        self._text(painter, QRectF(PAD, y, WIDTH - 2 * PAD, LINE), self.name_text)
        y += LINE
        if self.params_text:
            painter.setFont(theme.ui_font(8.0))
            painter.setPen(QColor(theme.TEXT_DIM))
            self._text(painter, QRectF(PAD, y, WIDTH - 2 * PAD, LINE), self.params_text)
        y = self.height - LINE - 5
        painter.setFont(theme.mono_font(8.5))
        painter.setPen(QColor("#ff9b9b") if self.severity == "error" else QColor("#9fd3ff"))
        self._text(painter, QRectF(PAD, y, WIDTH - 2 * PAD, LINE), self.shape_text or "?")

    @staticmethod
    def _text(painter, rect: QRectF, text: str, align=Qt.AlignmentFlag.AlignLeft) -> None:
        fm = QFontMetrics(painter.font())
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, int(rect.width()))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter | align), text)
