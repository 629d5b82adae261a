"""Optimizer panel ▸ "Find LR…": the LR range test (core.experiments.lr_find) in a thread, its
loss-vs-LR curve on a log axis (raw faint, smoothed bold, the suggestion as a line), the rule
that chose it, and "Apply" as one undoable change of training.lr. The project's weights, file
and run history are untouched. The plot redraws on a timer (≤ 10 Hz), never once per step."""
from __future__ import annotations

import copy
import math
import threading

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

REDRAW_MS = 100


class _Relay(QObject):
    done = Signal(object, str)       # LRFindResult or None, error text


class LRFindDialog(QDialog):
    def __init__(self, ctx, parent=None, steps: int = 200):
        super().__init__(parent)
        self.setObjectName("lrFindDialog")
        self.setWindowTitle("LR range test")
        self.resize(640, 460)
        self.ctx, self.steps = ctx, steps
        self.result = None
        self._points: list[tuple[float, float]] = []     # (lr, smoothed), appended by the worker thread
        self._stop = None
        lay = QVBoxLayout(self)
        self.plot = pg.PlotWidget(objectName="lrFindPlot")
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "learning rate (log)")
        self.plot.setLabel("left", "training loss")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.raw = self.plot.plot(pen=pg.mkPen("#4c8dff", width=1, alpha=80))
        self.raw.setOpacity(0.35)
        self.smooth = self.plot.plot(pen=pg.mkPen("#4c8dff", width=2))
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#22c55e", width=2, style=Qt.PenStyle.DashLine))
        self.marker.hide()
        self.plot.addItem(self.marker)
        lay.addWidget(self.plot, 1)
        self.label = QLabel("Sweeping the LR from 1e-7 to 10 on a fresh copy of the network…")
        self.label.setObjectName("lrFindLabel")
        self.label.setWordWrap(True)
        lay.addWidget(self.label)
        row = QHBoxLayout()
        self.apply_button = QPushButton("Apply", objectName="lrFindApply", enabled=False)
        self.apply_button.clicked.connect(self.apply)
        self.close_button = QPushButton("Close", objectName="lrFindClose")
        self.close_button.clicked.connect(self.reject)
        row.addStretch(1)
        row.addWidget(self.apply_button)
        row.addWidget(self.close_button)
        lay.addLayout(row)
        self.relay = _Relay(self)
        self.relay.done.connect(self._finished)
        self.timer = QTimer(self, interval=REDRAW_MS)
        self.timer.timeout.connect(self._redraw)

    def start(self) -> None:
        from ...core.train import Control
        if getattr(self.ctx, "loading", False):   # the set-up's load in flight: use it, not a second one
            self.label.setText("Loading the data set… the sweep starts when it has loaded.")
            self.ctx.dataset_changed.connect(self._data_arrived, Qt.ConnectionType.SingleShotConnection)
            return
        project = copy.deepcopy(self.ctx.project.to_dict())   # the test trains on its own copy
        dataset, base = self.ctx.dataset(), self.ctx.base_dir()
        self._stop = Control()
        self.timer.start()
        threading.Thread(target=self._work, args=(project, dataset, base), name="layerlab-lr-find",
                         daemon=True).start()

    def _data_arrived(self, _ds) -> None:
        self.start()

    def _work(self, doc, dataset, base) -> None:
        from ...core.experiments.lr_find import lr_find
        from ...core.project import Project
        try:
            result = lr_find(Project.from_dict(doc), dataset=dataset, base_dir=base, steps=self.steps,
                             on_progress=lambda i, lr, s: self._points.append((lr, s)), control=self._stop)
            error = ""
        except Exception as e:     # noqa: BLE001 - LRFindError and data errors: shown as one line
            result, error = None, str(e)
        try:
            self.relay.done.emit(result, error)
        except RuntimeError:       # the dialog was closed meanwhile
            pass

    def _redraw(self) -> None:
        pts = [p for p in list(self._points) if math.isfinite(p[1])]
        if pts:
            a = np.asarray(pts)
            self.smooth.setData(a[:, 0], a[:, 1])

    def _finished(self, result, error: str) -> None:
        self.timer.stop()
        if result is None:
            self.label.setText(f"The test could not run: {error}")
            return
        self.result = result
        lrs = np.asarray(result.lrs)
        finite = np.isfinite(result.losses)
        self.raw.setData(lrs[finite], np.asarray(result.losses)[finite])
        sm = np.asarray(result.smoothed)
        self.smooth.setData(lrs[np.isfinite(sm)], sm[np.isfinite(sm)])
        ok = sm[np.isfinite(sm)]
        if len(ok):
            self.plot.setYRange(float(ok.min()) * 0.9, float(min(ok.max(), ok[0] * 2.0)) * 1.05)
        if result.suggested is None:
            self.label.setText(f"No suggestion: {result.message}.")
            return
        self.marker.setValue(math.log10(result.suggested))
        self.marker.show()
        self.label.setText(f"Suggested LR {result.suggested:.3g} (now {self.ctx.project.training.lr:g}). "
                           f"Rule {result.rule}; lowest loss at {result.lowest_at:.3g}. "
                           f"{len(result.lrs)} steps, {result.ended}.")
        self.apply_button.setEnabled(True)

    def apply(self) -> None:
        if self.result is None or self.result.suggested is None:
            return
        value = float(f"{self.result.suggested:.3g}")
        from ..panels.spec_commands import SetSpecField
        self.ctx.push(SetSpecField(self.ctx.notifier, self.ctx.project.training, "lr", value,
                                   text=f"Apply LR range test: lr = {value:g}"))
        self.accept()

    def done(self, code: int) -> None:      # closing stops a test still running
        if self._stop is not None:
            self._stop.stop()
        self.timer.stop()
        super().done(code)


def open_lr_finder(ctx, parent=None) -> LRFindDialog:
    dialog = LRFindDialog(ctx, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.start()
    return dialog
