"""Issue 11 item 3: opening another project clears the dashboard; a view that does not apply
explains itself in a sentence, never with a raw exception name."""
from __future__ import annotations

from layerlab.core import resources
from layerlab.gui.dashboard.dock import explain

from .training_support import edit, field, mlp_window, train  # noqa: F401 - fixture

_ = mlp_window


def test_opening_another_project_clears_the_last_projects_dashboard(qtbot, mlp_window, dialogs):
    from PySide6.QtWidgets import QMessageBox

    win, ui = mlp_window
    dialogs.answers["question"] = QMessageBox.StandardButton.Discard   # the edited epochs are not kept
    edit(qtbot, field(ui, "training_epochs"), 1)
    store = train(qtbot, ui)
    assert store.status == "finished", store.failure
    d = ui.dashboard
    d.tabs.setCurrentIndex(0)
    d.inspect_tabs.setCurrentWidget(d.confusion)
    qtbot.waitUntil(lambda: d.confusion.result is not None, timeout=20_000)
    assert len(d.loss.val.xData) == 1 and d.confusion.texts

    assert win.files.open(resources.template_path("digits_cnn"))
    assert d.store is not ui.controller.store and d.store.status == "idle"
    assert d.confusion.result is None and not d.confusion.texts and d.confusion.image.image is None
    assert d.loss.val.xData is None or len(d.loss.val.xData) == 0
    assert "No run of this project yet" in d.confusion.caption.text()


def test_a_view_that_does_not_apply_shows_a_sentence():
    text = explain("ValueError: the decision boundary is drawn for data sets with 2 input features")
    assert text == "Not shown: the decision boundary is drawn for data sets with 2 input features"
    assert explain("RuntimeError: out of memory") == "RuntimeError: out of memory"


def test_log_axes_label_only_the_decades_when_two_are_in_view(qapp):
    """Issue 11 item 7: the 2..9 labels of a log axis overlapped; they show only within a decade."""
    from layerlab.gui.dashboard.curves import LossCard
    axis = LossCard().plot.getAxis("left")
    levels = axis.tickValues(-1.3, 0.35, 150)            # 0.05 .. 2.2: the decades 0.1 and 1
    assert levels[0][1] == [-1.0, 0.0] and axis.style["maxTextLevel"] == 0
    levels = axis.tickValues(-0.9, -0.5, 150)            # inside one decade: the minor labels stay
    assert not levels[0][1] and levels[1][1] and axis.style["maxTextLevel"] == 1
