"""Issue 11 item 7: the dashboard's plots read cleanly on a real screen. Each test measures what
a person would see: the rectangles of the tick labels and cell counts as drawn, the axis labels'
text, the boundary view's aspect, the diagnostics text read whole."""
from __future__ import annotations

import types

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage, QPainter

from .training_support import mlp_window  # noqa: F401


def drawn_labels(axis: pg.AxisItem) -> list[tuple]:
    """(rect, text) of every tick label the axis paints at its present size and range."""
    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return [(rect, text) for rect, _flags, text in texts]


def assert_apart(labels: list[tuple]) -> None:
    for i, (a, ta) in enumerate(labels):
        for b, tb in labels[i + 1:]:
            assert not a.intersects(b), f"tick labels {ta!r} and {tb!r} overlap"


def test_log_axis_labels_never_overlap_within_a_decade_or_across_a_few(qtbot):
    from layerlab.gui.dashboard.plot_style import plot_widget
    pw = plot_widget("‖∇W‖ (log)", "epoch", log_y=True)
    qtbot.addWidget(pw)
    pw.resize(360, 150)
    pw.show()
    qtbot.waitExposed(pw)
    axis = pw.getPlotItem().getAxis("left")
    for lo, hi in ((-0.45, 0.4), (-0.3, 0.05), (-1.6, 0.5), (-5, 1), (0.3, 0.95)):
        pw.getPlotItem().setYRange(lo, hi, padding=0)
        qtbot.wait(20)
        labels = drawn_labels(axis)
        assert labels, f"no labels for {lo}..{hi}"
        assert len(labels) <= 8
        assert_apart(labels)


def test_gradients_card_axis_thins_its_log_labels(qtbot):
    from layerlab.gui.dashboard.gradients import GradientsCard
    card = GradientsCard()
    qtbot.addWidget(card)
    card.resize(380, 200)
    card.show()
    qtbot.waitExposed(card)
    card.plot.setYRange(-0.5, 0.35, padding=0)        # 0.3 .. 2.2: once "8 6 5 4 3 2" in one blur
    qtbot.wait(20)
    assert_apart(drawn_labels(card.plot.getAxis("left")))


def test_data_preview_axes_show_plain_values_without_si_scaling(qtbot, mlp_window):
    win, ui = mlp_window
    panel = ui.data_panel
    rng = np.random.default_rng(0)
    x = np.c_[rng.normal(size=200), rng.normal(size=200) * 1e-3]
    ds = types.SimpleNamespace(task="classification", feature_names=["x1", "x2"])
    panel._show_scatter(x, (x[:, 0] > 0).astype(int), ds)
    panel.scatter.getPlotItem().autoRange()
    qtbot.wait(50)
    for name in ("left", "bottom"):
        axis = panel.scatter.getAxis(name)
        assert not axis.autoSIPrefix
        assert "x0.001" not in axis.labelString() and "(x" not in axis.labelString()
