"""The canvas widget: zoom around the cursor, pan (middle button, or Space + drag), fit,
rubber-band selection, a grid, and drops of palette layers."""
from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QFrame, QGraphicsView, QMenu

from .. import theme

LAYER_MIME = "application/x-layerlab-layer"
MIN_ZOOM, MAX_ZOOM = 0.05, 3.0
READABLE_ZOOM = 0.6  # below this node text gets hard to read


class GraphView(QGraphicsView):
    layer_dropped = Signal(str, QPointF)  # layer type, scene position
    zoom_changed = Signal(float)

    def __init__(self, scene, parent=None):
        super().__init__(scene, parent)
        self.setObjectName("graphCanvas")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPointF | None = None
        self._space = False
        self._pending_fit = None  # a fit asked for before the view had its size
        self._refit = None        # the fit shown on opening: redone on resizes until the user zooms, pans or clicks
        self.menu_actions: list = []  # the window's edit actions for the context menu (None = separator)

    # ------------------------------------------------------------ zoom / fit
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, anchor: QPoint | None = None) -> None:
        """Scale by `factor`, keeping the scene point under `anchor` (viewport pixels,
        default: the centre) where it is."""
        self._refit = None
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        factor = target / self.zoom()
        if abs(factor - 1.0) < 1e-6:
            return
        if anchor is None:
            anchor = self.viewport().rect().center()
        fixed = self.mapToScene(anchor)
        self.scale(factor, factor)
        drift = self.mapFromScene(fixed) - anchor
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + drift.x())
        v.setValue(v.value() + drift.y())
        self.zoom_changed.emit(self.zoom())

    def zoom_in(self) -> None:
        self.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoom_by(0.8)

    def reset_zoom(self) -> None:
        self.zoom_by(1.0 / self.zoom())

    def _defer(self, fn) -> bool:
        if self.isVisible() and self.viewport().width() > 50:
            self._pending_fit = None
            return False
        self._pending_fit = fn
        return True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending_fit is not None and self.viewport().width() > 50:
            fn, self._pending_fit = self._pending_fit, None
            fn()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._pending_fit is not None and self.isVisible() and self.viewport().width() > 50:
            fn, self._pending_fit = self._pending_fit, None
            fn()
        elif self._refit is not None and self.isVisible() and self.viewport().width() > 50:
            self._refit()   # docks settling after the first show must not leave the network clipped

    def fit_readable(self) -> None:
        """Fit everything when that stays readable; otherwise show the network's start (the
        Input side) at a readable zoom. Used when a project opens."""
        if self._defer(self.fit_readable):
            return
        rect = self.scene().nodes_rect()
        vp = self.viewport().rect()
        if rect.isNull() or min(vp.width() / (rect.width() + 80), vp.height() / (rect.height() + 80)) >= READABLE_ZOOM:
            self.fit(rect if not rect.isNull() else None)
            self._refit = self.fit_readable
            return
        self.resetTransform()
        self.scale(READABLE_ZOOM, READABLE_ZOOM)
        half_w, half_h = vp.width() / READABLE_ZOOM / 2, vp.height() / READABLE_ZOOM / 2
        y = rect.center().y() if rect.height() + 80 < 2 * half_h else rect.top() - 40 + half_h
        self.centerOn(QPointF(rect.left() - 40 + half_w, y))
        self.zoom_changed.emit(self.zoom())
        self._refit = self.fit_readable

    def fit(self, rect: QRectF | None = None, max_zoom: float = 1.0) -> None:
        """Show `rect` (default: every node) whole, never magnified beyond `max_zoom`."""
        if self._defer(lambda: self.fit(rect, max_zoom)):
            return
        self._refit = None    # an explicit fit stays as it is on later resizes (fit_readable re-arms it)
        if rect is None:
            rect = self.scene().nodes_rect()
        if rect.isNull():
            self.resetTransform()
            self.centerOn(0, 0)
            self.zoom_changed.emit(self.zoom())
            return
        rect = rect.adjusted(-40, -40, 40, 40)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > max_zoom:
            self.resetTransform()
            self.scale(max_zoom, max_zoom)
        elif self.zoom() < MIN_ZOOM:
            self.resetTransform()
            self.scale(MIN_ZOOM, MIN_ZOOM)
        self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(math.pow(1.0015, delta), event.position().toPoint())
        event.accept()

    # ------------------------------------------------------------ pan
    def _pan_to(self, pos: QPointF) -> None:
        self._refit = None
        d = pos - self._pan_from
        self._pan_from = pos
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(d.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(d.y()))

    def mousePressEvent(self, event) -> None:
        self._refit = None
        if event.button() == Qt.MouseButton.MiddleButton or (
                self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_to(event.position())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ------------------------------------------------------------ context menu
    def contextMenuEvent(self, event) -> None:
        from ...core import layers
        from .. import theme
        from .node_item import NodeItem

        item = self.itemAt(event.pos())
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        scene = self.scene()
        if item is None:
            scene.clearSelection()
        elif not item.isSelected():
            scene.select_nodes([item.node_id])
        where = self.mapToScene(event.pos())
        menu = QMenu(self)
        add = menu.addMenu("Add Layer Here")
        for category, specs in layers.by_category().items():
            if specs:
                sub = add.addMenu(category)
                for spec in specs:
                    act = sub.addAction(theme.layer_icon(theme.glyph(spec.icon, spec.name), category), spec.name)
                    act.triggered.connect(lambda checked=False, n=spec.name: self.layer_dropped.emit(n, where))
        menu.addSeparator()
        for act in self.menu_actions:
            menu.addSeparator() if act is None else menu.addAction(act)
        menu.exec(event.globalPos())
        event.accept()

    # ------------------------------------------------------------ drops from the palette
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
            self._mark_splice(event)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self.scene().mark_edges([], "insert")
        super().dragLeaveEvent(event)

    def _mark_splice(self, event) -> None:
        """While a layer is dragged over an edge it would go into, that edge is highlighted."""
        name = bytes(event.mimeData().data(LAYER_MIME)).decode("utf-8", "replace").strip()
        where = self.mapToScene(event.position().toPoint())
        edge = self.scene().splice_target(name, where, self.transform())
        self.scene().mark_edges([edge] if edge is not None else [], "insert")

    def dropEvent(self, event) -> None:
        self.scene().mark_edges([], "insert")
        if not event.mimeData().hasFormat(LAYER_MIME):
            event.ignore()
            return
        name = bytes(event.mimeData().data(LAYER_MIME)).decode("utf-8", "replace").strip()
        event.acceptProposedAction()
        self.layer_dropped.emit(name, self.mapToScene(event.position().toPoint()))

    # ------------------------------------------------------------ background grid
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, QColor(theme.CANVAS_BG))
        z = self.zoom()
        for step, color, min_zoom in ((25, theme.GRID_MINOR, 0.45), (125, theme.GRID_MAJOR, 0.12)):
            if z < min_zoom:
                continue
            painter.setPen(QPen(QColor(color), 0))
            left = math.floor(rect.left() / step) * step
            top = math.floor(rect.top() / step) * step
            lines = [QLineF(x, rect.top(), x, rect.bottom()) for x in _frange(left, rect.right(), step)]
            lines += [QLineF(rect.left(), y, rect.right(), y) for y in _frange(top, rect.bottom(), step)]
            painter.drawLines(lines)


def _frange(start: float, stop: float, step: float):
    x = start
    while x <= stop:
        yield x
        x += step
