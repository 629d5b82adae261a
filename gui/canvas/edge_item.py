"""An edge drawn as a horizontal cubic curve from an output port to an input port; an edge
that runs back to the left onto a lower (or higher) row, as auto-layout's wrapped rows do, goes
round through the gap between the rows instead."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from .. import theme

TURN = 40.0     # how far a wrapped edge's turns reach sideways: their bulge is 3/4 of it (30 px),
                # inside the 46 px between auto-layout's columns


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


def wrapped(a: QPointF, b: QPointF, run_y: float) -> QPainterPath:
    """A back edge as a line of text wraps: out of the port to the right, turn down (or up) to
    `run_y`, run left along it, turn into the input port from the left. The turns reach at
    most 3/4 of TURN beyond the ports, so the edge stays by the nodes it joins instead of
    crossing the rows diagonally with a loop at each end."""
    path = QPainterPath(a)
    k = min(TURN, max(12.0, abs(run_y - a.y()) * 0.6))
    path.cubicTo(QPointF(a.x() + k, a.y()), QPointF(a.x() + k, run_y), QPointF(a.x(), run_y))
    path.lineTo(QPointF(b.x(), run_y))
    k = min(TURN, max(12.0, abs(b.y() - run_y) * 0.6))
    path.cubicTo(QPointF(b.x() - k, run_y), QPointF(b.x() - k, b.y()), b)
    return path


def free_run(lo: float, hi: float, blocked: list[tuple[float, float]]) -> float:
    """The middle of the widest stretch of lo..hi that no (top, bottom) interval covers: the
    gap between two rows of nodes. The middle of lo..hi when nothing is free."""
    free, y = [], lo
    for top, bottom in sorted(blocked):
        if top > y:
            free.append((y, min(top, hi)))
        y = max(y, bottom)
        if y >= hi:
            break
    if y < hi:
        free.append((y, hi))
    free = [(t, b) for t, b in free if b > t]
    if not free:
        return (lo + hi) / 2
    top, bottom = max(free, key=lambda f: f[1] - f[0])
    return (top + bottom) / 2


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
        run_y = self._run_y(a, b)
        path = curve(a, b) if run_y is None else wrapped(a, b, run_y)
        self.prepareGeometryChange()
        self._bounds = path.controlPointRect().adjusted(-6, -6, 6, 6)
        self.setPath(path)
        self._shape = None

    def _run_y(self, a: QPointF, b: QPointF) -> float | None:
        """For an edge back to the left between nodes that do not share a row: the height of
        its run, in the widest gap the nodes between its turns leave (the gap between two
        wrapped rows). None for every other edge, which is drawn as a plain curve."""
        if b.x() >= a.x():
            return None
        src, dst = self.src_item.sceneBoundingRect(), self.dst_item.sceneBoundingRect()
        if dst.top() > src.bottom():
            lo, hi = src.bottom(), dst.top()
        elif dst.bottom() < src.top():
            lo, hi = dst.bottom(), src.top()
        else:
            return None
        blocked = []
        scene = self.src_item.scene()      # this edge may not be in it yet: its nodes are
        if scene is not None:
            band = QRectF(b.x() - TURN, lo, a.x() - b.x() + 2 * TURN, hi - lo)
            for item in scene.items(band, Qt.ItemSelectionMode.IntersectsItemBoundingRect):
                if item is not self and hasattr(item, "in_anchor"):     # a node
                    r = item.sceneBoundingRect()
                    blocked.append((r.top(), r.bottom()))
        return free_run(lo, hi, blocked)

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
