"""Issue 18 item 7: the Diagnostics panel's "Failed: …" line goes once the problem is fixed: on the
next set-up check that passes after an edit, and on the next run (also while the panel's tab is
hidden). A check without an edit keeps it: nothing was fixed."""
from __future__ import annotations

from .training_support import edit, field, mlp_window, train  # noqa: F401 - fixture

_ = mlp_window


def _fail(qtbot, ui):
    edit(qtbot, field(ui, "training_loss"), "mse")     # a regression loss on class labels: refused
    store = train(qtbot, ui)
    assert store.status == "failed"
    return store


def test_failed_line_clears_on_the_next_passing_check(qtbot, mlp_window, dialogs):
    win, ui = mlp_window
    card = ui.dashboard.diagnostics
    _fail(qtbot, ui)
    assert card.isVisible() and "Failed:" in card.state.text()
    assert "regression loss" in card.state.text()
    ui.refresh_checks()                                # no edit since: still the failure
    assert "Failed:" in card.state.text()

    win.document.undo_stack.undo()                     # the fix: cross-entropy again
    assert win.document.project.training.loss == "cross_entropy"
    qtbot.waitUntil(lambda: "Failed:" not in card.state.text(), timeout=30_000)
    assert "set-up checks pass" in card.state.text()
    card.refresh(ui.controller.store)                  # a redraw does not bring it back
    assert "Failed:" not in card.state.text()


def test_failed_line_clears_when_the_next_run_starts(qtbot, mlp_window, dialogs):
    win, ui = mlp_window
    card = ui.dashboard.diagnostics
    _fail(qtbot, ui)
    assert "Failed:" in card.state.text()
    win.document.undo_stack.undo()
    ui.ctx.set("training", "epochs", 1)
    ui.dashboard.tabs.setCurrentIndex(0)               # looking at the Live tab: the card is hidden
    assert not card.isVisible()
    ui.action_train.trigger()                          # before the debounced check: the run clears it
    assert "Failed:" not in card.state.text() and "Starting" in card.state.text()
    qtbot.waitUntil(lambda: not ui.controller.running, timeout=60_000)
    assert ui.controller.store.status == "finished"
    ui.dashboard.tabs.setCurrentIndex(1)
    assert "Finished" in card.state.text() and "Failed:" not in card.state.text()
