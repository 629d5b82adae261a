"""A status bar whose messages never end mid-word: a message too long for the free space is
elided with "…" and the whole text is the bar's tooltip. Messages Qt shows itself (an action's
status tip, through QMainWindow, which calls the C++ showMessage and not this one) are elided when
they appear, and a shown message is elided again for the new width when the bar is resized."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStatusBar, QWidget


class ElidingStatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.full_message = ""
        self._shown = ""
        self._until: float | None = None     # when the shown message's timeout ends (None: never)
        self.messageChanged.connect(self._changed)

    def free_width(self) -> int:
        used = sum(w.width() + 8 for w in self.findChildren(QWidget) if w.parent() is self and w.isVisible())
        return max(80, self.width() - used - 24)

    def showMessage(self, message: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        self.full_message = message
        self._until = time.monotonic() + timeout / 1000 if timeout > 0 else None
        self._show(timeout)

    def _show(self, timeout: int) -> None:
        message = self.full_message
        self._shown = self.fontMetrics().elidedText(message, Qt.TextElideMode.ElideRight, self.free_width())
        self.setToolTip(message if self._shown != message else "")
        super().showMessage(self._shown, timeout)

    def _changed(self, text: str) -> None:
        if not text:
            self.full_message = self._shown = ""
            self.setToolTip("")
        elif text != self._shown:        # shown by Qt itself, not elided yet
            self.showMessage(text)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self.full_message and self.currentMessage():
            left = 0 if self._until is None else max(1, int((self._until - time.monotonic()) * 1000))
            self._show(left)
