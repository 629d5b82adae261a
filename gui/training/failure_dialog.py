"""The dialog a failed run shows: the cause, the fix, and the tail of the details."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox


def show_failure(parent, message: str, fix: str, details: str) -> None:
    """A modal dialog with the cause (tests patch QMessageBox.critical to record instead)."""
    text = message + (f"\n\nFix: {fix}" if fix else "")
    if details:
        tail = "\n".join(details.strip().splitlines()[-8:])
        text += f"\n\n{tail}"
    QMessageBox.critical(parent, "Training failed", text)
