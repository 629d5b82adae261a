"""Issue 11 item 2: the wheel over an unfocused spin or combo box in a set-up panel scrolls the
panel and changes nothing; once the box has focus, the wheel edits it."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollArea

from .training_support import field, mlp_window  # noqa: F401 - fixture

_ = mlp_window


def _wheel(widget, notches: int = -1) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def _scroll_area(w):
    while w is not None and not isinstance(w, QScrollArea):
        w = w.parentWidget()
    return w


def test_wheel_over_unfocused_lr_box_scrolls_the_panel_and_keeps_the_value(qtbot, mlp_window):
    win, ui = mlp_window
    ui.docks["Optim"].show()
    ui.docks["Optim"].raise_()
    win.resize(1366, 500)                     # short enough that the optimizer panel scrolls
    lr = field(ui, "training_lr")
    qtbot.waitUntil(lr.isVisible)
    area = _scroll_area(lr)
    bar = area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    before, lr_before = bar.value(), win.document.project.training.lr
    assert lr.focusPolicy() == Qt.FocusPolicy.StrongFocus
    _wheel(lr)
    assert win.document.project.training.lr == lr_before and lr.value() == lr_before
    assert bar.value() > before                # the wheel went to the panel instead
    combo = field(ui, "training_optimizer")
    text = combo.currentText()
    _wheel(combo)
    assert combo.currentText() == text

    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    lr.setFocus()
    qtbot.waitUntil(lr.hasFocus)
    _wheel(lr, notches=1)
    assert lr.value() != lr_before             # focused: the wheel edits, as in any Qt form
