"""Issue 11 item 4: the window never resizes itself (Train opens the dashboard inside it), and
at 1366x768 every tool-bar action is reachable (in view or in the overflow menu)."""
from PySide6.QtWidgets import QToolBar

from .training_support import close_window, edit, field, open_window, train


def test_train_keeps_the_window_size_and_actions_stay_reachable_at_1366x768(qtbot, tmp_path):
    win, ui = open_window(qtbot, "mlp", tmp_path)
    try:
        win.resize(1360, 740)
        qtbot.waitUntil(lambda: win.width() == 1360)
        edit(qtbot, field(ui, "training_epochs"), 1)
        store = train(qtbot, ui)
        assert store.status == "finished", store.failure
        ui.show_dashboard()
        for i in range(ui.dashboard.tabs.count()):
            ui.dashboard.tabs.setCurrentIndex(i)
            qtbot.wait(50)
            assert (win.width(), win.height()) == (1360, 740), ui.dashboard.tabs.tabText(i)
        assert win.minimumSizeHint().width() <= 1366 and win.minimumSizeHint().height() <= 768
        bar = win.findChild(QToolBar, "mainToolBar")
        for act in (ui.action_train, ui.action_pause, ui.action_stop):
            button = bar.widgetForAction(act)
            assert button is not None and button.isVisible(), act.text()
            assert bar.rect().contains(button.geometry()), act.text()
    finally:
        close_window(win, ui)
