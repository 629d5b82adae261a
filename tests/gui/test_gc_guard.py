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
