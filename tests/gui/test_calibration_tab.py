"""The Calibration tab after a run: the reliability diagram with ECE in its title, and the
one-click Calibrate (temperature scaling in a thread) writing calibration.json and drawing the
calibrated bins with T and ECE before → after."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .training_support import mlp_window, train  # noqa: F401 - fixture

_ = mlp_window


def test_reliability_diagram_and_calibrate_after_a_run(qtbot, mlp_window):
    win, ui = mlp_window
    ui.ctx.set_many([("training", "epochs", 20), ("training", "lr", 0.03)], "short run")
    ui.action_train.trigger()
    store = ui.controller.store
    qtbot.waitUntil(lambda: store.status == "finished", timeout=120_000)
    d = ui.dashboard
    d.tabs.setCurrentWidget(d.calibration)
    card = d.calibration
    qtbot.waitUntil(lambda: "ECE" in card.title.text(), timeout=10_000)
    assert card.title.text().startswith("Reliability · test ECE ")
    header, rows = card.table()
    assert len(rows) == 15 and sum(r[3] for r in rows) == 90     # the spiral's 15 % test split of 600
    assert card.button.isEnabled()
    card.button.click()
    qtbot.waitUntil(lambda: "after T =" in card.title.text(), timeout=60_000)
    cal = json.loads((Path(store.run_dir) / "calibration.json").read_text())
    assert f"{cal['test']['ece_after']:.4f}" in card.title.text()
    shots = os.environ.get("LAYERLAB_SCREENSHOTS")
    if shots:      # for looking at it by eye: the window at 1366x768 with the Calibration tab
        win.resize(1366, 768)
        qtbot.wait(300)
        from PySide6.QtGui import QGuiApplication
        QGuiApplication.primaryScreen().grabWindow(win.winId()).save(str(Path(shots) / "reliability.png"))
