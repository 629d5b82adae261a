"""Building blocks of the dashboard: a titled card whose plot exports to CSV and PNG, plot
styling that reads on the dark theme, and the numeric helpers the plots share."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFileDialog, QFrame, QGraphicsItem, QGraphicsView, QHBoxLayout, QLabel, QMenu,
                               QToolButton, QVBoxLayout, QWidget)

from .. import theme

BG = "#1b1d21"
AXIS = "#aab0b8"
TRAIN = "#4c8dff"
VAL = "#f59e0b"
LR = "#c084fc"
BEST = "#22c55e"
RESTORED = "#f472b6"
# distinguishable on dark grey, colour-blind friendly first (Okabe-Ito order, brightened)
LAYER_COLORS = ["#56b4e9", "#e69f00", "#009e73", "#f0e442", "#cc79a7", "#d55e00", "#0072b2", "#9aa0a8",
                "#7ee2a0", "#ff8a8a"]


def layer_color(i: int) -> str:
    return LAYER_COLORS[i % len(LAYER_COLORS)]


def style_plot(plot: pg.PlotItem, left: str = "", bottom: str = "", log_y: bool = False) -> pg.PlotItem:
    """Readable axes, clip to view and peak-preserving downsampling: a 100k-point curve draws
    as a few thousand segments and spikes (the interesting part of a loss curve) survive."""
    plot.showGrid(x=True, y=True, alpha=0.15)
    for name in ("left", "bottom", "right"):
        ax = plot.getAxis(name)
        ax.setPen(pg.mkPen(AXIS))
        ax.setTextPen(pg.mkPen(AXIS))
        ax.setStyle(tickTextOffset=4)
        ax.enableAutoSIPrefix(False)   # "(x0.001)" in an axis label reads as a typo
    # axis widths are otherwise recomputed while painting, which the dashboard's live mode defers
    plot.getAxis("left").setWidth(60)   # fixed, as above: no label clipped by a stale auto width
    if left:
        plot.setLabel("left", left, color=AXIS)
    if bottom:
        plot.setLabel("bottom", bottom, color=AXIS)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.setLogMode(y=log_y)
    plot.setMenuEnabled(False)
    cache_axes(plot)
    return plot


def cache_axes(plot: pg.PlotItem) -> None:
    """Axes (and the grid they draw across the plot) as cached pixmaps: a new curve point then
    repaints by blitting them instead of re-playing every tick label, which was most of the
    cost of a redraw. The cache is dropped whenever the axis' range changes."""
    for name in ("left", "bottom"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def steady_log_y(plot: pg.PlotItem, values: np.ndarray, key: str = "_ylog") -> None:
    """Set a log-axis y range in half-decade steps, changed only when the data leaves it: an
    auto-range that moves on every redraw re-lays out the axis each time."""
    v = values[np.isfinite(values) & (values > 0)]
    if not len(v):
        return
    lo, hi = np.floor(2 * np.log10(v.min())) / 2, np.ceil(2 * np.log10(v.max())) / 2
    if hi <= lo:
        hi = lo + 0.5
    if getattr(plot, key, None) != (lo, hi):
        setattr(plot, key, (lo, hi))
        plot.enableAutoRange(y=False)
        plot.setYRange(lo, hi, padding=0.02)


def plot_widget(left: str = "", bottom: str = "", log_y: bool = False) -> pg.PlotWidget:
    w = pg.PlotWidget(background=BG)
    style_plot(w.getPlotItem(), left, bottom, log_y)
    w.setMinimumSize(160, 120)
    return w


def legend(plot: pg.PlotItem) -> pg.LegendItem:
    leg = plot.addLegend(offset=(-8, 8), labelTextColor=theme.TEXT, labelTextSize="8pt",
                         brush=pg.mkBrush(27, 29, 33, 200), pen=pg.mkPen(theme.BORDER))
    leg.setZValue(100)
    return leg


def finite(x: np.ndarray, y: np.ndarray, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Drop NaN / Inf (and ≤ 0 for log axes) before plotting: pyqtgraph would otherwise either
    break the whole curve or pay a per-call finite check."""
    ok = np.isfinite(y) & np.isfinite(x)
    if positive:
        ok &= y > 0
    return (x, y) if ok.all() else (x[ok], y[ok])


def ema(y: np.ndarray, weight: float, stride: int = 1) -> np.ndarray:
    """Bias-corrected exponential moving average (as TensorBoard's smoothing slider). `stride`:
    each stored point averages that many steps, so the weight per point is weight**stride and
    the smoothing looks the same after the store decimated."""
    if weight <= 0 or len(y) == 0:
        return y
    from scipy.signal import lfilter
    b = weight ** stride
    out = lfilter([1 - b], [1, -b], y)
    return out / (1 - b ** np.arange(1, len(y) + 1))


class Card(QFrame):
    """A titled panel with an export menu (data as CSV, the card as PNG). Subclasses fill
    `self.body` and implement `table()` and `refresh(store)`.

    per_step: redraw on new steps (else only on new epoch-level data); min_interval: seconds
    between redraws while training (see TrainingDashboard.redraw)."""
    per_step = False
    min_interval = 0.5

    def __init__(self, title: str, object_name: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        if object_name:
            self.setObjectName(object_name)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setStyleSheet("Card { background: %s; border: 1px solid %s; border-radius: 4px; }" % (BG, theme.BORDER))
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 2, 4, 4)
        outer.setSpacing(2)
        head = QHBoxLayout()
        head.setContentsMargins(4, 0, 0, 0)
        self.title = QLabel(title)
        self.title.setStyleSheet(f"color: {theme.TEXT}; font-weight: bold;")
        head.addWidget(self.title)
        self.header = head
        self.key_label = QLabel()
        self.key_label.setTextFormat(Qt.TextFormat.RichText)
        head.addWidget(self.key_label)
        head.addStretch(1)
        self.export_button = QToolButton()
        self.export_button.setText("⤓")
        self.export_button.setToolTip("Export this plot: data as CSV, picture as PNG")
        self.export_button.setAutoRaise(True)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        self.act_csv = QAction("Export data as CSV…", self)
        self.act_csv.triggered.connect(lambda: self._ask("csv"))
        self.act_png = QAction("Export image as PNG…", self)
        self.act_png.triggered.connect(lambda: self._ask("png"))
        menu.addAction(self.act_csv)
        menu.addAction(self.act_png)
        self.export_button.setMenu(menu)
        head.addWidget(self.export_button)
        outer.addLayout(head)
        self.body = QVBoxLayout()
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.setSpacing(2)
        outer.addLayout(self.body, 1)

    def set_key(self, entries: list[tuple[str, str, str]]) -> None:
        """The legend, in the header: a legend inside a small plot hides the curves it names.
        entries: (colour, label, "line" | "dash" | "dot")."""
        glyph = {"line": "━━", "dash": "╍╍", "dot": "━●━"}
        self.key_label.setText("&nbsp;&nbsp;".join(
            f"<span style='color:{c}'>{glyph.get(style, '━━')}</span>&nbsp;<span style='color:{theme.TEXT_DIM}'>"
            f"{text}</span>" for c, text, style in entries))

    # ------------------------------------------------------------ export
    def table(self) -> tuple[list[str], list[list]]:
        return [], []

    def export_csv(self, path: str | Path) -> Path:
        header, rows = self.table()
        path = Path(path)
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows([[repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in r] for r in rows])
        return path

    def export_png(self, path: str | Path) -> Path:
        path = Path(path)
        if not self.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path

    def _ask(self, kind: str) -> None:
        name = self.objectName() or "plot"
        filt = "CSV (*.csv)" if kind == "csv" else "PNG image (*.png)"
        path, _ = QFileDialog.getSaveFileName(self, f"Export {self.title.text()}", f"{name}.{kind}", filt)
        if path:
            (self.export_csv if kind == "csv" else self.export_png)(path)

    def refresh(self, store) -> None:  # pragma: no cover - overridden
        pass

    def set_live(self, live: bool) -> None:
        """While training, the plots repaint only when the dashboard says so (one card per
        slice, see dock.py); pyqtgraph would otherwise repaint on every item and range change,
        dozens of times a second, each time fighting the trainer for the GIL."""
        mode = (QGraphicsView.ViewportUpdateMode.NoViewportUpdate if live
                else QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        for view in self.findChildren(QGraphicsView):
            view.setViewportUpdateMode(mode)
        if not live:
            for view in self.findChildren(QGraphicsView):
                view.viewport().update()

    def step(self, store) -> bool:
        """One slice of a refresh while training; True when the card is up to date. Cards that
        are cheap to refresh do it in one slice."""
        self.refresh(store)
        return True

    def grow_x(self, plot: pg.PlotItem, store, x_max: float, start: float = 0.0) -> None:
        """Widen the epoch axis in steps of 1.5× (capped at the planned epochs) instead of
        auto-ranging on every redraw: a changing range re-lays out the axes, the costliest
        part of a repaint."""
        total = max(1, store.progress.total_epochs or 1)
        key = (id(store), plot)
        limit = getattr(self, "_x_limits", {})
        self._x_limits = limit
        if key not in limit or x_max > limit[key] or limit[key] > total:
            limit[key] = min(total, max(x_max * 1.5, start + min(total, 5)))
            plot.enableAutoRange(x=False)
            plot.setXRange(start, limit[key], padding=0.02)


def hbox(*widgets, stretch_last: bool = False) -> QWidget:
    w = QWidget()
    h = QHBoxLayout(w)
    h.setContentsMargins(0, 0, 0, 0)
    h.setSpacing(6)
    for x in widgets:
        h.addWidget(x)
    if not stretch_last:
        h.addStretch(1)
    return w


def dim(text: str = "") -> QLabel:
    lab = QLabel(text)
    lab.setStyleSheet(f"color: {theme.TEXT_DIM};")
    lab.setWordWrap(True)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return lab
