"""Optimizer panel ▸ Find LR…: the range test runs on a copy, shows its curve and suggestion, and
Apply is one undoable change of training.lr; nothing else of the project changes."""
from PySide6.QtWidgets import QPushButton

from .training_support import mlp_window  # noqa: F401


def test_find_lr_shows_a_suggestion_and_apply_is_undoable(qtbot, mlp_window, tmp_path):
    win, ui = mlp_window
    doc, t = win.document, win.document.project.training
    graph_before = doc.project.to_dict()["graph"]
    button = ui.optim_panel.widget.findChild(QPushButton, "lrFindButton")
    assert button is not None and button.isVisibleTo(ui.optim_panel.widget.window())
    button.click()
    dialog = ui.optim_panel.lr_dialog
    qtbot.waitUntil(lambda: dialog.result is not None or "could not" in dialog.label.text(), timeout=120_000)
    r = dialog.result
    assert r is not None and r.suggested is not None, dialog.label.text()
    assert "Suggested LR" in dialog.label.text() and "min/10" in dialog.label.text()
    assert len(dialog.smooth.getData()[0]) > 20 and dialog.marker.isVisible()
    assert t.lr == 0.01 and not doc.dirty and not (tmp_path / "runs").exists()   # the test wrote nothing
    count = doc.undo_stack.count()
    dialog.apply_button.click()
    assert t.lr == float(f"{r.suggested:.3g}") and doc.undo_stack.count() == count + 1
    assert doc.undo_stack.undoText().startswith("Apply LR range test")
    doc.undo_stack.undo()
    assert t.lr == 0.01 and doc.project.to_dict()["graph"] == graph_before
