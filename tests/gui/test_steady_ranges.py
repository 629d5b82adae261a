"""The live plots keep their axes still while new points stay inside them: an axis whose range
moves re-lays out its ticks, the costliest part of a repaint on the GUI thread (issue 19)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from layerlab.gui.dashboard.plot_style import steady_y


def _range(plot):
    return tuple(plot.vb.viewRange()[1])


def test_a_linear_metric_axis_moves_only_when_the_data_leaves_it_or_fills_under_half(qtbot):
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    p = w.getPlotItem()
    changes = []
    p.vb.sigYRangeChanged.connect(lambda *a: changes.append(_range(p)))
    rng = np.random.default_rng(0)
    values = list(0.50 + 0.01 * rng.standard_normal(5))
    steady_y(p, np.array(values))
    first = _range(p)
    assert first[0] <= min(values) and max(values) <= first[1]
    changes.clear()
    for _ in range(200):   # a metric wandering inside its band: the axis stays put
        values.append(0.50 + 0.01 * rng.standard_normal())
        values = [min(max(v, 0.48), 0.52) for v in values]
        steady_y(p, np.array(values))
    assert len(changes) <= 2, f"the axis moved {len(changes)} times for 200 points inside its band"
    values.append(0.9)       # a jump out: shown at once
    steady_y(p, np.array(values))
    lo, hi = _range(p)
    assert lo <= 0.48 and hi >= 0.9
    values = [0.70, 0.71]    # a new run's small span: the axis narrows so it is not flat
    steady_y(p, np.array(values))
    lo, hi = _range(p)
    assert lo <= 0.70 and hi >= 0.71 and (0.71 - 0.70) >= 0.2 * (hi - lo)


def test_the_gradient_card_does_not_relabel_its_axis_on_every_redraw(qtbot):
    from layerlab.gui.dashboard.gradients import GradientsCard
    from layerlab.gui.training.store import MetricsStore
    card = GradientsCard()
    qtbot.addWidget(card)
    store = MetricsStore("t", status="running")
    axis = card.plot.getAxis("left")
    calls = []
    orig = axis.setLabel
    axis.setLabel = lambda *a, **k: (calls.append(a), orig(*a, **k))
    for _ in range(5):
        card.refresh(store)
    assert len(calls) <= 1


def test_the_metric_card_summary_shows_the_last_validated_value(qtbot):
    """Epochs between validations (issue 14) carry NaN metrics: the summary shows the last value
    there is, not "last nan"."""
    import math

    from layerlab.core.train.events import EpochEnd
    from layerlab.gui.dashboard.curves import MetricCard
    from layerlab.gui.training.store import MetricsStore
    card = MetricCard()
    qtbot.addWidget(card)
    store = MetricsStore("t", status="running")
    store.metric_names = ["val_accuracy"]
    for epoch, acc in ((1, 0.5), (2, 0.75), (3, math.nan)):
        store.apply([EpochEnd(epoch=epoch, train_loss=1.0, val_loss=1.0 if acc == acc else math.nan,
                              metrics={"val_accuracy": acc}, lr=0.01, grad_norms={}, update_ratios={},
                              seconds=0.1, best_epoch=2, improved=False)])
    card.refresh(store)
    assert card.summary.text() == "last 0.75 · best 0.75"


def test_a_histogram_fits_its_current_shape_not_a_taller_init_reference(qtbot):
    """A layer whose spread grew 10x since init: its init histogram (the dotted reference) is a
    spike 10x taller. The plot's height follows the current histogram, so it stays readable."""
    from types import SimpleNamespace

    from layerlab.core.train.probes import LayerStats
    from layerlab.gui.dashboard.histograms import HistGrid

    def snap(std):
        edges = np.linspace(-3 * std, 3 * std, 31)
        counts = np.exp(-0.5 * ((edges[:-1] + edges[1:]) / 2 / std) ** 2) * 1000
        row = LayerStats("fc1", "n1", "Dense", 0.0, std, counts, edges)
        return SimpleNamespace(layer=lambda name: row)
    grid = HistGrid()
    qtbot.addWidget(grid)
    grid.set_layers(["fc1"])
    grid.update_one("fc1", snap(10.0), snap(1.0))
    p, _, cur, _ = grid.plots["fc1"]
    top = p.vb.viewRange()[1][1]
    assert top <= 1.5 * float(np.max(cur.yData)), "the current histogram is flattened under the init spike"
