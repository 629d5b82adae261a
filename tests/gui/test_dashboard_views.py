"""The dashboard after a real run: every plot exports CSV and PNG, histograms scrub through
epochs, the inspection views compute, the init explorer compares inits; digits_cnn shows
image saliency, Grad-CAM and feature maps."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from .training_support import close_window, open_window, train

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(request, tmp_path_factory, qapp):
    """One spiral run shared by the tests here (each test reads, none trains again)."""
    qtbot = QtBot(request)
    win, ui = open_window(qtbot, "mlp", tmp_path_factory.mktemp("dash"))
    ui.ctx.set_many([("training", "epochs", 3), ("training", "batch_size", 16)], "short run")
    store = train(qtbot, ui)
    assert store.status == "finished", store.failure
    yield qtbot, win, ui, store
    close_window(win, ui)


def test_every_plot_exports_its_data_as_csv_and_its_picture_as_png(trained, tmp_path):
    qtbot, win, ui, store = trained
    d = ui.dashboard
    d.tabs.setCurrentIndex(1)              # hidden cards catch up when shown
    qtbot.waitUntil(lambda: d.weights.selected() is not None, timeout=30_000)
    for page in (d.saliency, d.boundary, d.confusion):
        d.tabs.setCurrentIndex(0)
        d.inspect_tabs.setCurrentWidget(page)
        qtbot.waitUntil(lambda p=page: p.result is not None, timeout=10_000)
    d.history.reload()
    d.history.tree.selectAll()
    cards = [d.loss, d.metric_card, d.gradients, d.activations, d.weights, d.diagnostics, d.saliency,
             d.boundary, d.confusion, d.history]
    for card in cards:
        path = card.export_csv(tmp_path / f"{card.objectName()}.csv")
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        assert rows and rows[0], card.objectName()
        if card is not d.diagnostics:      # a healthy run may have nothing to diagnose
            assert len(rows) > 1, card.objectName()
        png = card.export_png(tmp_path / f"{card.objectName()}.png")
        assert png.read_bytes()[:8] == PNG
    loss_rows = list(csv.DictReader(open(tmp_path / "lossPlot.csv")))
    assert {r["kind"] for r in loss_rows} == {"step", "epoch"}
    assert sum(r["kind"] == "epoch" for r in loss_rows) == 3


def test_histograms_scrub_through_epochs_and_compare_with_init(trained):
    qtbot, win, ui, store = trained
    card = ui.dashboard.activations
    ui.dashboard.tabs.setCurrentIndex(0)
    assert card.slider.maximum() == len(store.probes) - 1
    card.slider.setValue(card.slider.maximum())
    assert card.epoch_label.text() == "epoch 3"
    _, ref, cur, stats = card.grid.plots["relu1"]
    assert len(cur.xData) == 31 and ref.xData is not None
    assert stats.textItem.toPlainText().startswith("σ")
    card.slider.setValue(0)
    assert card.epoch_label.text() == "init"
    assert ref.xData is None or len(ref.xData) == 0     # at init there is nothing older to compare with
    card.filter.setCurrentIndex(1)
    assert "relu1" in card.grid.plots and len(card.grid.plots) == len(store.probes[0].layers)


def test_inspection_views_compute_from_the_trained_model(trained):
    qtbot, win, ui, store = trained
    d = ui.dashboard
    d.tabs.setCurrentIndex(0)
    d.inspect_tabs.setCurrentWidget(d.boundary)
    qtbot.waitUntil(lambda: d.boundary.result is not None, timeout=10_000)
    assert d.boundary.image.image.shape == (90, 90, 3)
    d.inspect_tabs.setCurrentWidget(d.confusion)
    qtbot.waitUntil(lambda: d.confusion.result is not None, timeout=10_000)
    cm = d.confusion.result["cm"]
    assert cm.shape == (3, 3) and cm.sum() == len(ui.ctx.dataset().y_val)
    assert "accuracy" in d.confusion.caption.text() and "macro-F1" in d.confusion.caption.text()
    assert d.confusion.classes.rowCount() == 3                     # per-class precision / recall / F1
    d.inspect_tabs.setCurrentWidget(d.features)
    qtbot.waitUntil(lambda: "feature maps" in d.features.caption.text() or "Conv2d" in d.features.caption.text(),
                    timeout=10_000)
    assert "add a Conv2d layer" in d.features.caption.text()       # an MLP has none: said, not crashed
    d.saliency.method.setCurrentIndex(d.saliency.method.findData("integrated_gradients"))
    d.inspect_tabs.setCurrentWidget(d.saliency)
    qtbot.waitUntil(lambda: d.saliency.result is not None and d.saliency.result["method"] == "integrated_gradients",
                    timeout=10_000)
    assert d.saliency.stack.currentWidget() is d.saliency.bars_plot    # 2 features: bars, not an image
    d.saliency.sample.setValue(5)
    qtbot.waitUntil(lambda: d.saliency.result["index"] == 5, timeout=10_000)


def test_init_explorer_compares_inits_before_training(trained):
    qtbot, win, ui, store = trained
    ex = ui.dashboard.init_explorer
    for i in range(ex.schemes.count()):
        it = ex.schemes.item(i)
        it.setCheckState(it.checkState().Checked if it.data(256) in ("auto", "small_normal", "large_normal")
                         else it.checkState().Unchecked)
    assert ex.checked() == ["auto", "small_normal", "large_normal"]
    ex.run_button.click()
    std = {s: snap.layer("logits").act_std for s, snap in ex.result.items()}
    assert std["small_normal"] < 0.1 * std["auto"] and std["large_normal"] > 3 * std["auto"]
    assert len(ex.bars.getPlotItem().items) >= 3
    assert ex.which.count() == 3 and "fc1" in ex.grid.plots


def test_digits_cnn_shows_image_saliency_gradcam_and_feature_maps(qtbot, tmp_path):
    win, ui = open_window(qtbot, "digits_cnn", tmp_path)
    try:
        ui.ctx.set_many([("training", "epochs", 1)], "one epoch")
        store = train(qtbot, ui)
        assert store.status == "finished", store.failure
        d = ui.dashboard
        sal = d.saliency
        qtbot.waitUntil(lambda: sal.result is not None, timeout=10_000)
        assert sal.stack.currentWidget() is sal.images
        assert sal.items[0].image.shape == (8, 8) and sal.items[2].image.shape == (8, 8, 3)
        sal.method.setCurrentIndex(sal.method.findData("gradcam"))
        qtbot.waitUntil(lambda: sal.result["method"] == "gradcam", timeout=10_000)
        assert sal.layer.isVisibleTo(sal) and sal.layer.currentText() == "conv3"
        assert np.isfinite(sal.items[1].image).all()
        d.inspect_tabs.setCurrentWidget(d.features)
        qtbot.waitUntil(lambda: d.features.result is not None, timeout=10_000)
        assert d.features.result["layer"] == "conv1" and d.features.result["maps"].shape == (32, 8, 8)
        assert "32 of 32 channels" in d.features.caption.text()
    finally:
        close_window(win, ui)


def test_early_stopping_shows_patience_countdown_and_the_restored_epoch(qtbot):
    from layerlab.core.train.events import EpochEnd, Finished, RunResult, RunStarted
    from layerlab.gui.dashboard.curves import LossCard, MetricCard
    from layerlab.gui.training.store import MetricsStore

    st = MetricsStore("es")
    st.apply([RunStarted("r", {"training": {"early_stopping": True, "patience": 3}}, 5, 20,
                         metric_names=["val_accuracy"])])
    vals = [0.9, 0.7, 0.6, 0.65, 0.66, 0.67]     # best at epoch 3, then three worse epochs
    for e, v in enumerate(vals, start=1):
        best = 1 + int(np.argmin(vals[:e]))
        st.apply([EpochEnd(e, v + 0.1, v, {"val_accuracy": 1 - v}, 1e-3, {}, {}, 0.1, best, best == e,
                           patience_left=3 - (e - best))])
    loss, metric = LossCard(), MetricCard()
    qtbot.addWidget(loss)
    qtbot.addWidget(metric)
    loss.refresh(st)
    assert loss.patience.text().startswith("early stopping: 0/3 epochs of patience left")
    assert loss.best.isVisible() and loss.best.value() == 3 and not loss.restored.isVisible()
    st.apply([Finished(RunResult("finished", best_epoch=3, restored_epoch=3, stopped_early=True))])
    loss.refresh(st)
    metric.refresh(st)
    assert loss.restored.isVisible() and loss.restored.value() == 3
    assert metric.restored.isVisible() and "weights restored from epoch 3" in loss.patience.text()


def test_the_loss_plot_marks_the_loss_at_init_next_to_ln_n(trained):
    qtbot, win, ui, store = trained
    mark = ui.dashboard.loss.init_mark
    assert store.loss_at_init is not None and store.expected_loss_at_init == pytest.approx(np.log(3))
    assert mark.text.startswith(f"loss at init {store.loss_at_init:.3g}") and "ln 3 = 1.1" in mark.text
    assert mark.level.isVisible() and mark.level.value() == pytest.approx(np.log10(np.log(3)))
    xs, ys = mark.point.xData, mark.point.yData        # the data as given (the axis shows log10)
    assert list(xs) == [0.0] and ys[0] == pytest.approx(store.loss_at_init)
