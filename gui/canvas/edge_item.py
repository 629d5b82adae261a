"""An edge drawn as a horizontal cubic curve from an output port to an input port."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from .. import theme


def curve(a: QPointF, b: QPointF) -> QPainterPath:
    """Leaves the output port rightwards and enters the input port from the left. A long,
    level edge (a skip connection along a chain) arcs above the layers it passes, so it is
    not hidden behind them."""
    dx = b.x() - a.x()
    c = max(40.0, abs(dx) * 0.5)
    lift = min(140.0, 40.0 + dx * 0.08) if dx > 320 and abs(b.y() - a.y()) < 60 else 0.0
    path = QPainterPath(a)
    path.cubicTo(QPointF(a.x() + c, a.y() - lift), QPointF(b.x() - c, b.y() - lift), b)
    return path


class EdgeItem(QGraphicsPathItem):
    def __init__(self, edge, src_item, dst_item):
        super().__init__()
        self.edge = edge
        self.src_item = src_item
        self.dst_item = dst_item
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)
        self.setAcceptHoverEvents(True)
        self._hover = False
        self.mark: str | None = None   # "insert": a dragged layer lands here; "replace": a wire replaces it
        self._shape: QPainterPath | None = None
        self._bounds = QRectF()
        self.adjust()

    def adjust(self) -> None:
        a = self.src_item.out_anchor()
        b = self.dst_item.in_anchor(self.edge.slot)
        path = curve(a, b)
        self.prepareGeometryChange()
        self._bounds = path.controlPointRect().adjusted(-6, -6, 6, 6)
        self.setPath(path)
        self._shape = None

    def boundingRect(self) -> QRectF:
        # the stock one strokes the path (through our shape()) on every call: far too slow
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:
            s = QPainterPathStroker()
            s.setWidth(10)
            self._shape = s.createStroke(self.path())
        return self._shape

    def set_mark(self, mark: str | None) -> None:
        if mark != self.mark:
            self.mark = mark
            self.update()

    def hoverEnterEvent(self, event) -> None:
        self._hover = True
        scene = self.scene()
        if scene is not None and hasattr(scene, "edge_tooltip"):
            self.setToolTip(scene.edge_tooltip(self.edge))
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self._hover = False
        self.update()

    def paint(self, painter, option, widget=None) -> None:
        if self.mark == "insert":
            pen = QPen(QColor(theme.OK), 4.0)
        elif self.mark == "replace":
            pen = QPen(QColor(theme.WARNING), 3.0, Qt.PenStyle.DashLine)
        elif self.isSelected():
            pen = QPen(QColor(theme.EDGE_SELECTED), 3.0)
        elif self._hover:
            pen = QPen(QColor("#c3c8cf"), 2.4)
        else:
            pen = QPen(QColor(theme.EDGE), 1.8)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
