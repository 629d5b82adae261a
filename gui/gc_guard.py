"""Python's garbage collector runs only on the GUI thread.

Automatic collection runs in whichever thread happens to allocate. When that is the training
or export thread and the garbage holds Qt wrappers (a closed dialog in a reference cycle),
~QObject runs there: it takes a Qt lock, then waits for the GIL, while the GUI thread holds
the GIL waiting for that lock — a deadlock (seen in this project's tests during an ONNX
export). calibre's GarbageCollector does the same: automatic GC off, a GUI-thread timer
collects whatever generation the counters call for.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class GuiThreadGC(QObject):
    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self, interval=INTERVAL_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = self.threshold
        if c0 > t0:
            gc.collect(2 if c2 > t2 else 1 if c1 > t1 else 0)


def install(app) -> GuiThreadGC:
    """Idempotent: one collector per QApplication."""
    guard = getattr(app, "_layerlab_gc", None)
    if guard is None:
        guard = GuiThreadGC(app)
        app._layerlab_gc = guard
    return guard


def freeze_startup() -> None:
    """Move everything alive once the app is built (torch, pyqtgraph, Qt wrappers: ~300k objects)
    to the permanent generation: a full collection then scans only what was made since, instead of
    holding the GUI thread for 150-650 ms mid-run (seen as the dashboard's longest stalls)."""
    if not gc.get_freeze_count():
        gc.freeze()
