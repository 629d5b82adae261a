"""Helpers that drive the GUI the way a user does: real mouse and drop events on the canvas."""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

LAYER_MIME = "application/x-layerlab-layer"


@dataclass
class Dialogs:
    """Records QMessageBox calls; `answers[kind]` overrides the reply (default: the default button)."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    files: list = field(default_factory=list)

    def handler(self, kind: str):
        def show(parent, title, text, buttons=None, defaultButton=None, *args, **kwargs):
            self.calls.append((kind, title, text))
            if kind in self.answers:
                return self.answers[kind]
            if kind == "question":
                return defaultButton if defaultButton not in (None, QMessageBox.StandardButton.NoButton) \
                    else QMessageBox.StandardButton.Yes
            return QMessageBox.StandardButton.Ok
        return show

    def file_handler(self, kind: str):
        """File dialogs answer from `files` (a list of paths, used in order), else cancel."""
        def ask(*args, **kwargs):
            self.calls.append((kind, "", ""))
            return (str(self.files.pop(0)), "") if self.files else ("", "")
        return ask

    def kinds(self) -> list[str]:
        return [c[0] for c in self.calls]


def _mouse(view, kind, scene_pos: QPointF, button, buttons) -> None:
    vp = view.viewport()
    local = QPointF(view.mapFromScene(scene_pos))
    ev = QMouseEvent(kind, local, QPointF(vp.mapToGlobal(local.toPoint())), button, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, ev)


def drag(view, start: QPointF, end: QPointF, steps: int = 6) -> None:
    """Left-button press at `start`, moves in `steps`, release at `end` (scene coordinates)."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _mouse(view, QEvent.Type.MouseButtonPress, start, left, left)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        _mouse(view, QEvent.Type.MouseMove, p, none, left)
    _mouse(view, QEvent.Type.MouseButtonRelease, end, left, none)


def click(view, pos: QPointF) -> None:
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _mouse(view, QEvent.Type.MouseButtonPress, pos, left, left)
    _mouse(view, QEvent.Type.MouseButtonRelease, pos, left, none)


def drop_layer(view, layer: str, scene_pos: QPointF) -> bool:
    """A real drag-enter / drag-move / drop sequence carrying the palette's MIME type."""
    vp = view.viewport()
    local = view.mapFromScene(scene_pos)
    mime = QMimeData()
    mime.setData(LAYER_MIME, layer.encode("utf-8"))
    copy = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(local, copy, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, enter)
    if not enter.isAccepted():
        return False
    move = QDragMoveEvent(local, copy, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, move)
    drop = QDropEvent(QPointF(local), copy, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, drop)
    return drop.isAccepted()


def node_named(win, name: str):
    node = win.document.graph.by_name(name)
    assert node is not None, f"no layer {name!r}"
    return node


def item_named(win, name: str):
    return win.scene.nodes[node_named(win, name).id]


def settle(qtbot, win) -> None:
    """Wait until the analysis that follows an edit has run."""
    qtbot.waitUntil(lambda: not win.document._pending, timeout=2000)


def center(point: QPoint | QPointF) -> QPointF:
    return QPointF(point)
