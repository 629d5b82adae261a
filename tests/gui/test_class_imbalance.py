"""Class imbalance in the window (issue 12): the Data panel's class counts per split with the
≥ 5× warning, the Training panel's class weights / sampler controls, and the confusion tab's
per-class precision / recall / F1 table."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QWidget

from layerlab.core.data import load
from layerlab.core.specs import DataSpec
from layerlab.gui.dashboard.inspect_views import ConfusionCard

from .training_support import edit, field, mlp_window  # noqa: F401

_ = mlp_window


def imbalanced_dataset(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (1000, 2)).astype(np.float32)
    np.savez(tmp_path / "imb.npz", X=x, y=np.array([0] * 950 + [1] * 50))
    return load(DataSpec(dataset="npz", path="imb.npz", task="classification"), tmp_path)


def test_data_panel_shows_class_counts_per_split_and_warns_at_5x(qtbot, mlp_window, tmp_path):
    win, ui = mlp_window
    chart = ui.data_panel.class_counts
    qtbot.waitUntil(lambda: chart.isVisible(), timeout=30_000)       # spiral: 3 balanced classes
    assert chart.warning.isHidden() and len(chart.counts["train"]) == 3
    ds = imbalanced_dataset(tmp_path)
    ui.ctx.dataset_changed.emit(ds)                                # what the panel hears on a load
    counts = chart.counts
    assert [int(counts[s].sum()) for s in ("train", "val", "test")] == [len(ds.y_train), len(ds.y_val), len(ds.y_test)]
    assert sum(int(counts[s][1]) for s in counts) == 50
    assert chart.warning.isVisible() and "Imbalanced" in chart.warning.text() and "×" in chart.warning.text()
    bars = [i for i in chart.plot.getPlotItem().items if type(i).__name__ == "BarGraphItem"]
    assert len(bars) == 3


def test_class_weights_and_sampler_controls_edit_the_spec_with_undo(qtbot, mlp_window):
    win, ui = mlp_window
    t, stack = win.document.project.training, win.document.undo_stack
    custom = field(ui, "training_custom_class_weights")
    box = custom.parentWidget()
    assert not box.layout().isRowVisible(custom)
    edit(qtbot, field(ui, "training_class_weights"), "custom")
    assert t.class_weights == "custom" and box.layout().isRowVisible(custom)
    custom.setText("1, 19, 2")
    custom.editingFinished.emit()
    assert t.custom_class_weights == [1.0, 19.0, 2.0]
    custom.setText("1, -2")
    custom.editingFinished.emit()
    assert t.custom_class_weights == [1.0, 19.0, 2.0]              # refused, said below the field
    stack.undo()
    assert t.custom_class_weights == [] and custom.text() == ""
    edit(qtbot, field(ui, "training_sampler"), "balanced")
    assert t.sampler == "balanced"
    assert isinstance(field(ui, "training_sampler"), QWidget)


def test_confusion_tab_lists_per_class_precision_recall_f1(qtbot):
    card = ConfusionCard(lambda key, args: False)
    qtbot.addWidget(card)
    cm = np.array([[90, 5], [6, 4]])
    card.show_result({"cm": cm, "names": ["major", "minor"], "split": "val"}, "")
    t = card.classes
    assert t.rowCount() == 2 and [t.item(1, j).text() for j in range(5)] == ["minor", "0.444", "0.400", "0.421", "10"]
    assert "balanced accuracy 67.4%" in card.caption.text() and "macro-F1" in card.caption.text()
