"""Init explorer: choose inits, push one batch of training data through the current network
with each, and see the activation std per layer (grouped bars: a good init keeps them level
across depth) beside the per-layer activation histograms of one chosen init — before training.

Uses the same core pieces as core.train.explore.explore_init (compile, initialize, probes) but
keeps the probe snapshots, whose histograms explore_init's table leaves out."""
from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QListWidget, QListWidgetItem, QPushButton, QSplitter, QVBoxLayout, QWidget

from ...core.specs import INITS
from .card import Card, dim
from .plot_style import AXIS, layer_color, plot_widget
from .histograms import HistGrid, key_layer

DEFAULT = ("auto", "xavier_normal", "small_normal", "large_normal")
BATCH = 256


def explore(project, dataset, schemes, seed: int = 0) -> dict:
    """scheme -> ProbeSnapshot of one forward pass (BatchNorm on batch statistics, no dropout)."""
    import torch
    from ...core.compiler import compile_graph
    from ...core.train.init import initialize
    from ...core.train.probes import collect_probes
    compiled = compile_graph(project.graph)
    x = dataset.x_train
    g = torch.Generator().manual_seed(seed)
    batch = x[torch.randperm(len(x), generator=g)[:BATCH]] if len(x) > BATCH else x
    out = {}
    rng = torch.get_rng_state()
    try:
        for scheme in schemes:
            torch.manual_seed(seed)   # every scheme draws from the same stream: differences are the scheme's
            initialize(compiled, project.graph, dataclasses.replace(project.training, init=scheme, init_overrides={}))
            out[scheme] = collect_probes(compiled, batch, 0, graph=project.graph, batch_stats=True)
    finally:
        torch.set_rng_state(rng)
    return out


class InitExplorer(Card):
    def __init__(self, ctx, parent=None):
        super().__init__("Init explorer", "initExplorer", parent)
        self.ctx = ctx
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        v = QVBoxLayout(left)
        v.setContentsMargins(0, 0, 0, 0)
        self.schemes = QListWidget(objectName="initSchemes")
        for s in INITS:
            it = QListWidgetItem(s.replace("_", " "))
            it.setData(Qt.ItemDataRole.UserRole, s)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Checked if s in DEFAULT else Qt.CheckState.Unchecked)
            self.schemes.addItem(it)
        v.addWidget(self.schemes, 1)
        self.run_button = QPushButton("Push a batch through", objectName="initExploreRun")
        self.run_button.clicked.connect(self.run)
        v.addWidget(self.run_button)
        split.addWidget(left)
        self.bars = plot_widget("activation std (log)", "layer", log_y=True)
        self.bars.setObjectName("initStdBars")
        self.bar_legend = self.bars.getPlotItem().addLegend(offset=(-8, 8), labelTextColor="#e3e5e8")
        split.addWidget(self.bars)
        right = QWidget()
        v = QVBoxLayout(right)
        v.setContentsMargins(0, 0, 0, 0)
        self.which = QComboBox(objectName="initHistScheme")
        self.which.currentIndexChanged.connect(lambda _i: self._show_hist())
        v.addWidget(self.which)
        self.grid = HistGrid()
        v.addWidget(self.grid, 1)
        split.addWidget(right)
        split.setSizes([160, 420, 420])
        self.body.addWidget(split, 1)
        self.note = dim("A good init keeps the std level from layer to layer; one that shrinks it starves deep "
                        "layers of signal, one that grows it saturates or explodes them.")
        self.body.addWidget(self.note)
        self.result: dict = {}

    def checked(self) -> list[str]:
        return [self.schemes.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.schemes.count())
                if self.schemes.item(i).checkState() == Qt.CheckState.Checked]

    def run(self) -> bool:
        schemes = self.checked()
        ds = self.ctx.dataset()
        if ds is None and self.ctx.loading:     # runs when the data set arrives, never blocks
            self.note.setText("Loading the data set… the explorer runs when it has loaded.")
            self.ctx.dataset_changed.connect(self._data_arrived, Qt.ConnectionType.SingleShotConnection)
            return False
        if ds is None:
            self.note.setText(f"<span style='color:#ff8a8a'>The data does not load: {self.ctx.data_state()}</span>")
            return False
        try:
            self.result = explore(self.ctx.project, ds, schemes, self.ctx.project.training.seed)
        except Exception as e:  # a network that does not compile, a shape mismatch: say why
            self.note.setText(f"<span style='color:#ff8a8a'>{e}</span>")
            return False
        self._show_bars()
        self.which.blockSignals(True)
        self.which.clear()
        self.which.addItems(list(self.result))
        self.which.blockSignals(False)
        self._show_hist()
        return True

    def _data_arrived(self, _ds) -> None:
        self.run()

    def _layers(self, snap) -> list[str]:
        return [r.name for r in snap.layers if key_layer(r.type)]

    def _show_bars(self) -> None:
        p = self.bars.getPlotItem()
        p.clear()
        self.bar_legend.clear()
        if not self.result:
            return
        names = self._layers(next(iter(self.result.values())))
        k = len(self.result)
        width = 0.8 / max(k, 1)
        for i, (scheme, snap) in enumerate(self.result.items()):
            std = np.array([max(snap.layer(n).act_std, 1e-12) for n in names])
            bars = pg.BarGraphItem(x=np.arange(len(names)) - 0.4 + width * (i + 0.5), height=np.log10(std) + 12,
                                   y0=-12, width=width, brush=layer_color(i), pen=None)
            p.addItem(bars)
            self.bar_legend.addItem(bars, scheme)
        p.getAxis("bottom").setTicks([[(j, n) for j, n in enumerate(names)]])
        stds = [max(s.layer(n).act_std, 1e-12) for s in self.result.values() for n in names]
        lo, hi = np.log10(min(stds)), np.log10(max(stds))
        p.setYRange(lo - 0.3, hi + 0.3)
        p.getAxis("left").setTextPen(pg.mkPen(AXIS))

    def _show_hist(self) -> None:
        snap = self.result.get(self.which.currentText())
        if snap is not None:
            self.grid.show_snapshot(snap, None, self._layers(snap))

    def table(self):
        rows = [[scheme, r.name, r.type, r.act_mean, r.act_std, r.dead_fraction if r.dead_fraction is not None else ""]
                for scheme, snap in self.result.items() for r in snap.layers]
        return ["init", "layer", "type", "mean", "std", "dead_fraction"], rows
