"""One editor widget per parameter kind, built from the LayerSpec's Param entry.

Each editor has `set_value(v)` (emits nothing: undo and selection changes are not edits)
and a `committed(value)` signal that fires once per finished edit (Enter, focus out, a
click, a step), with the value in the type the parameter stores.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSizePolicy,
                               QSpinBox, QWidget)

from ...core.layers import ParamError

INT_LIMIT = 2**31 - 1


class FloatSpinBox(QDoubleSpinBox):
    """Shows 0.1 and 1e-05 as such instead of 0.100000 / 0.000010."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.strip().replace(",", "."))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        t = text.strip().replace(",", ".")
        try:
            v = float(t)
        except ValueError:
            ok = t in ("", "-", "+", ".", "-.") or t.lower().endswith(("e", "e-", "e+"))
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos
        if self.minimum() <= v <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos


class _Quiet:
    """set_value without emitting: programmatic updates (undo, selection) are not edits."""

    def set_value(self, v) -> None:
        self.blockSignals(True)
        try:
            self._set(v)
        finally:
            self.blockSignals(False)


class IntEdit(_Quiet, QSpinBox):
    committed = Signal(object)

    def __init__(self, param, parent=None):
        super().__init__(parent)
        self.setRange(param.min if param.min is not None else -INT_LIMIT,
                      param.max if param.max is not None else INT_LIMIT)
        self.setKeyboardTracking(False)  # one edit per Enter / step, not per keystroke
        self.setAccelerated(True)
        self.valueChanged.connect(lambda v: self.committed.emit(int(v)))

    def _set(self, v) -> None:
        if _is_num(v):
            self.setValue(int(v))


class FloatEdit(_Quiet, FloatSpinBox):
    committed = Signal(object)

    def __init__(self, param, parent=None):
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(param.min if param.min is not None else -1e12, param.max if param.max is not None else 1e12)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.setKeyboardTracking(False)
        self.valueChanged.connect(lambda v: self.committed.emit(float(v)))

    def _set(self, v) -> None:
        if _is_num(v):
            self.setValue(float(v))


class BoolEdit(_Quiet, QCheckBox):
    committed = Signal(object)

    def __init__(self, param, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)  # clicks land on the box
        self.toggled.connect(lambda on: self.committed.emit(bool(on)))

    def _set(self, v) -> None:
        self.setChecked(bool(v))


class ChoiceEdit(_Quiet, QComboBox):
    committed = Signal(object)

    def __init__(self, param, parent=None):
        super().__init__(parent)
        self.addItems(list(param.options))
        self.currentTextChanged.connect(lambda t: self.committed.emit(t))

    def _set(self, v) -> None:
        self.setCurrentText(str(v))


EDITORS = {"int": IntEdit, "float": FloatEdit, "bool": BoolEdit, "choice": ChoiceEdit}


def make_editor(param, value, parent=None) -> QWidget:
    """The editor for `param` (Dims and unknown kinds get a checked text field)."""
    w = EDITORS.get(param.kind, DimsEdit)(param, parent)
    w.set_value(value)
    return w


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class DimsEdit(QLineEdit):
    """Sizes like `1, 8, 8`; parsed and checked by the Dims parameter on Enter or focus out."""

    committed = Signal(object)
    rejected = Signal(str)

    def __init__(self, param, parent=None):
        super().__init__(parent)
        self.param = param
        self.setPlaceholderText("e.g. 1, 8, 8")
        self.editingFinished.connect(self._finish)
        self._last = ""

    def set_value(self, v) -> None:
        self._last = ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
        self.setText(self._last)
        self._mark("")

    def value_(self):
        return self.text()

    def _mark(self, error: str) -> None:
        self.setProperty("invalid", bool(error))
        self.setToolTip(error or self.param.help)
        self.style().unpolish(self)
        self.style().polish(self)

    def _finish(self) -> None:
        text = self.text()
        if text == self._last:
            return
        try:
            dims = self.param.coerce(text)
        except ParamError as e:
            self._mark(f"{e.message}: {e.fix}" if e.fix else e.message)
            self.rejected.emit(e.message)
            return
        self._last = ", ".join(map(str, dims))
        self.setText(self._last)
        self._mark("")
        self.committed.emit(list(dims))
