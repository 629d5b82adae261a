"""Plot styling that reads on the dark theme (colours, axes, log ranges), and the numeric
helpers the dashboard's plots share (finite points, smoothing)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

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
    plot.getAxis("left").setWidth(60)   # fixed: an auto width changes, and re-lays out, as tick labels grow
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
