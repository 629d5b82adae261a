"""Issue 11 item 10: Ctrl+Y redoes; Ctrl+Z undoes the graph while an inspector field has focus."""
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QSpinBox

from .helpers import node_named
from .test_inspector_and_errors import _select, _type


def test_ctrl_y_is_a_redo_shortcut(window):
    assert QKeySequence("Ctrl+Y") in window.actions.redo.shortcuts()


def test_ctrl_z_in_a_focused_inspector_field_undoes_the_committed_edit(window, qtbot):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    _select(window, "conv1", qtbot)
    filters = window.inspector.findChild(QSpinBox, "param_filters")
    _type(qtbot, filters, "16")
    node = node_named(window, "conv1")
    assert node.params["filters"] == 16
    assert filters.hasFocus()
    qtbot.keyClick(filters, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert node_named(window, "conv1").params["filters"] == 32
    qtbot.waitUntil(lambda: window.inspector.findChild(QSpinBox, "param_filters") is not None)
    field = window.inspector.findChild(QSpinBox, "param_filters")
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    qtbot.keyClick(field, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert node_named(window, "conv1").params["filters"] == 16
