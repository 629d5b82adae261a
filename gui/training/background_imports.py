"""The GUI process's heavy imports (numpy, pyqtgraph, torch for the data sets), done in a thread
after the window is on screen: importing torch holds the GIL for seconds. The trainer, Captum and
the rest of training import in the training process instead (core/train/child.py)."""
from __future__ import annotations

import threading

HEAVY = ("numpy", "pyqtgraph", "torch", "layerlab.core.data", "layerlab.core.train.checks",
         "layerlab.core.train.wire")


def _import_all(done) -> None:
    import importlib
    error = ""
    for name in HEAVY:
        try:
            importlib.import_module(name)
        except Exception as e:  # reported when the panels are built; never kills the thread silently
            error = f"{name}: {e}"
    try:
        done(error)
    except RuntimeError:  # the window closed before the imports finished: nothing left to build
        pass


def start(done) -> None:
    """Import HEAVY in a daemon thread, then call done(error) there ("" when all imported)."""
    threading.Thread(target=_import_all, args=(done,), name="layerlab-imports", daemon=True).start()
