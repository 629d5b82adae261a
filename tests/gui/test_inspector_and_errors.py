"""The inspector form edits through the widgets (undoable); errors turn nodes red with a
tooltip and are counted in the status bar; View ▸ Code shows the generated code."""
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from .helpers import item_named, node_named, settle


def _select(win, name, qtbot=None):
    win.scene.select_nodes([node_named(win, name).id])
    assert win.inspector.node_id == node_named(win, name).id
    if qtbot is not None:  # new form widgets are shown (and laid out) by the event loop
        qtbot.waitUntil(lambda: all(e.isVisible() for e in win.inspector.editors.values()))


def _type(qtbot, widget, text):
    line = widget.lineEdit() if hasattr(widget, "lineEdit") else widget
    widget.setFocus()
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def test_form_is_generated_from_the_layer_spec(window):
    _select(window, "conv1")
    insp = window.inspector
    spec = node_named(window, "conv1").spec
    assert set(insp.editors) == {p.name for p in spec.params}
    filters = insp.findChild(QSpinBox, "param_filters")
    assert (filters.minimum(), filters.maximum(), filters.value()) == (1, 4096, 32)
    assert isinstance(insp.findChild(QComboBox, "param_padding"), QComboBox)
    assert isinstance(insp.findChild(QCheckBox, "param_bias"), QCheckBox)
    assert spec.help in insp.findChild(type(insp.title), "inspectorHelp").text()
    assert "[B, 32, 8, 8]" in insp.shape_label.text()
    _select(window, "drop")
    p = window.inspector.findChild(QDoubleSpinBox, "param_p")
    assert (p.minimum(), p.maximum(), p.value()) == (0.0, 0.99, 0.3)
    assert p.text() == "0.3"


def test_edit_param_in_inspector_updates_canvas_and_undo_redo(window, qtbot):
    win = window
    _select(win, "conv1")
    node, item = node_named(win, "conv1"), item_named(win, "conv1")
    spin = win.inspector.editors["filters"]
    steps = win.document.undo_stack.count()
    _type(qtbot, spin, "48")
    assert node.params["filters"] == 48
    assert win.document.undo_stack.count() == steps + 1
    settle(qtbot, win)
    assert item.shape_text == "[B, 48, 8, 8]" and "filters 48" in item.params_text
    win.actions.undo.trigger()
    assert node.params["filters"] == 32 and spin.value() == 32
    settle(qtbot, win)
    assert item.shape_text == "[B, 32, 8, 8]"
    win.actions.redo.trigger()
    assert node.params["filters"] == 48 and spin.value() == 48


def test_checkbox_combo_and_dims_edits(window, qtbot):
    win = window
    _select(win, "conv1", qtbot)
    node = node_named(win, "conv1")
    qtbot.mouseClick(win.inspector.editors["bias"], Qt.MouseButton.LeftButton)
    assert node.params["bias"] is True
    win.inspector.editors["padding"].setCurrentText("valid")
    assert node.params["padding"] == "valid"
    settle(qtbot, win)
    assert item_named(win, "conv1").shape_text == "[B, 32, 6, 6]"
    _select(win, "image")
    shape = win.inspector.findChild(QLineEdit, "param_shape")
    _type(qtbot, shape, "1, 8, 9x")
    assert shape.property("invalid") is True and list(node_named(win, "image").params["shape"]) == [1, 8, 8]
    _type(qtbot, shape, "1 16 16")
    assert list(node_named(win, "image").params["shape"]) == [1, 16, 16]
    settle(qtbot, win)
    assert item_named(win, "image").shape_text == "[B, 1, 16, 16]"


def test_rename_in_inspector_is_checked_and_undoable(window, qtbot):
    win = window
    _select(win, "conv1")
    name = win.inspector.name_edit
    _type(qtbot, name, "conv2")  # taken
    assert "already exists" in win.inspector.name_error.text()
    assert node_named(win, "conv1")
    _type(qtbot, name, "stem")
    assert win.document.graph.by_name("stem") is not None
    assert item_named(win, "stem").name_text == "stem"
    win.actions.undo.trigger()
    assert win.document.graph.by_name("conv1") is not None and name.text() == "conv1"


def test_shape_mismatch_turns_node_red_with_tooltip_and_status_count(window, qtbot):
    win = window
    _select(win, "flatten")
    # delete Flatten and connect pool2 straight into the Dense head: [B, 64, 2, 2] into Dense
    win.actions.delete.trigger()
    win.editor.connect_nodes(node_named(win, "pool2").id, node_named(win, "drop").id, 0)
    settle(qtbot, win)
    logits = item_named(win, "logits")
    assert logits.severity == "error"
    assert "Dense 'logits'" in logits.toolTip() and "Flatten" in logits.toolTip()
    assert win.status_problems.text() == "⚠ 1 problem"
    win.scene.select_nodes([logits.node_id])
    assert win.inspector.problems_label.isVisible() or "Flatten" in win.inspector.problems_label.text()
    win.actions.undo.trigger()
    win.actions.undo.trigger()
    settle(qtbot, win)
    assert logits.severity == "" and win.status_problems.text().startswith("✔")


def test_validate_reports_problems_in_a_dialog(window, dialogs, qtbot):
    win = window
    win.actions.validate.trigger()
    assert dialogs.calls[-1][0] == "information" and "valid" in dialogs.calls[-1][2]
    _select(win, "flatten")
    win.actions.delete.trigger()
    win.actions.validate.trigger()
    kind, _, text = dialogs.calls[-1]
    assert kind == "warning" and "not connected" in text


def test_code_view_shows_generated_code_and_follows_edits(window, qtbot):
    win = window
    win.actions.code.trigger()
    view = win.code_view
    qtbot.waitUntil(lambda: view.refreshes > 0, timeout=30_000)
    assert "def forward(self, image)" in view.text() and "self.conv1" in view.text()
    _select(win, "conv1")
    _type(qtbot, win.inspector.editors["filters"], "40")
    qtbot.waitUntil(lambda: "Conv2d(1, 40" in view.text(), timeout=30_000)
    _select(win, "flatten")
    win.actions.delete.trigger()
    qtbot.waitUntil(lambda: "cannot be compiled" in view.text(), timeout=30_000)
    assert "not connected" in view.text()
