"""The ROC / PR tab of a finished binary classification run: the ROC curve (against the chance
diagonal) and the precision–recall curve (against the positive rate) with their areas, from
result.json's `curves` (core/train/curves.py), and a threshold slider: the confusion matrix
beside the curves, and the point marked on both curves, follow the threshold (a sample is
predicted positive when its class-1 probability is ≥ the threshold)."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QSlider,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .card import Card, dim
from .plot_style import BEST, TRAIN, VAL, plot_widget

CHANCE = "#9aa0a8"


class RocCard(Card):
    def __init__(self, parent=None):
        super().__init__("ROC / PR", "rocCard", parent)
        self.split = QComboBox(objectName="rocSplit")
        self.split.addItems(["test", "val"])
        self.split.activated.connect(lambda _i: self._draw())
        self.header.insertWidget(self.header.count() - 1, self.split)
        self.roc_widget = plot_widget(left="true positive rate", bottom="false positive rate")
        self.pr_widget = plot_widget(left="precision", bottom="recall")
        for w in (self.roc_widget, self.pr_widget):
            w.getPlotItem().setXRange(0, 1, padding=0.02)
            w.getPlotItem().setYRange(0, 1, padding=0.02)
        row = QHBoxLayout()
        row.addWidget(self.roc_widget, 1)
        row.addWidget(self.pr_widget, 1)
        row.addWidget(self._side(), 0)
        self.body.addLayout(row, 1)
        self.caption = dim("A binary classification run's ROC and precision–recall curves appear when it finishes.")
        self.body.addWidget(self.caption)
        self.set_key([(TRAIN, "curve", "line"), (BEST, "threshold", "line"), (CHANCE, "chance", "dash")])
        self.store = None
        self._shown = None
        self._marks: list = []

    def _side(self) -> QWidget:
        side = QWidget()
        lay = QVBoxLayout(side)
        lay.setContentsMargins(4, 0, 0, 0)
        self.threshold_label = QLabel("threshold 0.50")
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="thresholdSlider")
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setToolTip("Predict the positive class when its probability is ≥ this threshold: lower it to "
                               "find more positives (recall) at the cost of more false alarms (precision)")
        self.slider.valueChanged.connect(lambda _v: self._threshold())
        self.matrix = QTableWidget(2, 2, objectName="thresholdConfusion")
        self.matrix.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.matrix.setFixedSize(280, 90)
        self.scores = dim("")
        self.scores.setWordWrap(True)
        self.scores.setFixedWidth(280)
        for w in (self.threshold_label, self.slider, dim("rows: true class · columns: predicted"),
                  self.matrix, self.scores):
            lay.addWidget(w)
        lay.addStretch(1)
        return side

    # ------------------------------------------------------------ data
    def curves(self) -> dict:
        result = getattr(self.store, "result", None) if self.store is not None else None
        return (getattr(result, "curves", None) or {}).get(self.split.currentText()) or {}

    def refresh(self, store) -> None:
        key = (id(store), getattr(store, "status", None), id(getattr(store, "result", None)))
        if key == self._shown:
            return
        self._shown, self.store = key, store
        self._draw()

    def _draw(self) -> None:
        for w in (self.roc_widget, self.pr_widget):
            w.getPlotItem().clear()
        self._marks = []
        c = self.curves()
        self.slider.setEnabled(bool(c))
        if not c:
            self.title.setText("ROC / PR")
            self.caption.setText("A binary classification run's ROC and precision–recall curves appear when it "
                                 "finishes (two classes, cross-entropy or BCE loss).")
            self._fill(None)
            return
        dash = pg.mkPen(CHANCE, width=1, style=Qt.PenStyle.DashLine)
        roc, pr = self.roc_widget.getPlotItem(), self.pr_widget.getPlotItem()
        roc.plot([0, 1], [0, 1], pen=dash)
        rate = c["positives"] / max(1, c["positives"] + c["negatives"])
        pr.plot([0, 1], [rate, rate], pen=dash)
        roc.plot(c["roc"]["fpr"], c["roc"]["tpr"], pen=pg.mkPen(TRAIN, width=2))
        pr.plot(c["pr"]["recall"], c["pr"]["precision"], pen=pg.mkPen(VAL, width=2))
        self._marks = [pg.ScatterPlotItem(size=10, brush=pg.mkBrush(BEST), pen=pg.mkPen("w")) for _ in range(2)]
        roc.addItem(self._marks[0])
        pr.addItem(self._marks[1])
        split = self.split.currentText()
        self.title.setText(f"ROC AUC {c['roc_auc']:.4f} · PR AUC {c['pr_auc']:.4f} ({split})")
        self.caption.setText(f"{c['positives']:,} positive and {c['negatives']:,} negative {split} samples. "
                             f"PR AUC is the average precision; chance is the diagonal (ROC) and the positive "
                             f"rate {rate:.2f} (PR).")
        self._threshold()

    def counts(self) -> tuple[int, int, int, int] | None:
        """(tn, fp, fn, tp) at the slider's threshold, None without curves."""
        c = self.curves()
        if not c:
            return None
        b, i = c["by_threshold"], self.slider.value()
        return b["tn"][i], b["fp"][i], b["fn"][i], b["tp"][i]

    def _threshold(self) -> None:
        self.threshold_label.setText(f"threshold {self.slider.value() / 100:.2f}")
        counts = self.counts()
        self._fill(counts)
        if counts is None or not self._marks:
            return
        tn, fp, fn, tp = counts
        pos, neg = tp + fn, tn + fp
        recall, fpr = tp / max(1, pos), fp / max(1, neg)
        precision = tp / (tp + fp) if tp + fp else 1.0
        self._marks[0].setData([fpr], [recall])
        self._marks[1].setData([recall], [precision])
        acc = (tp + tn) / max(1, pos + neg)
        self.scores.setText(f"positive class: {self.matrix.horizontalHeaderItem(1).text()}\n"
                            f"precision {precision:.3f} · recall {recall:.3f}\n"
                            f"false positive rate {fpr:.3f} · accuracy {acc:.3f}")

    def _fill(self, counts) -> None:
        result = getattr(self.store, "result", None) if self.store is not None else None
        report = (getattr(result, "class_report", None) or {}).get(self.split.currentText()) or {}
        names = [str(n) for n in report.get("classes") or []]
        names = names if len(names) == 2 else ["0", "1"]
        self.matrix.setHorizontalHeaderLabels(names)      # the caption above says which axis is which
        self.matrix.setVerticalHeaderLabels(names)
        self.matrix.setToolTip(f"positive class: {names[1]} (class 1)")
        values = ["", "", "", ""] if counts is None else [f"{v:,}" for v in counts]
        for k, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.matrix.setItem(k // 2, k % 2, item)
        if counts is None:
            self.scores.setText("")

    def table(self):
        c = self.curves()
        if not c:
            return ["threshold", "tp", "fp", "tn", "fn"], []
        b = c["by_threshold"]
        return (["threshold", "tp", "fp", "tn", "fn"],
                [list(r) for r in zip(b["threshold"], b["tp"], b["fp"], b["tn"], b["fn"])])
