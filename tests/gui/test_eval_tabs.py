"""The ROC / PR tab (curves from result.json, a threshold slider driving the confusion matrix) and
the Sample tab (generation from a next-token model: in the training process during and after a
run, from the run folder's weights once that process is gone)."""
from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from .training_support import close_window, mlp_window, open_window  # noqa: F401 - fixture

_ = mlp_window


def _shot(qtbot, win, name: str) -> None:
    shots = os.environ.get("LAYERLAB_SCREENSHOTS")
    if shots:      # for looking at it by eye: the window at 1366x768
        win.resize(1366, 768)
        qtbot.wait(400)
        from PySide6.QtGui import QGuiApplication
        QGuiApplication.primaryScreen().grabWindow(win.winId()).save(str(Path(shots) / name))


def test_threshold_slider_changes_the_confusion_matrix(qtbot, mlp_window):
    """A two-class run (moons, a 2-unit head) trained in the window: its curves cross the process
    boundary in result.json's fields and the tab draws them."""
    win, ui = mlp_window
    win.document.graph.set_param(win.document.graph.by_name("logits").id, "units", 2)
    ui.ctx.set_many([("data", "dataset", "moons"), ("training", "epochs", 4), ("training", "lr", 0.03)], "binary")
    qtbot.waitUntil(lambda: ui.ctx.dataset() is not None and ui.ctx.dataset().num_classes == 2, timeout=60_000)
    ui.action_train.trigger()
    store = ui.controller.store
    qtbot.waitUntil(lambda: store.status == "finished", timeout=120_000)
    d = ui.dashboard
    d.tabs.setCurrentWidget(d.roc)
    card = d.roc
    qtbot.waitUntil(lambda: "AUC" in card.title.text(), timeout=10_000)
    result = store.result
    assert card.title.text().startswith(f"ROC AUC {result.test_roc_auc:.4f} · PR AUC {result.test_pr_auc:.4f}")
    cells = lambda: [card.matrix.item(r, c).text() for r in range(2) for c in range(2)]   # noqa: E731
    at_half = cells()
    tn, fp, fn, tp = card.counts()
    assert at_half == [f"{v:,}" for v in (tn, fp, fn, tp)]
    test = result.curves["test"]
    assert tn + fp + fn + tp == test["positives"] + test["negatives"]
    card.slider.setValue(5)        # a low threshold: nearly everything positive
    low = card.counts()
    assert cells() != at_half and low[3] >= tp and low[1] >= fp and low[0] + low[2] < tn + fn
    assert card.threshold_label.text() == "threshold 0.05"
    card.slider.setValue(100)
    assert card.counts()[1] + card.counts()[3] <= fp + tp
    card.slider.setValue(50)
    assert cells() == at_half
    card.split.setCurrentIndex(1)
    card.split.activated.emit(1)
    assert "(val)" in card.title.text()
    card.slider.setValue(30)
    _shot(qtbot, win, "roc_tab.png")
    card.refresh(SimpleNamespace(status="finished", result=SimpleNamespace(curves={}), run_dir=""))
    assert not card.slider.isEnabled() and card.matrix.item(0, 0).text() == ""


def test_sample_during_and_after_training_and_from_the_run_folder(qtbot, tmp_path):
    win, ui = open_window(qtbot, "tiny_transformer", tmp_path)
    try:
        ui.ctx.set_many([("training", "epochs", 6)], "short run")
        d = ui.dashboard
        card = d.sample
        ui.action_train.trigger()
        store = ui.controller.store
        d.tabs.setCurrentWidget(card)
        qtbot.waitUntil(lambda: store.status == "running" and len(store.epochs) >= 1, timeout=120_000)
        card.refresh(store)
        card.seed.setValue(7)
        card.button.click()        # during the run: a job in the training process
        qtbot.waitUntil(lambda: card.result is not None, timeout=60_000)
        assert "(epoch" in card.perplexity.text() and card.output.toPlainText().startswith("The ")
        qtbot.waitUntil(lambda: not ui.controller.running, timeout=180_000)
        assert store.status == "finished"
        d.redraw(force=True)
        card.result = None
        card.button.click()        # after the run: the idle process keeps the model
        qtbot.waitUntil(lambda: card.result is not None, timeout=60_000)
        after = card.output.toPlainText()
        assert len(after) == len("The ") + 200 and "validation perplexity" in card.perplexity.text()
        _shot(qtbot, win, "sample_tab.png")
        ui.controller.model_process = None      # that process gone: the run folder's weights
        card.result = None
        card.button.click()
        qtbot.waitUntil(lambda: card.result is not None, timeout=60_000)
        assert card.output.toPlainText() == after, "the same seed and weights gave another text"
        assert "best.safetensors" in card.perplexity.text() or "last.safetensors" in card.perplexity.text()
        card.temperature.setValue(0)
        assert card.labels["temperature"].text() == "greedy"
    finally:
        close_window(win, ui)
