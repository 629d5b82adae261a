"""Garbage collection runs on the GUI thread only (a worker collecting Qt objects deadlocks)."""
import gc
import weakref

from PySide6.QtWidgets import QApplication, QDialog

from layerlab.gui import gc_guard


def test_window_turns_automatic_gc_off_and_the_timer_collects_cycles(qtbot, window):
    assert not gc.isenabled()
    guard = gc_guard.install(QApplication.instance())
    assert guard is gc_guard.install(QApplication.instance())

    class Holder:
        pass
    h = Holder()
    h.dialog = QDialog()
    h.self_ref = h  # a cycle holding a Qt object: only the collector frees it
    ref = weakref.ref(h)
    del h
    for _ in range(guard.threshold[0] + 10):  # push generation 0 over its threshold
        Holder().x = [object()]
        gc_junk = [[] for _ in range(3)]
        gc_junk.append(gc_junk)
    qtbot.waitUntil(lambda: ref() is None, timeout=30_000)


def test_once_built_the_app_freezes_its_startup_objects_out_of_full_collections(qtbot):
    """torch, pyqtgraph and the window's ~300k objects are moved to the permanent generation once
    the panels are built, so a full collection mid-run scans only what was made since (it held
    the GUI thread 150-650 ms before)."""
    from layerlab.core import resources
    from layerlab.gui.app import create_window
    from layerlab.gui.training.ui import install_training_ui
    gc.unfreeze()
    win = create_window(resources.template_path("mlp"))
    qtbot.addWidget(win)
    ui = install_training_ui(win)
    win.show()
    qtbot.waitUntil(lambda: ui.is_ready, timeout=60_000)
    assert gc.get_freeze_count() > 50_000
    ui.shutdown()
