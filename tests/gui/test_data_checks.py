"""Issue 11 item 8: checks that need the data run on every edit (red node, the fix as tooltip),
Validate reports them, and the Fix button applies the fix as one undoable command."""
from PySide6.QtWidgets import QPushButton

from layerlab.gui.commands import SetParam

from .helpers import node_named
from .training_support import mlp_window  # noqa: F401 - fixture

_ = mlp_window


def test_last_dense_wider_than_the_classes_turns_red_and_the_fix_button_undoably_fixes_it(qtbot, mlp_window, dialogs):
    win, ui = mlp_window
    logits = node_named(win, "logits")
    item = win.scene.nodes[logits.id]
    qtbot.waitUntil(lambda: ui.ctx.dataset() is not None, timeout=60_000)
    assert item.severity == ""
    win.document.push(SetParam(win.document.graph, logits.id, "units", 64))
    qtbot.waitUntil(lambda: item.severity == "error", timeout=10_000)
    assert "set units to 3" in item.problem_text

    win.validate()
    kind, title, text = dialogs.calls[-1]
    assert kind == "warning" and "64 outputs" in text and "3 classes" in text

    box = next(p.checks for p in ui.panels if any(a.fix == "set units to 3" for a in p.checks.items))
    button = next(b for b in box.findChildren(QPushButton) if b.text() == "Fix" and b.toolTip() == "set units to 3")
    button.click()
    assert node_named(win, "logits").params["units"] == 3
    qtbot.waitUntil(lambda: item.severity == "", timeout=10_000)
    win.document.undo_stack.undo()
    assert node_named(win, "logits").params["units"] == 64
    qtbot.waitUntil(lambda: item.severity == "error", timeout=10_000)
