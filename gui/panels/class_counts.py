"""The Data panel's class counts: samples per class in the train / validation / test splits as a
grouped bar chart, with a warning line when the training split's largest class is at least
core.train.imbalance.IMBALANCE_RATIO× its smallest (the same rule preflight warns with). Shown for
classification sets with one class per sample; hidden otherwise."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

SPLITS = (("train", "#4c8dff"), ("val", "#f59e0b"), ("test", "#22c55e"))
MAX_TICKS = 24


def split_counts(ds) -> dict[str, np.ndarray]:
    k = int(ds.num_classes or 0)
    return {s: np.bincount(getattr(ds, f"y_{s}").reshape(-1).numpy(), minlength=k)[:k] for s, _ in SPLITS}


class ClassCounts(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent, objectName="classCounts")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        self.title = QLabel("Class counts per split")
        self.warning = QLabel(objectName="classImbalanceWarning", wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.warning.setStyleSheet("color: #f59e0b")
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMinimumHeight(150)
        self.plot.setMaximumHeight(200)
        self.plot.setLabel("left", "samples")
        self.legend = self.plot.addLegend(offset=(-4, 4), colCount=3)
        for w in (self.title, self.warning, self.plot):
            lay.addWidget(w)
        self.counts: dict[str, np.ndarray] = {}
        self.hide()

    def show_dataset(self, ds) -> None:
        """Draw `ds`'s counts (a loaded Dataset or None)."""
        self.plot.clear()
        self.legend.clear()
        if ds is None or ds.task != "classification" or ds.y_train.dim() != 1 or not ds.num_classes:
            self.counts = {}
            self.hide()
            return
        from ...core.train.imbalance import imbalance
        self.counts = counts = split_counts(ds)
        k = len(counts["train"])
        names = list(ds.class_names) if ds.class_names and len(ds.class_names) == k else [str(i) for i in range(k)]
        width = 0.8 / len(SPLITS)
        for j, (split, colour) in enumerate(SPLITS):
            bars = pg.BarGraphItem(x=np.arange(k) + (j - 1) * width, height=counts[split], width=width,
                                   brush=colour, pen=pg.mkPen(None))
            self.plot.addItem(bars)
            self.legend.addItem(bars, f"{split} ({int(counts[split].sum()):,})")
        top = max(int(c.max(initial=0)) for c in counts.values())
        self.plot.setYRange(0, max(top, 1) * 1.3, padding=0)      # room for the legend above the bars
        step = max(1, -(-k // MAX_TICKS))
        self.plot.getAxis("bottom").setTicks([[(i, names[i][:10]) for i in range(0, k, step)]])
        found = imbalance(counts["train"].tolist(), names)
        self.warning.setVisible(found is not None)
        if found is not None:
            self.warning.setText(f"⚠ Imbalanced: {found[1]}. Consider class weights or the balanced sampler "
                                 "(Training panel) and judge by balanced accuracy / macro-F1.")
        self.show()
