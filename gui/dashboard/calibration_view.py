"""The Calibration tab: the reliability diagram of a finished classification run (accuracy per
confidence bin against the diagonal of perfect calibration, ECE in the title) for the validation
or test split, and the one-click Calibrate (temperature scaling, core/train/calibrate_run.py)
run in a thread; after it, the calibrated bins are drawn beside the raw ones with T and ECE
before → after."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QPushButton

from ..background import Background
from .card import Card, dim
from .plot_style import BEST, TRAIN, VAL, plot_widget


def read_calibration(run_dir: str) -> dict:
    from layerlab.core.train.run_files import read_json
    return read_json(Path(run_dir) / "calibration.json") if run_dir else {}


class CalibrationCard(Card):
    def __init__(self, parent=None):
        super().__init__("Reliability", "reliability", parent)
        self.split = QComboBox(objectName="reliabilitySplit")
        self.split.addItems(["test", "val"])
        self.split.activated.connect(lambda _i: self._draw())
        self.button = QPushButton("Calibrate", objectName="calibrateButton")
        self.button.setToolTip("Temperature scaling: fit one T > 0 on the validation split (minimum NLL); "
                               "exports of these weights then output logits / T. Accuracy does not change.")
        self.button.clicked.connect(self.calibrate)
        for w in (self.split, self.button):
            self.header.insertWidget(self.header.count() - 1, w)
        self.plot_widget = plot_widget(left="accuracy", bottom="confidence")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setXRange(0, 1, padding=0.02)
        self.plot.setYRange(0, 1, padding=0.02)
        self.body.addWidget(self.plot_widget, 1)
        self.caption = dim("A classification run's reliability diagram appears when it finishes.")
        self.body.addWidget(self.caption)
        self.set_key([(TRAIN, "accuracy per bin", "line"), (BEST, "after scaling", "line"),
                      ("#9aa0a8", "perfectly calibrated", "dash")])
        self.store = None
        self.calibration: dict = {}
        self._shown = None
        self._relay = Background(self)     # calibration dict (or None), error line
        self._relay.done.connect(self._calibrated)

    # ------------------------------------------------------------ data
    def _reliability(self) -> dict:
        st = self.store
        result = getattr(st, "result", None) if st is not None else None
        return getattr(result, "reliability", None) or {}

    def refresh(self, store) -> None:
        run = getattr(store, "run_dir", "")
        key = (id(store), getattr(store, "status", None), id(getattr(store, "result", None)))
        if key == self._shown:
            return
        self._shown, self.store = key, store
        self.calibration = read_calibration(run) if store is not None and store.result is not None else {}
        self._draw()

    def _draw(self) -> None:
        self.plot.clear()
        self.plot.plot([0, 1], [0, 1], pen=pg.mkPen("#9aa0a8", width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        split = self.split.currentText()
        rel = self._reliability().get(split)
        ready = bool(rel) and self.store is not None and self.store.status == "finished"
        self.button.setEnabled(ready)
        if not rel:
            self.title.setText("Reliability")
            self.caption.setText("A classification run's reliability diagram appears when it finishes "
                                 "(regression and hinge-loss runs have no probabilities).")
            return
        after = (self.calibration.get(split) or {}).get("reliability_after")
        width = 1.0 / rel["bins"]
        centers = (np.arange(rel["bins"]) + 0.5) * width
        self._bars(centers - (width / 4 if after else 0), rel, width / (2 if after else 1) * 0.9, TRAIN)
        title = f"Reliability · {split} ECE {rel['ece']:.4f}"
        if after:
            self._bars(centers + width / 4, after, width / 2 * 0.9, BEST)
            t = self.calibration.get("temperature")
            title += f" → {after['ece']:.4f} after T = {t:.3g}"
            self.caption.setText(f"Temperature scaling (fitted on val, {self.calibration.get('weights', '')}): "
                                 f"{split} ECE {after['ece']:.4f} (before {self.calibration[split]['ece_before']:.4f}); "
                                 "exports of these weights output logits / T.")
        else:
            n = sum(rel["count"])
            self.caption.setText(f"{n:,} {split} samples in 15 confidence bins: bars below the diagonal are "
                                 "over-confident. Calibrate fits a temperature on the validation split.")
        self.title.setText(title)

    def _bars(self, x, rel: dict, width: float, color: str) -> None:
        acc = np.array([a if a is not None else np.nan for a in rel["accuracy"]], float)
        keep = np.isfinite(acc) & (np.asarray(rel["count"]) > 0)
        if keep.any():
            self.plot.addItem(pg.BarGraphItem(x=np.asarray(x)[keep], height=acc[keep], width=width,
                                              brush=pg.mkBrush(color + "b0"), pen=pg.mkPen(color)))
        conf = np.array([c if c is not None else np.nan for c in rel["confidence"]], float)
        self.plot.plot(np.asarray(x)[keep], conf[keep], pen=None, symbol="o", symbolSize=4,
                       symbolBrush=pg.mkBrush(VAL), symbolPen=None)

    # ------------------------------------------------------------ calibrate
    def calibrate(self) -> None:
        run = getattr(self.store, "run_dir", "")
        if not run:
            return
        self.button.setEnabled(False)
        self.caption.setText("Calibrating: fitting a temperature on the validation split…")
        def call():                    # imported in the worker: torch's modules load off the GUI thread
            from layerlab.core.train.calibrate_run import calibrate_run
            return calibrate_run(run)
        self._relay.run(call, "calibrate")

    def _calibrated(self, cal, error: str) -> None:
        self.button.setEnabled(True)
        if cal is None:
            self.caption.setText(f"Not calibrated: {error}")
            return
        self.calibration = cal
        self._draw()

    def table(self):
        rel = self._reliability().get(self.split.currentText())
        if not rel:
            return ["bin", "confidence", "accuracy", "count"], []
        return (["bin", "confidence", "accuracy", "count"],
                [[i, c, a, n] for i, (c, a, n) in enumerate(zip(rel["confidence"], rel["accuracy"], rel["count"]))])
