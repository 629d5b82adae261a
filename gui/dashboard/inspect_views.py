"""Conv feature maps for a chosen sample and layer, the decision boundary of 2-D data sets
(updated during training), and the confusion matrix. Each is computed in the training process
(core/train/model_views.py) and draws the small array that comes back."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QComboBox, QSizePolicy, QSpinBox, QSplitter, QVBoxLayout, QWidget

from .card import Card, dim
from .class_table import ClassTable
from .plot_style import BG, plot_widget

CLASS_COLORS = np.array([[76, 141, 255], [245, 158, 11], [34, 197, 94], [239, 68, 68], [168, 85, 247],
                         [6, 182, 212], [236, 72, 153], [132, 204, 22], [249, 115, 22], [148, 163, 184]], float) / 255
MAX_MAPS = 32


# ---------------------------------------------------------------- feature maps
def mosaic(maps: np.ndarray, cols: int = 8) -> np.ndarray:
    """[C, H, W] -> one image, each map normalized on its own (a dead map reads as flat black)."""
    maps = maps[:MAX_MAPS]
    c, h, w = maps.shape
    cols = min(cols, c)
    rows = -(-c // cols)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, np.float32)
    for k, m in enumerate(maps):
        lo, hi = float(m.min()), float(m.max())
        r, col = divmod(k, cols)
        out[r * (h + 1): r * (h + 1) + h, col * (w + 1): col * (w + 1) + w] = (m - lo) / (hi - lo) if hi > lo else 0
    return out


class FeatureMapsCard(Card):
    def __init__(self, request, parent=None):
        super().__init__("Feature maps", "featureMaps", parent)
        self.request = request
        self.sample = QSpinBox(objectName="featureSample")
        self.sample.setPrefix("sample ")
        self.layer = QComboBox(objectName="featureLayer")
        for w in (self.sample, self.layer):
            self.header.insertWidget(self.header.count() - 1, w)
        self.sample.valueChanged.connect(lambda _v: self.update_now())
        self.layer.activated.connect(lambda _i: self.update_now())
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(BG)
        vb = self.view.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        vb.addItem(self.image)
        self.vb = vb
        self.body.addWidget(self.view, 1)
        self.caption = dim("Feature maps appear once the model exists.")
        self.body.addWidget(self.caption)
        self.result = None

    def key(self) -> str:
        return "feature_maps"

    def update_now(self) -> bool:
        return self.request(self.key(), {"index": self.sample.value(), "layer": self.layer.currentText() or None})

    def show_result(self, r, error: str) -> None:
        if error:
            self.caption.setText(error)
            return
        self.result = r
        if [self.layer.itemText(i) for i in range(self.layer.count())] != r["layers"]:
            self.layer.blockSignals(True)
            self.layer.clear()
            self.layer.addItems(r["layers"])
            self.layer.blockSignals(False)
        self.layer.setCurrentText(r["layer"])
        self.sample.blockSignals(True)
        self.sample.setRange(0, r["count"] - 1)
        self.sample.blockSignals(False)
        maps = r["maps"]
        self.image.setImage(np.nan_to_num(mosaic(maps), nan=0.0), levels=(0, 1))
        self.vb.autoRange(padding=0.01)
        shown = min(len(maps), MAX_MAPS)
        self.caption.setText(f"{r['layer']}: {shown} of {len(maps)} channels, {maps.shape[1]}×{maps.shape[2]}, "
                             "each scaled to its own range")

    def table(self):
        if self.result is None:
            return [], []
        m = self.result["maps"]
        return ["channel", "row", "col", "value"], [[c, i, j, float(m[c, i, j])] for c in range(len(m))
                                                    for i in range(m.shape[1]) for j in range(m.shape[2])]


# ---------------------------------------------------------------- decision boundary
class BoundaryCard(Card):
    def __init__(self, request, parent=None):
        super().__init__("Decision boundary", "decisionBoundary", parent)
        self.request = request
        self.plot_widget = pw = plot_widget("x2", "x1")
        pw.setAspectLocked(True)    # a unit in x1 as long as one in x2: the regions keep their shape
        self.image = pg.ImageItem(axisOrder="row-major")
        pw.addItem(self.image)
        self.points = pg.ScatterPlotItem(size=5, pen=pg.mkPen("#000000", width=0.5))
        pw.addItem(self.points)
        self.body.addWidget(pw, 1)
        self.caption = dim("For 2-D data sets: the regions each class wins, recomputed as the model learns.")
        self.body.addWidget(self.caption)
        self.result = None

    def key(self) -> str:
        return "boundary"

    def update_now(self) -> bool:
        return self.request(self.key(), {"resolution": 90})

    def show_result(self, r, error: str) -> None:
        if error:
            self.caption.setText(error)
            return
        self.result = r
        xs, ys, grid = r["xs"], r["ys"], r["grid"]
        if r["task"] == "classification":
            k = grid.shape[-1]
            colors = CLASS_COLORS[np.arange(max(k, 2)) % len(CLASS_COLORS)]
            if k == 1:   # one sigmoid unit: p(class 1)
                grid = np.concatenate([1 - grid, grid], -1)
                k = 2
            rgb = grid @ colors[:k]
            conf = grid.max(-1, keepdims=True)
            img = 0.35 + 0.45 * rgb * conf   # muted: the points on top must stay readable
            self.image.setImage(np.clip(img, 0, 1), levels=(0, 1))
            brushes = [pg.mkBrush(*(CLASS_COLORS[int(c) % len(CLASS_COLORS)] * 255)) for c in r["labels"]]
        else:
            self.image.setImage(grid[..., 0])
            self.image.setColorMap(pg.colormap.get("viridis"))
            brushes = pg.mkBrush("#ffffff")
        self.image.setRect(QRectF(xs[0], ys[0], xs[-1] - xs[0], ys[-1] - ys[0]))
        self.points.setData(r["points"][:, 0], r["points"][:, 1], brush=brushes)
        self.caption.setText("background: the predicted class (brighter = more confident); dots: training samples")

    def table(self):
        if self.result is None:
            return [], []
        xs, ys, g = self.result["xs"], self.result["ys"], self.result["grid"]
        return (["x1", "x2", *[f"out{k}" for k in range(g.shape[-1])]],
                [[float(xs[j]), float(ys[i]), *map(float, g[i, j])] for i in range(len(ys)) for j in range(len(xs))])


# ---------------------------------------------------------------- confusion matrix
def hold(*widgets) -> QWidget:
    w = QWidget()
    lay = QVBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    for x in widgets:
        lay.addWidget(x)
    return w


class ConfusionCard(Card):
    def __init__(self, request, parent=None):
        super().__init__("Confusion matrix", "confusionMatrix", parent)
        self.request = request
        self.plot_widget = pw = plot_widget("true class", "predicted class")
        pw.getPlotItem().invertY(True)
        pw.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("CET-L4"))
        pw.addItem(self.image)
        self.texts: list[pg.TextItem] = []
        self.names: list[str] = []
        pw.getViewBox().sigTransformChanged.connect(lambda *_: self.fit_labels())
        self.caption = dim("Rows: true class; columns: predicted; colour: share of the row.")
        self.classes = ClassTable()            # per-class precision / recall / F1
        # matrix above, table below, the split draggable: the table's height squeezed the matrix
        # to a few pixels per cell
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(pw)
        table = hold(self.caption, self.classes)
        # its size hint (every row) would win the first layout; the stretch factors share instead
        table.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        table.setMinimumHeight(70)
        split.addWidget(table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        self.body.addWidget(split, 1)
        self.result = None

    def key(self) -> str:
        return "confusion"

    def update_now(self) -> bool:
        return self.request(self.key(), {})

    def show_result(self, r, error: str) -> None:
        if error:
            self.caption.setText(error)
            return
        self.result = r
        cm = r["cm"].astype(float)
        share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        self.image.setImage(share, levels=(0, 1))
        k = len(cm)
        names = r["names"] if len(r["names"]) == k else [str(i) for i in range(k)]
        self.names = [str(n) for n in names]
        for t in self.texts:
            self.plot_widget.removeItem(t)
        self.texts = []
        if k <= 12:
            for i in range(k):
                for j in range(k):
                    if cm[i, j]:
                        t = pg.TextItem(str(int(cm[i, j])), color="#000000" if share[i, j] > 0.6 else "#e3e5e8",
                                        anchor=(0.5, 0.5))
                        t.setPos(j + 0.5, i + 0.5)
                        self.plot_widget.addItem(t)
                        self.texts.append(t)
        self.fit_labels()
        rep = self.classes.show_matrix(cm, names)
        self.caption.setText(f"{r['split']} split: {int(cm.sum())} samples, accuracy {rep['accuracy']:.1%}, "
                             f"balanced accuracy {rep['balanced_accuracy']:.1%}, macro-F1 {rep['macro_f1']:.3f}")

    def fit_labels(self) -> None:
        """Class names and counts as large as the cells allow, never over each other: names elided
        to a cell's width (the class number when not even two characters fit; the full name in
        the tooltip), counts hidden when a cell is too small for them."""
        k = len(self.names)
        vb = self.plot_widget.getViewBox()
        if not k or vb.width() <= 0:
            return
        px, py = vb.viewPixelSize()
        cell = min(1 / px, 1 / py) if px > 0 and py > 0 else 0.0
        fm = QFontMetricsF(self.plot_widget.getAxis("bottom").font())
        bottom = [self._fit(fm, i, n, cell - 6) for i, n in enumerate(self.names)]
        left = [self._fit(fm, i, n, self.plot_widget.getAxis("left").width() - 12) for i, n in enumerate(self.names)]
        # every n-th label when even the shortest would touch: small cells, many classes
        across = math.ceil((max(fm.horizontalAdvance(t) for t in bottom) + 6) / max(cell, 1e-9))
        down = math.ceil((fm.height() + 2) / max(cell, 1e-9))
        self.plot_widget.getAxis("bottom").setTicks([[(i + 0.5, t) for i, t in enumerate(bottom) if i % across == 0]])
        self.plot_widget.getAxis("left").setTicks([[(i + 0.5, t) for i, t in enumerate(left) if i % down == 0]])
        tm = QFontMetricsF(self.texts[0].textItem.font()) if self.texts else fm
        wide = max((tm.horizontalAdvance(t.toPlainText()) for t in self.texts), default=0)
        fits = wide + 4 <= cell and tm.height() <= cell
        for t in self.texts:
            t.setVisible(fits)
        self.plot_widget.setToolTip("classes: " + ", ".join(f"{i} = {n}" for i, n in enumerate(self.names)))

    @staticmethod
    def _fit(fm: QFontMetricsF, i: int, name: str, width: float) -> str:
        if fm.horizontalAdvance(name) <= width:
            return name
        short = fm.elidedText(name, Qt.TextElideMode.ElideRight, max(width, 0))
        return short if len(short.rstrip("…")) >= 2 else str(i)

    def table(self):
        if self.result is None:
            return [], []
        cm, names = self.result["cm"], self.result["names"]
        return ["true \\ predicted", *names], [[names[i], *map(int, cm[i])] for i in range(len(cm))]
