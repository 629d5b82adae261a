"""Undoable edits of the project's DataSpec / TrainSpec.

Every set-up panel edits a spec only through these commands, so undo/redo, the document's
dirty flag and every view bound to the spec stay in step. Views listen to
`SpecNotifier.changed(spec, field)`; the command emits it after each redo and undo.
"""
from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

SPEC_MERGE_ID = 2001


class SpecNotifier(QObject):
    """One per window: panels, LR preview and checks re-read a spec when it says so."""
    changed = Signal(object, str)   # spec object, field name ("" = several fields)


def _label(spec, field: str) -> str:
    section = "data" if type(spec).__name__ == "DataSpec" else "training"
    return f"{section}.{field}"


class SetSpecField(QUndoCommand):
    """Set one field. Edits sharing a `merge_key` (one editing session of one widget: typing
    digits in a spin box, dragging a slider) become one undo step; editing back to the start
    value removes the step."""

    def __init__(self, notifier: SpecNotifier, spec, field: str, value: Any, merge_key: Any = None,
                 text: str | None = None):
        super().__init__(text or f"Set {_label(spec, field)}")
        if not hasattr(spec, field):
            raise AttributeError(f"{type(spec).__name__} has no field {field!r}")
        self.notifier = notifier
        self.spec = spec
        self.field = field
        self.old = copy.deepcopy(getattr(spec, field))
        self.new = copy.deepcopy(value)
        self.merge_key = merge_key

    def id(self) -> int:
        return SPEC_MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (isinstance(other, SetSpecField) and other.merge_key is not None
                and other.merge_key == self.merge_key and other.spec is self.spec and other.field == self.field):
            return False
        self.new = other.new
        if self.new == self.old:
            self.setObsolete(True)
        return True

    def _apply(self, value) -> None:
        setattr(self.spec, self.field, copy.deepcopy(value))
        self.notifier.changed.emit(self.spec, self.field)

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class SetSpecFields(QUndoCommand):
    """Several fields, possibly of both specs, in one step (a one-click fix, a preset)."""

    def __init__(self, notifier: SpecNotifier, changes: list[tuple[Any, str, Any]], text: str):
        super().__init__(text)
        self.notifier = notifier
        self.changes = [(spec, f, copy.deepcopy(getattr(spec, f)), copy.deepcopy(v)) for spec, f, v in changes]

    def redo(self) -> None:
        for spec, f, _old, new in self.changes:
            setattr(spec, f, copy.deepcopy(new))
        for spec, f, _old, _new in self.changes:
            self.notifier.changed.emit(spec, f)

    def undo(self) -> None:
        for spec, f, old, _new in reversed(self.changes):
            setattr(spec, f, copy.deepcopy(old))
        for spec, f, _old, _new in self.changes:
            self.notifier.changed.emit(spec, f)
