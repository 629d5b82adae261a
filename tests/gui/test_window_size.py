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


def test_the_example_is_fitted_at_first_launch_after_the_docks_settle(qtbot):
    """Issue 18 item 8: no node of the example is clipped at 1366x768 on a first start."""
    from layerlab.gui.app import create_window
    win = create_window()
    win.resize(1366, 740)
    win.show()
    qtbot.waitExposed(win)
    view = win.view
    try:
        def all_inside():
            vp = view.viewport().rect()
            return all(vp.contains(view.mapFromScene(item.sceneBoundingRect()).boundingRect())
                       for item in win.scene.nodes.values())
        qtbot.waitUntil(all_inside, timeout=10_000)
        win.resize(1300, 740)                   # still fitted: the user has not zoomed yet
        qtbot.waitUntil(all_inside, timeout=10_000)
    finally:
        win.document.undo_stack.setClean()
        win.close()
        win.deleteLater()


def test_a_long_status_message_is_elided_with_the_whole_text_in_the_tooltip(window):
    """Issue 18 item 10."""
    window.resize(900, 600)
    long = "Refused: " + "this connection would make a cycle, remove that connection first " * 4
    window.statusBar().showMessage(long, 5000)
    shown = window.statusBar().currentMessage()
    assert shown.endswith("…") and len(shown) < len(long)
    assert window.statusBar().fontMetrics().horizontalAdvance(shown) <= window.statusBar().width()
    assert window.statusBar().toolTip() == long
    window.statusBar().showMessage("Saved", 5000)
    assert window.statusBar().currentMessage() == "Saved" and window.statusBar().toolTip() == ""


def test_node_titles_keep_their_size_after_a_far_zoom_out(window, qtbot):
    """Issue 11 item 6: the far-zoom tiles once changed the shared title font for good."""
    from layerlab.gui import theme
    before = theme.ui_font(9.0, True).pixelSize(), theme.ui_font(9.0, True).pointSizeF()
    window.view.zoom_by(0.2 / window.view.zoom())     # tiles with large print
    window.view.viewport().repaint()
    qtbot.wait(50)
    window.view.zoom_by(0.6 / window.view.zoom())
    window.view.viewport().repaint()
    f = theme.ui_font(9.0, True)
    assert (f.pixelSize(), f.pointSizeF()) == before
    f.setPixelSize(40)                                   # a caller's change stays its own
    assert theme.ui_font(9.0, True).pixelSize() == before[0]


def test_the_first_window_fits_a_small_screen():
    from PySide6.QtCore import QRect

    from layerlab.gui.main_window import default_size
    assert default_size(QRect(0, 0, 1366, 740)) == (1360, 740)     # 1366×768 less a panel
    assert default_size(QRect(0, 0, 1920, 1050)) == (1360, 820)


def test_status_tips_qt_shows_itself_are_elided_and_a_resize_elides_again(window, qtbot):
    """Issue 18 item 10: an action's status tip reaches the bar through Qt (not our showMessage);
    a message shown at one width is fitted again when the window narrows or widens."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QStatusTipEvent

    bar = window.statusBar()
    window.resize(900, 600)
    qtbot.waitUntil(lambda: window.width() == 900)
    tip = "Export the trained network " + "as ONNX, torch.export, PyTorch source or a LayerLab folder " * 4
    QCoreApplication.sendEvent(window, QStatusTipEvent(tip))
    assert bar.currentMessage().endswith("…") and len(bar.currentMessage()) < len(tip)
    assert bar.toolTip() == tip and bar.full_message == tip

    short = "Refused: this connection would make a cycle, remove that connection first"
    window.resize(1400, 600)
    qtbot.waitUntil(lambda: window.width() == 1400)
    bar.showMessage(short, 5000)
    assert bar.currentMessage() == short and bar.toolTip() == ""
    window.resize(420, 600)
    qtbot.waitUntil(lambda: bar.currentMessage() != short)
    assert bar.currentMessage().endswith("…") and bar.toolTip() == short
    assert bar.fontMetrics().horizontalAdvance(bar.currentMessage()) <= bar.width()
    window.resize(1400, 600)
    qtbot.waitUntil(lambda: bar.currentMessage() == short)
    assert bar.toolTip() == ""
