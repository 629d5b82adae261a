"""Per-layer gradient norms and update-to-weight ratios, one line per layer, per epoch, on a
log axis. The healthy band of the update ratio (about 1e-3 per step) is shaded so a layer that
barely learns (1e-6) or thrashes (1e-1) stands out."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox

from .card import Card, ElidedLabel
from .plot_style import finite, layer_color, plot_widget, steady_log_y

HEALTHY = (1e-4, 1e-2)   # update ratio band (log10 -4 … -2): around the 1e-3 rule of thumb


class GradientsCard(Card):
    def __init__(self, parent=None):
        super().__init__("Gradients per layer", "gradientPlot", parent)
        self.which = QComboBox(objectName="gradientKind")
        self.which.addItem("gradient norm", "grad")
        self.which.addItem("update / weight ratio", "ratio")
        self.which.currentIndexChanged.connect(lambda _i: self._redraw())
        self.header.insertWidget(1, self.which)
        self.plot_widget = pw = plot_widget("‖∇W‖ (log)", "epoch", log_y=True)
        self.plot = p = pw.getPlotItem()
        self.band = pg.LinearRegionItem(values=[-4, -2], orientation="horizontal", movable=False,
                                        brush=pg.mkBrush(34, 197, 94, 28), pen=pg.mkPen(None))
        self.band.setVisible(False)
        p.addItem(self.band, ignoreBounds=True)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.body.addWidget(pw, 1)
        # one line, elided at the card's edge (whole in the tooltip): wrapped in a short card, the
        # second line was drawn over the plot's axis label
        self.note = ElidedLabel()
        self.body.addWidget(self.note)
        self._store = None

    @property
    def kind(self) -> str:
        return self.which.currentData()

    def refresh(self, store) -> None:
        self._store = store
        self._redraw()

    def _redraw(self) -> None:
        store = self._store
        if store is None:
            return
        series = store.grad_norms if self.kind == "grad" else store.update_ratios
        if getattr(self, "_labelled", None) != self.kind:   # setLabel re-lays out the axis: only on a change
            self._labelled = self.kind
            self.plot.setLabel("left", "‖∇W‖ (log)" if self.kind == "grad" else "‖ΔW‖ / ‖W‖ per step (log)")
            self.band.setVisible(self.kind == "ratio")
        for name in list(self.curves):
            if name not in series:
                self.plot.removeItem(self.curves.pop(name))
        for i, (name, s) in enumerate(series.items()):
            if name not in self.curves:
                self.curves[name] = self.plot.plot(pen=pg.mkPen(layer_color(i), width=1.5), name=name)
            self.curves[name].setData(*finite(s.col("epoch"), s.col("value"), positive=True))
        if series:
            steady_log_y(self.plot, np.concatenate([s.col("value") for s in series.values()]),
                         key=f"_ylog_{self.kind}")
        if len(store.epochs):
            self.grow_x(self.plot, store, store.epochs.last("epoch"), start=1)
        if list(series) != getattr(self, "_keyed", None):
            self._keyed = list(series)
            self.set_key([(layer_color(i), n, "line") for i, n in enumerate(series)])
        if self.kind == "ratio":
            self.note.set_full_text("shaded: healthy per-step ratio 1e-4 … 1e-2 (≈1e-3); below, the layer "
                                    "barely learns; above, the LR is too high for it")
        else:
            self.note.set_full_text("gradient norm of each layer's weights at the epoch's last step")

    def table(self):
        st = self._store
        if st is None:
            return [], []
        rows = []
        for kind, series in (("grad_norm", st.grad_norms), ("update_ratio", st.update_ratios)):
            for layer, s in series.items():
                rows += [[kind, layer, int(e), float(v)] for e, v in zip(s.col("epoch"), s.col("value"))]
        return ["kind", "layer", "epoch", "value"], rows
