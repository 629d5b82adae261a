"""A diagnosis that carries actions gets a working 'Apply fix' button: one click changes the
project's settings as one undo step."""
from PySide6.QtCore import Qt

from layerlab.core.train.diagnosis import Diagnosis
from layerlab.gui.training.store import MetricsStore

from .training_support import mlp_window  # noqa: F401  (fixture)


def test_apply_fix_changes_the_settings_in_one_undo_step(qtbot, mlp_window):  # noqa: F811
    win, ui = mlp_window
    card = ui.dashboard.diagnostics
    project = win.document.project
    lr0 = project.training.lr
    store = MetricsStore()
    store.status = "finished"
    store.diagnoses = {("chance_level", None): (5, Diagnosis(
        "chance_level", "warning", None, "Validation accuracy has stayed at chance", "lower training.lr",
        actions=(("training", "lr", lr0 / 10), ("training", "clip", "norm"))))}
    card.refresh(store)
    assert not card.fix_button.isEnabled()          # nothing selected yet
    card.tree.setCurrentItem(card.tree.topLevelItem(0))
    assert card.fix_button.isEnabled()
    qtbot.mouseClick(card.fix_button, Qt.MouseButton.LeftButton)
    assert project.training.lr == lr0 / 10 and project.training.clip == "norm"
    win.document.undo_stack.undo()
    assert project.training.lr == lr0 and project.training.clip == "none"
