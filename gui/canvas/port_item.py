"""A node's input or output port: where edges attach and connection drags start."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem

from .. import theme

RADIUS = 5.5
_HIT = RADIUS + 4  # a generous hit area
BOUNDS = QRectF(-_HIT, -_HIT, 2 * _HIT, 2 * _HIT)


class PortItem(QGraphicsItem):
    """kind is "in" (slot = input index) or "out". A child of its NodeItem."""

    def __init__(self, node_item, kind: str, slot: int = 0):
        super().__init__(node_item)
        self.node_item = node_item
        self.kind = kind
        self.slot = slot
        self.connected = False
        self.highlight = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def boundingRect(self) -> QRectF:
        return BOUNDS

    def anchor(self) -> QPointF:
        """Where an edge attaches, in scene coordinates."""
        return self.scenePos()

    def set_connected(self, on: bool) -> None:
        if on != self.connected:
            self.connected = on
            self.update()

    def set_highlight(self, on: bool) -> None:
        if on != self.highlight:
            self.highlight = on
            self.update()

    def hoverEnterEvent(self, event) -> None:
        self.set_highlight(True)

    def hoverLeaveEvent(self, event) -> None:
        self.set_highlight(False)

    def paint(self, painter, option, widget=None) -> None:
        color = theme.category_color(self.node_item.category)
        r = RADIUS + (1.5 if self.highlight else 0)
        painter.setPen(QPen(QColor("#e8eaed") if self.highlight else color.lighter(130), 1.6))
        painter.setBrush(QBrush(color if self.connected else QColor(theme.NODE_BODY)))
        painter.drawEllipse(QPointF(0, 0), r, r)
