"""Screenshot of a run in progress on digits with the digits_cnn template (curves, histograms,
saliency), for the README: `xvfb-run -a -s "-screen 0 1600x1000x24" python -m tests.bench.screenshot_training`.
Not a benchmark (the bench runner only collects bench_*.py)."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-training.png"


def main(out: Path = OUT, epochs: int = 30, grab_at: int = 12) -> Path:
    import os
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="layerlab-shot-config-")  # default layout
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QCursor
    from PySide6.QtWidgets import QApplication

    from layerlab.core import resources
    from layerlab.gui.app import create_window
    from layerlab.gui.training.ui import install_training_ui

    win = create_window(resources.template_path("digits_cnn"))
    ui = install_training_ui(win)
    ui.runs_root_override = Path(tempfile.mkdtemp(prefix="layerlab-shot-"))
    win.resize(1600, 1000)
    win.show()
    app = QApplication.instance()

    def spin(until, limit=120.0):
        t0 = time.monotonic()
        while not until() and time.monotonic() - t0 < limit:
            app.processEvents()
            time.sleep(0.005)

    spin(lambda: ui.is_ready)
    ui.ctx.set("training", "epochs", epochs)
    ui.ctx.set("training", "early_stopping", True)
    ui.ctx.set("training", "patience", 8)
    ui.docks["Training"].raise_()
    QCursor.setPos(QPoint(1599, 999))              # no hover tooltip or plot button in the picture
    ui.action_train.trigger()
    store = ui.controller.store
    spin(lambda: (len(store.epochs) >= grab_at and len(store.probes) >= 2) or not ui.controller.running)
    sal = ui.dashboard.saliency
    sal.result = None
    sal.update_now()
    spin(lambda: sal.result is not None, 20)
    ui.dashboard.redraw(force=True)                # every card as of now (live slices may lag a little)
    ui.progress.show_store(store)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.005)
    img = win.grab().toImage()
    img.save(str(out), "PNG")
    ui.action_stop.trigger()
    spin(lambda: not ui.controller.running, 30)
    return out


if __name__ == "__main__":
    print(main(*(sys.argv[1:2] and [Path(sys.argv[1])])))
