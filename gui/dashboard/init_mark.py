"""The loss plot's loss-at-init annotation: the measured loss before step 1 as a marker at x = 0
and a dotted level at what a network that knows nothing scores (ln N), labelled with both."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt

from .plot_style import BEST

EXPECTED = "#9aa0a6"


class InitMark:
    def __init__(self, plot: pg.PlotItem):
        self.point = plot.plot(pen=None, symbol="d", symbolSize=9, symbolBrush=BEST, symbolPen=None)
        self.level = pg.InfiniteLine(angle=0, pen=pg.mkPen(EXPECTED, width=1, style=Qt.PenStyle.DotLine),
                                     label="", labelOpts={"color": EXPECTED, "position": 0.98, "anchors": [(1, 0), (1, 1)]})
        # the text hangs below the line when the line is in the upper half of the view (where
        # the loss at init usually is) and sits above it otherwise: never cut by the plot's edge
        plot.addItem(self.level, ignoreBounds=True)
        self.level.setVisible(False)
        self.text = ""

    def show(self, store) -> None:
        observed = getattr(store, "loss_at_init", None)
        expected = getattr(store, "expected_loss_at_init", None)
        if observed is None or not math.isfinite(observed) or observed <= 0:
            self.point.setData([], [])
            self.level.setVisible(False)
            self.text = ""
            return
        self.point.setData([0.0], [observed])
        self.text = f"loss at init {observed:.3g}"
        if expected is not None and expected > 0:
            what = f"ln {round(math.exp(expected))}" if store.config.get("training", {}).get("loss") == "cross_entropy" \
                else "expected"
            self.text += f" · {what} = {expected:.3g}"
            # visible first: the label sets its text only while shown (it stayed empty before)
            self.level.setVisible(True)
            self.level.setValue(math.log10(expected))      # the plot's y axis is log10
            self.level.label.setFormat(self.text)
            self.level.label.valueChanged()
        else:
            self.level.setVisible(False)
        self.point.setToolTip(self.text)
