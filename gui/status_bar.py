"""A status bar whose messages never end mid-word: a message too long for the free space is
elided with "…" and the whole text is the bar's tooltip."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStatusBar, QWidget


class ElidingStatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.full_message = ""
        self.messageChanged.connect(self._cleared)

    def free_width(self) -> int:
        used = sum(w.width() + 8 for w in self.findChildren(QWidget) if w.parent() is self and w.isVisible())
        return max(80, self.width() - used - 24)

    def showMessage(self, message: str, timeout: int = 0) -> None:  # noqa: N802 - Qt's name
        self.full_message = message
        shown = self.fontMetrics().elidedText(message, Qt.TextElideMode.ElideRight, self.free_width())
        self.setToolTip(message if shown != message else "")
        super().showMessage(shown, timeout)

    def _cleared(self, text: str) -> None:
        if not text:
            self.full_message = ""
            self.setToolTip("")
