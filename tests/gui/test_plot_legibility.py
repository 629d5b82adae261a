"""Issue 11 item 7: the dashboard's plots read cleanly on a real screen. Each test measures what
a person would see: the rectangles of the tick labels and cell counts as drawn, the axis labels'
text, the boundary view's aspect, the diagnostics text read whole."""
from __future__ import annotations

import types

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
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


def confusion_result(k: int, names: list[str]) -> dict:
    rng = np.random.default_rng(1)
    cm = rng.integers(0, 9, (k, k)) + np.diag(rng.integers(100, 180, k))
    return {"cm": cm, "names": names, "split": "val"}


def count_rects(card) -> list[tuple]:
    """The visible counts' glyph rectangles on screen (centred on their cells)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QFontMetricsF
    out = []
    for t in card.texts:
        if not t.isVisible():
            continue
        fm = QFontMetricsF(t.textItem.font())
        w, h = fm.horizontalAdvance(t.toPlainText()), fm.height()
        c = card.plot_widget.getViewBox().mapViewToScene(t.pos())
        out.append((QRectF(c.x() - w / 2, c.y() - h / 2, w, h), t.toPlainText()))
    return out


def test_confusion_matrix_labels_and_counts_never_collide_with_ten_classes(qtbot):
    from layerlab.gui.dashboard.inspect_views import ConfusionCard
    card = ConfusionCard(lambda *_: True)
    qtbot.addWidget(card)
    card.resize(330, 420)
    card.show()
    qtbot.waitExposed(card)
    names = [f"category_{i}" for i in range(10)]
    card.show_result(confusion_result(10, names), "")
    for size in ((330, 420), (900, 900)):
        card.resize(*size)
        qtbot.wait(50)
        card.fit_labels()
        for side in ("bottom", "left"):
            labels = drawn_labels(card.plot_widget.getAxis(side))
            assert labels
            assert_apart(labels)
        assert_apart(count_rects(card))
    assert any(t.isVisible() for t in card.texts)       # at 900 px the counts have room
    assert "9 = category_9" in card.plot_widget.toolTip()


def test_decision_boundary_keeps_equal_units_on_both_axes(qtbot):
    from layerlab.gui.dashboard.inspect_views import BoundaryCard
    card = BoundaryCard(lambda *_: True)
    qtbot.addWidget(card)
    card.resize(700, 260)                                # a wide, short card: once squashed
    card.show()
    qtbot.waitExposed(card)
    vb = card.plot_widget.getViewBox()
    assert vb.state["aspectLocked"] == 1.0
    xs, ys = np.linspace(-2, 2, 30), np.linspace(-2, 2, 30)
    grid = np.full((30, 30, 2), 0.5)
    card.show_result({"xs": xs, "ys": ys, "grid": grid, "task": "classification",
                      "labels": np.array([0, 1]), "points": np.array([[0.0, 0.0], [1.0, 1.0]])}, "")
    vb.autoRange()
    qtbot.wait(50)
    px, py = vb.viewPixelSize()
    assert px == pytest.approx(py, rel=0.02)


def test_diagnostics_text_is_readable_whole(qtbot):
    from layerlab.gui.dashboard.diagnostics import DiagnosticsCard
    from layerlab.gui.training.store import MetricsStore
    msg = ("Layer dense2's activations are almost all zero after epoch 3: 97% of its ReLU units never "
           "fire on the validation batch, so their weights receive no gradient at all")
    fix = "Lower the learning rate, use LeakyReLU or He initialisation, or add BatchNorm before the ReLU"
    st = MetricsStore("d")
    st.diagnoses[("dead", "dense2")] = (3, types.SimpleNamespace(severity="warning", layer="dense2",
                                                                  message=msg, fix=fix, actions=[]))
    card = DiagnosticsCard()
    qtbot.addWidget(card)
    card.resize(420, 300)
    card.show()
    qtbot.waitExposed(card)
    card.refresh(st)
    it = card.tree.topLevelItem(0)
    assert it.toolTip(3) == msg and it.toolTip(4) == fix
    assert not card.details.isVisible()
    card.tree.setCurrentItem(it)
    assert card.details.isVisible()
    plain = card.details.text()
    assert msg.replace("'", "&#x27;") in plain and fix in plain
    assert card.details.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse


def test_loss_at_init_label_stays_inside_the_plot(qtbot):
    from layerlab.core.train.events import RunStarted
    from layerlab.gui.dashboard.curves import LossCard
    from layerlab.gui.training.store import MetricsStore
    st = MetricsStore("i")
    st.apply([RunStarted("r", {"training": {"loss": "cross_entropy"}}, 5, 10, metric_names=["val_accuracy"],
                         loss_at_init=2.31, expected_loss_at_init=float(np.log(10)))])
    card = LossCard()
    qtbot.addWidget(card)
    card.resize(480, 260)
    card.show()
    qtbot.waitExposed(card)
    card.refresh(st)
    qtbot.wait(50)
    label = card.init_mark.level.label
    assert label.isVisible() and label.toPlainText().startswith("loss at init")
    view = card.plot.vb.sceneBoundingRect()
    assert view.contains(label.sceneBoundingRect()), (view, label.sceneBoundingRect())


def test_dashboard_can_be_smaller_than_its_cards(qtbot, mlp_window):
    """At 1366x768 the Live tab's minimum (~960x370 px) squeezed the canvas to 255 px: the tabs
    scroll instead."""
    win, ui = mlp_window
    qtbot.waitUntil(lambda: ui.dashboard is not None, timeout=30_000)
    hint = ui.dashboard.minimumSizeHint()
    assert hint.height() <= 260 and hint.width() <= 640, hint


def test_a_long_legend_or_status_line_never_widens_a_card(qtbot):
    from layerlab.gui.dashboard.curves import LossCard
    from layerlab.gui.dashboard.gradients import GradientsCard
    g = GradientsCard()
    qtbot.addWidget(g)
    g.set_key([("#56b4e9", f"conv_block_{i}", "line") for i in range(7)])
    assert g.minimumSizeHint().width() < 400
    assert "conv_block_6" in g.key_label.toolTip()
    loss = LossCard()
    qtbot.addWidget(loss)
    loss.patience.setText("early stopping: 0/3 epochs of patience left · best epoch 6 · weights restored from epoch 6")
    assert loss.minimumSizeHint().width() < 300


def test_the_header_legend_is_shown_where_there_is_room(qtbot):
    from layerlab.gui.dashboard.gradients import GradientsCard
    g = GradientsCard()
    qtbot.addWidget(g)
    g.set_key([("#56b4e9", "conv1", "line"), ("#e69f00", "conv2", "line")])
    g.resize(900, 300)
    g.show()
    qtbot.waitExposed(g)
    assert g.key_label.width() >= g.key_label.sizeHint().width()     # the whole legend, not squeezed out


def test_a_card_note_too_long_for_the_card_ends_in_an_ellipsis(qtbot):
    """The gradients card's one-line note: cut at the card's edge it ends in "…" (it was cut
    mid-word at 1366x768: "…at the epoch's"), whole where there is room, always whole in the tooltip."""
    from layerlab.gui.dashboard.gradients import GradientsCard
    from layerlab.gui.training.store import MetricsStore
    g = GradientsCard()
    qtbot.addWidget(g)
    g.refresh(MetricsStore())
    whole = "gradient norm of each layer's weights at the epoch's last step"
    assert g.note.full_text() == whole and g.note.toolTip() == whole
    g.resize(300, 260)
    g.show()
    qtbot.waitExposed(g)
    qtbot.waitUntil(lambda: g.note.text().endswith("…"), timeout=5000)
    shown = g.note.text()
    assert whole.startswith(shown[:-1]) and g.note.fontMetrics().horizontalAdvance(shown) <= g.note.width()
    g.resize(900, 260)
    qtbot.waitUntil(lambda: g.note.text() == whole, timeout=5000)
