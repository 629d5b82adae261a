"""The Sweeps view's pyqtgraph plots: parallel coordinates (one line per finished trial across
the ranges and the objective, coloured by the objective, best on top), parameter importance
(horizontal bars), and the selected trial's objective per epoch (mean ± std band over seeds)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

CMAP = pg.colormap.get("viridis")


def _plot(name: str, title: str) -> pg.PlotWidget:
    w = pg.PlotWidget(objectName=name, title=title)
    w.setMenuEnabled(False)
    w.showGrid(x=False, y=True, alpha=0.15)
    return w


class ParallelPlot:
    def __init__(self):
        self.widget = _plot("sweepParallel", "Parallel coordinates")
        self.widget.setMouseEnabled(x=False, y=False)
        self.lines: list = []

    def show(self, axes: list[str], rows: list[list[float]], values: list[float], maximize: bool) -> None:
        w = self.widget
        for item in self.lines:
            w.removeItem(item)
        self.lines = []
        if not axes:
            return
        x = np.arange(len(axes), dtype=float)
        w.getAxis("bottom").setTicks([[(i, a) for i, a in enumerate(axes)]])
        for i in x:
            self.lines.append(w.addLine(x=i, pen=pg.mkPen("#6b7280", width=1)))
        order = sorted(range(len(rows)), key=lambda i: rows[i][-1] if maximize else -rows[i][-1])
        for rank, i in enumerate(order):      # better trials drawn last (on top)
            score = rows[i][-1] if maximize else 1 - rows[i][-1]
            color = CMAP.map(score, mode="qcolor")
            self.lines.append(w.plot(x, rows[i], pen=pg.mkPen(color, width=2.5 if rank == len(order) - 1 else 1.2)))
        w.setYRange(-0.05, 1.05)
        w.setXRange(-0.2, len(axes) - 0.8 + 0.6)  # axes sit at 0 … len - 1


class ImportancePlot:
    def __init__(self):
        self.widget = _plot("sweepImportance", "Parameter importance (PED-ANOVA)")
        self.bars = None
        self.widget.setMouseEnabled(x=False, y=False)

    def show(self, importances: dict[str, float]) -> None:
        w = self.widget
        if self.bars is not None:
            w.removeItem(self.bars)
            self.bars = None
        if not importances:
            w.getAxis("left").setTicks([[]])
            return
        names = list(importances)[::-1]
        vals = [importances[n] for n in names]
        self.bars = pg.BarGraphItem(x0=0, y=np.arange(len(names)), height=0.6, width=vals, brush="#4c8dff")
        w.addItem(self.bars)
        w.getAxis("left").setTicks([[(i, n) for i, n in enumerate(names)]])
        w.setXRange(0, 1)
        w.setYRange(-0.6, len(names) - 0.4)


class TrialCurves:
    def __init__(self):
        self.widget = _plot("sweepCurves", "Selected trial (mean ± std over seeds)")
        self.mean = self.widget.plot(pen=pg.mkPen("#4c8dff", width=2))
        self.lo = pg.PlotDataItem()
        self.hi = pg.PlotDataItem()
        self.band = pg.FillBetweenItem(self.lo, self.hi, brush=pg.mkBrush(76, 141, 255, 60))
        self.widget.addItem(self.band)

    def show(self, epochs: list[int], mean: list[float], std: list[float]) -> None:
        e, m, s = np.asarray(epochs, float), np.asarray(mean, float), np.asarray(std, float)
        self.mean.setData(e, m)
        self.lo.setData(e, m - s)
        self.hi.setData(e, m + s)
