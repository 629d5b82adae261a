"""Activation and weight histograms per layer, as small multiples, with a slider that scrubs
through the probed epochs: each layer shows the chosen epoch filled and the first snapshot
(initialization) as an outline, so drift, collapse (σ → 0) and explosion are visible at a glance.
Densities, not counts: the probes subsample big layers (see core.train.probes)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem
from PySide6.QtWidgets import QComboBox, QLabel, QSlider

from ...core.layers import spec_of
from .card import Card, hbox
from .plot_style import AXIS, BG, layer_color

MAX_PLOTS = 16
PLOTS_PER_STEP = 3     # small plots updated per GUI tick while training


def key_layer(type_name: str) -> bool:
    """Shown under "key layers": not a reshape, dropout or pooling of the layer before (its catalogue entry says)."""
    spec = spec_of(type_name)
    return spec is None or spec.key_layer


def columns_for(n: int) -> int:
    """One row up to 6 layers, then two: a short dock gives each row little height."""
    return max(1, n if n <= 6 else -(-n // 2))


def density(counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    total = counts.sum()
    widths = np.diff(edges)
    if total <= 0 or not np.all(widths > 0):
        return counts.astype(float)
    return counts / (total * widths)


class HistGrid(pg.GraphicsLayoutWidget):
    """One small plot per layer; items are kept and re-fed, rebuilt only when the layers change."""

    def __init__(self, color_offset: int = 0):
        super().__init__()
        self.setBackground(BG)
        self.ci.setSpacing(2)
        self.names: list[str] = []
        self.plots: dict[str, tuple] = {}
        self.offset = color_offset

    def set_layers(self, names: list[str]) -> None:
        """Plots are created lazily by `update_one`, so a first snapshot of a big network is
        built over several GUI ticks instead of freezing the window for one long one."""
        if names == self.names:
            return
        self.clear()
        self.plots = {}
        self.names = list(names)

    def _add(self, name: str):
        i = self.names.index(name)
        cols = columns_for(len(self.names))
        font = QFont()
        font.setPointSizeF(7.5)
        p = self.addPlot(row=i // cols, col=i % cols)
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.setMinimumWidth(40)
        p.hideButtons()
        p.getAxis("left").hide()
        ax = p.getAxis("bottom")
        ax.setPen(pg.mkPen(AXIS))
        ax.setTextPen(pg.mkPen(AXIS))
        ax.setStyle(tickLength=3, maxTickLevel=0, tickTextOffset=2)
        ax.setTickFont(font)
        ax.setHeight(18)
        ax.enableAutoSIPrefix(False)
        ax.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        color = pg.mkColor(layer_color(i + self.offset))
        ref = p.plot(stepMode="center", pen=pg.mkPen("#aab0b8", width=1, style=Qt.PenStyle.DotLine))
        cur = p.plot(stepMode="center", fillLevel=0, pen=pg.mkPen(color, width=1.2),
                     brush=pg.mkBrush(color.red(), color.green(), color.blue(), 90))
        p.setTitle(name, color="#e3e5e8", size="7.5pt")
        p.layout.setRowFixedHeight(0, 15)   # the title row: plot area matters more than padding
        # statistics inside the plot's corner (in view pixels, so they never scroll away): in the
        # title they would set a minimum width that pushes the last columns out of the card
        stats = pg.TextItem("", color="#c9d1d9", anchor=(1, 0))
        stats.setFont(font)
        stats.setParentItem(p.vb)
        p.vb.sigResized.connect(lambda vb, t=stats: t.setPos(vb.width() - 2, 0))
        self.plots[name] = (p, ref, cur, stats)
        return self.plots[name]

    def update_one(self, name: str, snap, reference, weights: bool = False) -> None:
        p, ref_item, cur_item, stats = self.plots.get(name) or self._add(name)
        row = snap.layer(name) if snap is not None else None
        ref = reference.layer(name) if reference is not None and reference is not snap else None
        for item, r in ((cur_item, row), (ref_item, ref)):
            counts = edges = None
            if r is not None:
                counts, edges = (r.weight_hist, r.weight_edges) if weights else (r.act_hist, r.act_edges)
            if counts is None or edges is None or len(edges) != len(counts) + 1:
                item.setData([], [])
                continue
            item.setData(np.asarray(edges, float), density(np.asarray(counts, float), np.asarray(edges, float)))
        self._steady_range(p, (cur_item, ref_item))
        text = self._caption(row, weights) if row is not None else ""
        if stats.textItem.toPlainText() != text:
            stats.setText(text)

    def show_snapshot(self, snap, reference, names: list[str], weights: bool = False) -> None:
        self.set_layers(names)
        for name in names:
            self.update_one(name, snap, reference, weights)

    @staticmethod
    def _steady_range(p, items) -> None:
        """Ranges that move only when the data leaves them (or fills under half of them): a
        range change re-renders the axis, the costliest part of redrawing a dozen small plots."""
        xs = [np.asarray(i.xData) for i in items if i.xData is not None and len(i.xData)]
        # the height follows the current histogram (items[0]) alone: the init reference of a layer
        # whose spread grew 10x is a spike 10x taller, and fitting it flattened the current one
        ys = [np.asarray(i.yData) for i in items[:1] if i.yData is not None and len(i.yData)] or \
             [np.asarray(i.yData) for i in items if i.yData is not None and len(i.yData)]
        if not xs:
            return
        lo, hi = min(float(x.min()) for x in xs), max(float(x.max()) for x in xs)
        top = max(float(y.max()) for y in ys) if ys else 1.0
        old = getattr(p, "_steady", None)
        if old is not None:
            (olo, ohi), otop = old
            if olo <= lo and hi <= ohi and (hi - lo) > 0.5 * (ohi - olo) and otop * 0.5 <= top <= otop:
                return
        pad = 0.05 * max(hi - lo, 1e-9)
        p._steady = ((lo - pad, hi + pad), top * 1.15 if top > 0 else 1.0)
        p.enableAutoRange(False)
        p.setRange(xRange=p._steady[0], yRange=(0, p._steady[1]), padding=0)

    @staticmethod
    def _caption(r, weights: bool) -> str:
        if weights:
            return ""
        text = f"σ {r.act_std:.2g}"
        if r.dead_fraction is not None and r.dead_fraction > 0.01:
            text += f"\ndead {r.dead_fraction:.0%}"
        if r.saturated_fraction is not None and r.saturated_fraction > 0.01:
            text += f"\nsat. {r.saturated_fraction:.0%}"
        return text


class HistogramCard(Card):
    """`weights=False`: activations (objectName activationHistograms); True: weights."""
    min_interval = 1.0          # a dozen small plots: the costliest card to repaint

    def __init__(self, weights: bool = False, parent=None):
        super().__init__("Weight histograms" if weights else "Activation histograms",
                         "weightHistograms" if weights else "activationHistograms", parent)
        self.weights = weights
        self.filter = QComboBox()
        self.filter.addItem("key layers", "key")
        self.filter.addItem("all layers", "all")
        self.filter.currentIndexChanged.connect(lambda _i: self._redraw())
        self.header.insertWidget(1, self.filter)
        self.grid = HistGrid(color_offset=3 if weights else 0)
        self.body.addWidget(self.grid, 1)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("weightEpochSlider" if weights else "histogramEpochSlider")
        self.slider.valueChanged.connect(lambda _v: self._redraw())
        self.epoch_label = QLabel("epoch –")
        self.epoch_label.setMinimumWidth(80)
        self.slider.setToolTip("Scrub through the probed epochs. Filled: the chosen epoch; dotted: at initialization")
        self.body.addWidget(hbox(QLabel("Epoch"), self.slider, self.epoch_label, stretch_last=True))
        self._store = None
        self._count = 0
        self._shown_key = None
        self._queue: list = []

    def refresh(self, store) -> None:
        key = (id(store), len(store.probes), store.probes[-1].epoch if store.probes else None)
        if key == self._shown_key and self._store is store and not self._queue:
            return          # nothing new: skip the repaint of every small plot
        self._shown_key = key
        self.refresh_slider(store)
        self._redraw()

    def refresh_slider(self, store) -> None:
        self._store = store
        n = len(store.probes)
        if n != self._count:
            follow = self.slider.value() >= self._count - 1   # at the newest: stay at the newest
            self.slider.blockSignals(True)
            self.slider.setRange(0, max(0, n - 1))
            if follow:
                self.slider.setValue(n - 1)
            self.slider.blockSignals(False)
            self._count = n

    def selected(self):
        st = self._store
        if st is None or not st.probes:
            return None
        return st.probes[min(self.slider.value(), len(st.probes) - 1)]

    def _names(self, snap) -> list[str]:
        rows = [r for r in snap.layers if (r.weight_hist is not None if self.weights else True)]
        if self.filter.currentData() == "key":
            rows = [r for r in rows if key_layer(r.type)]
        return [r.name for r in rows][:MAX_PLOTS]

    def _redraw(self) -> None:
        self._queue = []
        snap = self.selected()
        if snap is None:
            self.epoch_label.setText("epoch –")
            return
        self.epoch_label.setText("init" if snap.epoch == 0 else f"epoch {snap.epoch}")
        self.grid.show_snapshot(snap, self._store.probes[0], self._names(snap), self.weights)

    def step(self, store) -> bool:
        """Incremental refresh while training: a few small plots per call; True when done."""
        if not self._queue:
            key = (id(store), len(store.probes), store.probes[-1].epoch if store.probes else None)
            if key == self._shown_key and self._store is store:
                return True
            self.refresh_slider(store)
            self._shown_key = key
            snap = self.selected()
            if snap is None:
                return True
            self.epoch_label.setText("init" if snap.epoch == 0 else f"epoch {snap.epoch}")
            names = self._names(snap)
            self.grid.set_layers(names)
            self._queue = [(n, snap) for n in names]
        k = PLOTS_PER_STEP if self._queue[0][0] in self.grid.plots else 1   # creating one costs ~20 ms
        for name, snap in self._queue[:k]:
            self.grid.update_one(name, snap, store.probes[0], self.weights)
        del self._queue[:k]
        return not self._queue

    def table(self):
        st = self._store
        if st is None:
            return [], []
        rows = []
        for snap in st.probes:
            for r in snap.layers:
                counts, edges = (r.weight_hist, r.weight_edges) if self.weights else (r.act_hist, r.act_edges)
                if counts is None:
                    continue
                rows += [[snap.epoch, r.name, float(lo), float(hi), int(c)]
                         for lo, hi, c in zip(edges[:-1], edges[1:], counts)]
        return ["epoch", "layer", "bin_low", "bin_high", "count"], rows
