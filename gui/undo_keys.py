"""Undo and redo keys reach the document while a form field has focus.

A QLineEdit (and the one inside a spin box) claims Ctrl+Z for its own text history, so after
an edit was committed to the graph, Ctrl+Z in the inspector did nothing visible. This filter
lets the field keep the keys only while it holds typing not yet committed; otherwise the
window's Undo / Redo actions get them."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QWidget

_KEYS = (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo)
REDO_EXTRA = QKeySequence("Ctrl+Y")


def _line_edit(w) -> QLineEdit | None:
    if isinstance(w, QLineEdit):
        return w
    return w.lineEdit() if isinstance(w, QAbstractSpinBox) else None


class _PassUndo(QObject):
    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride:
            return False
        edit = _line_edit(obj)
        combo = event.keyCombination().toCombined()
        is_undo_key = any(event.matches(k) for k in _KEYS) or QKeySequence(combo) == REDO_EXTRA
        if edit is None or not is_undo_key or edit.isModified():
            return False
        event.ignore()      # not claimed: the shortcut (the window's Undo / Redo) fires
        return True


def pass_undo_keys(root: QWidget) -> None:
    """Install on every line edit and spin box under `root` (call after building a form)."""
    guard = root.findChild(_PassUndo) or _PassUndo(root)
    for w in root.findChildren(QLineEdit) + root.findChildren(QAbstractSpinBox):
        if w.property("undoKeysPassed"):
            continue
        w.setProperty("undoKeysPassed", True)
        w.installEventFilter(guard)
        edit = _line_edit(w)
        done = getattr(w, "editingFinished", None)
        if edit is not None and done is not None:   # committed: the typing is the graph's history now
            done.connect(lambda e=edit: e.setModified(False))
