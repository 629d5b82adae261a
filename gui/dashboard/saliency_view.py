"""Saliency (objectName `saliencyView`): pick a validation sample and a method; image inputs
show input, heat map (with a colour bar) and overlay; tabular and token inputs show one bar per
feature / token. The attribution is computed by core.train.saliency (Captum) in the training process
between two training steps, so the picture follows the model as it learns."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QComboBox, QSpinBox, QStackedWidget

from .card import Card, dim
from .plot_style import AXIS, BG, TRAIN, VAL, style_plot

METHOD_LABELS = {"gradient": "gradient", "smoothgrad": "SmoothGrad", "integrated_gradients": "integrated gradients",
                 "gradcam": "Grad-CAM"}


def _grey(img: np.ndarray) -> np.ndarray:
    """[C, H, W] or [H, W] -> [H, W] (or [H, W, 3]) scaled to 0..1 for display."""
    if img.ndim == 3:
        img = img.transpose(1, 2, 0) if img.shape[0] == 3 else img.mean(0)
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


class SaliencyCard(Card):
    def __init__(self, request, parent=None):
        super().__init__("Saliency", "saliencyView", parent)
        self.request = request           # request(key, fn): run a job (controller.submit)
        self.sample = QSpinBox(objectName="saliencySample")
        self.sample.setRange(0, 0)
        self.sample.setPrefix("sample ")
        self.method = QComboBox(objectName="saliencyMethod")
        for m, label in METHOD_LABELS.items():
            self.method.addItem(label, m)
        self.layer = QComboBox(objectName="saliencyLayer")
        self.layer.setToolTip("Grad-CAM's conv layer")
        for w in (self.sample, self.method, self.layer):
            self.header.insertWidget(self.header.count() - 1, w)
        self.sample.valueChanged.connect(lambda _v: self.update_now())
        self.method.currentIndexChanged.connect(lambda _i: self.update_now())
        self.layer.currentIndexChanged.connect(lambda _i: self.update_now())
        self.layer.hide()

        self.stack = QStackedWidget()
        self.images = pg.GraphicsLayoutWidget()
        self.images.setBackground(BG)
        self.views, self.items = [], []
        for col, title in enumerate(("input", "attribution", "overlay")):
            vb = self.images.addViewBox(row=1, col=col, lockAspect=True, invertY=True, enableMouse=False)
            self.images.addLabel(title, row=0, col=col, color=AXIS, size="8pt")
            item = pg.ImageItem(axisOrder="row-major")
            vb.addItem(item)
            self.views.append(vb)
            self.items.append(item)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("inferno"), interactive=False,
                                        width=10)
        self.colorbar.setImageItem(self.items[1])
        self.images.addItem(self.colorbar, row=1, col=3)
        self.bars_plot = pg.PlotWidget(background=BG)
        # plain tick values, no "attribution (x0.001)" scaling, which cut the label to "…ution (x0.001)"
        style_plot(self.bars_plot.getPlotItem(), left="attribution")
        self.bar_names: list[str] = []
        vb = self.bars_plot.getPlotItem().vb
        vb.sigResized.connect(lambda *_: self.fit_bar_labels())
        vb.sigXRangeChanged.connect(lambda *_: self.fit_bar_labels())
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=TRAIN)
        self.bars_plot.addItem(self.bars)
        self.stack.addWidget(self.images)
        self.stack.addWidget(self.bars_plot)
        self.empty = dim("Saliency appears once the model exists: press Train.")
        self.stack.addWidget(self.empty)
        self.stack.setCurrentWidget(self.empty)
        self.body.addWidget(self.stack, 1)
        self.caption = dim()
        self.caption.setObjectName("saliencyCaption")
        self.body.addWidget(self.caption)
        self.result: dict | None = None

    def key(self) -> str:
        return "saliency"

    def update_now(self) -> bool:
        method = self.method.currentData()
        self.layer.setVisible(method == "gradcam")
        layer = self.layer.currentText() or None
        return self.request(self.key(), {"index": self.sample.value(), "method": method, "layer": layer})

    def show_result(self, r, error: str) -> None:
        if error:
            self.caption.setText(f"<span style='color:#ff8a8a'>{error}</span>")
            return
        self.result = r
        self.sample.blockSignals(True)
        self.sample.setRange(0, max(0, r["count"] - 1))
        self.sample.blockSignals(False)
        if r["convs"] and self.layer.count() != len(r["convs"]):
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(r["convs"])
            self.layer.setCurrentIndex(len(r["convs"]) - 1)
            self.layer.blockSignals(False)
        x, attr = r["x"], np.asarray(r["attr"], dtype=float)
        if x.ndim >= 2 and x.dtype.kind == "f":
            self._show_image(x, attr, r["method"])
        else:
            self._show_bars(attr, r)
        self.caption.setText(self._caption(r))

    def _caption(self, r) -> str:
        names = r["class_names"]
        true = r["true"]
        if r["task"] == "classification" and np.ndim(true) == 0:
            t = int(true)
            true_s = names[t] if t < len(names) else str(t)
            p = r["pred"]
            pred_s = (names[p] if p is not None and p < len(names) else str(p))
            ok = "✔" if p == t else "✘"
            conf = f" ({r['conf']:.0%})" if r["conf"] is not None else ""
            return f"validation sample {r['index']}: true {true_s}, predicted {pred_s}{conf} {ok}"
        return f"validation sample {r['index']}: target {np.round(true, 3).tolist()}"

    def _show_image(self, x: np.ndarray, attr: np.ndarray, method: str) -> None:
        img = _grey(x)
        signed = method == "integrated_gradients"
        heat = attr.sum(0) if attr.ndim == 3 else attr
        if not signed:
            heat = np.abs(attr).max(0) if attr.ndim == 3 else np.abs(attr)
        lim = float(np.abs(heat).max()) or 1.0
        cmap = pg.colormap.get("CET-D1" if signed else "inferno")
        lo = -lim if signed else 0.0
        self.items[0].setImage(img, levels=(0, 1))
        self.items[1].setImage(heat, levels=(lo, lim))
        self.items[1].setColorMap(cmap)
        self.colorbar.setColorMap(cmap)
        self.colorbar.setLevels((lo, lim))
        norm = np.clip((heat - lo) / (lim - lo), 0, 1)
        rgb = cmap.map(norm.ravel(), mode="float")[:, :3].reshape(*norm.shape, 3)
        base = img if img.ndim == 3 else np.repeat(img[..., None], 3, -1)
        alpha = (np.abs(heat) / lim)[..., None] * 0.75
        self.items[2].setImage((1 - alpha) * base + alpha * rgb, levels=(0, 1))
        for vb in self.views:
            vb.autoRange(padding=0.02)
        self.stack.setCurrentWidget(self.images)

    def _show_bars(self, attr: np.ndarray, r) -> None:
        vals = attr.reshape(-1)
        names = r["feature_names"] if len(r["feature_names"]) == len(vals) else [str(i) for i in range(len(vals))]
        colors = [TRAIN if v >= 0 else VAL for v in vals]
        self.bars.setOpts(x=np.arange(len(vals)), height=vals, width=0.8, brushes=colors, pens=[None] * len(vals))
        self.bar_names = [str(n) for n in names]
        self.bars_plot.setToolTip("features: " + ", ".join(f"{i} = {n}" for i, n in enumerate(self.bar_names)))
        self.bars_plot.autoRange()
        self.stack.setCurrentWidget(self.bars_plot)
        self.fit_bar_labels()

    def fit_bar_labels(self) -> None:
        """Feature names under the bars, never over each other (13 wine features at 1366x768
        ran together into one smear): every n-th bar labelled where a name needs more than a
        bar's width, names elided to the room they get (the index when not even two characters
        fit); all names are in the plot's tooltip."""
        names = self.bar_names
        vb = self.bars_plot.getPlotItem().vb
        if not names or vb.width() <= 0:
            return
        px = vb.viewPixelSize()[0]
        bar = 1 / px if px > 0 else 0.0           # one bar per x unit
        axis = self.bars_plot.getAxis("bottom")
        fm = QFontMetricsF(axis.style.get("tickFont") or axis.font())
        widest = max(fm.horizontalAdvance(n) for n in names)
        step = max(1, math.ceil((min(widest, fm.horizontalAdvance("M") * 5) + 8) / max(bar, 1e-9)))
        room = step * bar - 8

        def fit(i: int, name: str) -> str:
            if fm.horizontalAdvance(name) <= room:
                return name
            short = fm.elidedText(name, Qt.TextElideMode.ElideRight, max(room, 0))
            return short if len(short.rstrip("…")) >= 2 else str(i)
        axis.setTicks([[(i, fit(i, names[i])) for i in range(0, len(names), step)]])

    def table(self):
        r = self.result
        if r is None:
            return [], []
        attr = np.asarray(r["attr"])
        idx = np.argwhere(np.ones(attr.shape, bool))
        return ["position", "attribution"], [[list(map(int, i)), float(attr[tuple(i)])] for i in idx]
