"""The mouse wheel scrolls panels; it never changes a value the user is not editing.

An application-wide event filter: spin boxes, combo boxes and sliders inside a scroll area take
wheel events only while they have keyboard focus (click first, then wheel). Otherwise the wheel
goes to the scroll area around them, so scrolling a set-up panel cannot nudge a learning rate.
They also stop taking focus from the wheel (StrongFocus instead of WheelFocus)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QSlider, QWidget

GUARDED = (QAbstractSpinBox, QComboBox, QSlider)   # not QScrollBar: the scroll area's own bars


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    w = widget.parentWidget()
    while w is not None:
        if isinstance(w, QAbstractScrollArea) and not isinstance(w, QComboBox):
            return w
        w = w.parentWidget()
    return None


class WheelGuard(QObject):
    def eventFilter(self, obj, event) -> bool:
        if not isinstance(obj, GUARDED):   # first: this filter sees every event of the application
            return False
        try:
            kind = event.type()
        except ValueError:                 # a custom event type the enum does not know
            return False
        if kind == QEvent.Type.Polish and obj.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif kind == QEvent.Type.Wheel and not obj.hasFocus():
            area = _scroll_area(obj)
            if area is not None:
                QApplication.sendEvent(area.viewport(), event)
                return True
        return False


def install(app: QApplication) -> None:
    if app.property("layerlabWheelGuard"):
        return
    guard = WheelGuard(app)
    app.installEventFilter(guard)
    app.setProperty("layerlabWheelGuard", True)
