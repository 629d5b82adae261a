"""Loss (train per step with EMA smoothing, validation per epoch, LR on a second log axis) and
the task metric (accuracy / F1, or R² / MAE) per epoch, with the best and the restored epoch
marked. Curves keep their items and only `setData` on each redraw."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QSlider

from .card import Card, dim, hbox
from .plot_style import (BEST, LR, RESTORED, TRAIN, VAL, ema, finite, plot_widget, steady_log_y, steady_y,
                         thin_log_labels)
from .init_mark import InitMark

DEFAULT_SMOOTHING = 0.6
METRIC_LABELS = {"val_accuracy": "accuracy", "val_f1": "macro F1", "val_r2": "R²", "val_mae": "MAE"}


def epoch_lines(plot: pg.PlotItem):
    best = pg.InfiniteLine(angle=90, pen=pg.mkPen(BEST, width=1, style=Qt.PenStyle.DashLine),
                           label="best", labelOpts={"color": BEST, "position": 0.95})
    restored = pg.InfiniteLine(angle=90, pen=pg.mkPen(RESTORED, width=2),
                               label="restored", labelOpts={"color": RESTORED, "position": 0.85})
    for line in (best, restored):
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
    return best, restored


def show_epoch_lines(best, restored, store) -> None:
    best.setVisible(store.best_epoch > 0)
    if store.best_epoch > 0:
        best.setValue(store.best_epoch)
    restored.setVisible(bool(store.restored_epoch))
    if store.restored_epoch:
        restored.setValue(store.restored_epoch)


class LossCard(Card):
    per_step = True
    min_interval = 0.2          # 5 Hz: a smooth enough curve; each repaint is 2-8 ms of the GUI thread

    def __init__(self, parent=None):
        super().__init__("Loss and learning rate", "lossPlot", parent)
        self.plot_widget = pw = plot_widget("loss (log)", "epoch", log_y=True)
        p = self.plot = pw.getPlotItem()
        self.set_key([(TRAIN, "train", "line"), (VAL, "validation", "dot"), (LR, "learning rate", "dash")])
        self.raw = p.plot(pen=pg.mkPen(TRAIN + "55", width=1))
        self.smooth = p.plot(pen=pg.mkPen(TRAIN, width=2), name="train")
        self.val = p.plot(pen=pg.mkPen(VAL, width=2), symbol="o", symbolSize=5, symbolBrush=VAL,
                          symbolPen=None, name="validation")
        self.best, self.restored = epoch_lines(p)
        self.init_mark = InitMark(p)
        # the LR on its own view box and right-hand log axis, sharing the epoch axis
        self.lr_view = pg.ViewBox()
        p.showAxis("right")
        p.scene().addItem(self.lr_view)
        right = p.getAxis("right")
        right.linkToView(self.lr_view)
        right.setLogMode(False, True)
        right.setLabel("learning rate", color=LR)
        right.setPen(pg.mkPen(LR))
        right.setTextPen(pg.mkPen(LR))
        thin_log_labels(right)
        right.setWidth(64)   # fixed: its auto width is set while painting, which live mode defers
        # (the axis could stay 29 px wide with every label clipped away)
        self.lr_view.setXLink(p)
        self.lr_view.setMouseEnabled(x=False, y=False)
        self.lr_curve = pg.PlotDataItem(pen=pg.mkPen(LR, width=1.5, style=Qt.PenStyle.DashLine))
        self.lr_view.addItem(self.lr_curve)
        p.vb.sigResized.connect(self._sync_views)
        self.body.addWidget(pw, 1)

        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="emaSlider")
        self.slider.setRange(0, 99)
        self.slider.setValue(int(DEFAULT_SMOOTHING * 100))
        self.slider.setToolTip("Smoothing of the training loss: bias-corrected exponential moving average")
        self.slider.setMaximumWidth(160)
        self.slider_label = QLabel()
        self.slider.valueChanged.connect(self._smoothing_changed)
        self.patience = dim()
        self.patience.setObjectName("patienceCountdown")
        self.patience.setWordWrap(False)
        self.patience.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)   # no wider card
        self.body.addWidget(hbox(QLabel("Smoothing"), self.slider, self.slider_label, self.patience))
        self._store = None
        self._lr_range_for = None
        self._smoothing_changed(self.slider.value())

    @property
    def smoothing(self) -> float:
        return self.slider.value() / 100

    def _sync_views(self) -> None:
        self.lr_view.setGeometry(self.plot.vb.sceneBoundingRect())
        self.lr_view.linkedViewChanged(self.plot.vb, self.lr_view.XAxis)

    def _smoothing_changed(self, v: int) -> None:
        self.slider_label.setText(f"{v / 100:.2f}")
        if self._store is not None:
            self.refresh(self._store)

    def refresh(self, store) -> None:
        self._store = store
        s = store.steps
        x, loss, lr = s.col("x"), s.col("loss"), s.col("lr")
        xf, lf = finite(x, loss, positive=True)
        self.raw.setData(xf, lf)
        self.raw.setVisible(self.smoothing > 0)
        self.smooth.setData(xf, ema(lf, self.smoothing, s.stride))
        e = store.epochs
        if len(e) > 60 and self.val.opts["symbol"] is not None:
            self.val.setSymbol(None)
        self.val.setData(*finite(e.col("epoch"), e.col("val_loss"), positive=True))
        xl, ll = finite(x, lr, positive=True)
        self.lr_curve.setData(xl, np.log10(ll))
        planned = np.asarray(store.planned_lrs or ll, float)
        planned = planned[np.isfinite(planned) & (planned > 0)]
        if len(planned) and self._lr_range_for is not store:   # the whole schedule is known up front
            self._lr_range_for = store
            lo, hi = float(np.log10(planned.min())), float(np.log10(planned.max()))
            pad = max(0.1, (hi - lo) * 0.08)
            self.lr_view.setYRange(lo - pad, hi + pad, padding=0)
        self.init_mark.show(store)
        init = [store.loss_at_init] if getattr(store, "loss_at_init", None) else []
        steady_log_y(self.plot, np.concatenate([lf, e.col("val_loss"), init]))
        show_epoch_lines(self.best, self.restored, store)
        self.patience.setText(patience_text(store))
        self.patience.setToolTip(self.patience.text())
        if len(x):
            self.grow_x(self.plot, store, float(x[-1]))

    def has_points(self) -> bool:
        """True once the step curve shows a point of the current run."""
        xs = self.smooth.xData
        return xs is not None and len(xs) > 0

    def table(self):
        st = self._store
        if st is None:
            return [], []
        s = st.steps
        x, loss = s.col("x"), s.col("loss")
        sm = np.full_like(loss, np.nan)
        ok = np.isfinite(loss) & (loss > 0)
        sm[ok] = ema(loss[ok], self.smoothing, s.stride)
        rows = [["step", float(xx), int(stp), float(l), float(m), "", float(r)]
                for xx, stp, l, m, r in zip(x, s.col("step"), loss, sm, s.col("lr"))]
        e = st.epochs
        rows += [["epoch", float(ep), "", float(tl), "", float(vl), float(r)]
                 for ep, tl, vl, r in zip(e.col("epoch"), e.col("train_loss"), e.col("val_loss"), e.col("lr"))]
        return ["kind", "epoch", "step", "train_loss", "train_loss_smoothed", "val_loss", "lr"], rows


def patience_text(store) -> str:
    parts = []
    if store.patience is not None and store.patience_left is not None:
        parts.append(f"early stopping: {store.patience_left}/{store.patience} epochs of patience left")
    if store.best_epoch:
        parts.append(f"best epoch {store.best_epoch}")
    if store.restored_epoch:
        parts.append(f"weights restored from epoch {store.restored_epoch}")
    return " · ".join(parts)


class MetricCard(Card):
    def __init__(self, parent=None):
        super().__init__("Validation metric", "metricPlot", parent)
        self.plot_widget = pw = plot_widget("", "epoch")
        p = self.plot = pw.getPlotItem()
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.best, self.restored = epoch_lines(p)
        self.body.addWidget(pw, 1)
        self.summary = dim()
        self.body.addWidget(self.summary)
        self._store = None

    def refresh(self, store) -> None:
        self._store = store
        names = [m for m in store.metric_names if m in store.metrics] or list(store.metrics)
        for i, name in enumerate(names):
            if name not in self.curves:
                color = VAL if i == 0 else TRAIN
                self.curves[name] = self.plot.plot(pen=pg.mkPen(color, width=2 if i == 0 else 1.5), symbol="o",
                                                   symbolSize=4, symbolBrush=color, symbolPen=None,
                                                   name=METRIC_LABELS.get(name, name))
            s = store.metrics[name]
            if len(s) > 60 and self.curves[name].opts["symbol"] is not None:
                self.curves[name].setSymbol(None)   # hundreds of markers cost more than they tell
            self.curves[name].setData(*finite(s.col("epoch"), s.col("value")))
        if len(self.curves) != getattr(self, "_keyed", 0):
            self._keyed = len(self.curves)
            self.set_key([(VAL if i == 0 else TRAIN, METRIC_LABELS.get(n, n), "dot") for i, n in enumerate(self.curves)])
        if names:
            first = names[0]
            self.title.setText(f"Validation {METRIC_LABELS.get(first, first)}")
            if first in ("val_accuracy", "val_f1"):
                self.plot.setYRange(0, 1.02, padding=0)
            else:
                steady_y(self.plot, np.concatenate([store.metrics[n].col("value") for n in names]))
            vals = store.metrics[first].col("value")
            best = np.nanmax(vals) if first != "val_mae" and len(vals) and np.isfinite(vals).any() else (
                np.nanmin(vals) if len(vals) and np.isfinite(vals).any() else math.nan)
            shown = vals[np.isfinite(vals)]   # epochs between validations (issue 14) have no value
            last = shown[-1] if len(shown) else math.nan
            self.summary.setText(f"last {last:.4g} · best {best:.4g}" if len(vals) else "")
        show_epoch_lines(self.best, self.restored, store)
        if len(store.epochs):
            self.grow_x(self.plot, store, store.epochs.last("epoch"), start=1)

    def table(self):
        if self._store is None:
            return [], []
        return self._store.epoch_table()
