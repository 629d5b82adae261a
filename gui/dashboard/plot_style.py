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
    if log_y:
        thin_log_labels(plot.getAxis("left"))
    plot.setMenuEnabled(False)
    cache_axes(plot)
    return plot


MANTISSA_ORDER = (5, 2, 3, 4, 6, 7, 8, 9)   # which in-decade labels survive first when space is short


def thin_log_labels(axis: pg.AxisItem) -> None:
    """A log axis labels only the decades when two or more are in view: the 2..9 minor labels
    crowd at the top of each decade and overlap ("0.8 0.6 0.5 0.4" in one blur). Within about
    a decade it keeps only the minor labels that have a text line of room (5, then 2, 3, ...);
    the others stay as unlabelled ticks."""
    original = axis.tickValues

    def tick_values(lo, hi, size):
        levels = original(lo, hi, size)
        if not axis.logMode or len(levels) != 1 or levels[0][0] is not None:
            axis.style["maxTextLevel"] = 2
            return levels
        values = levels[0][1]       # pyqtgraph's one level of 1..9 x 10^k: split decades from the rest
        decades = [v for v in values if abs(v - round(v)) < 1e-9]
        rest = [v for v in values if abs(v - round(v)) >= 1e-9]
        if len(decades) >= 2:
            axis.style["maxTextLevel"] = 0
            return [(1.0, decades), (None, rest)]
        axis.style["maxTextLevel"] = 1
        labelled = _spaced(decades, rest, size / max(abs(hi - lo), 1e-12), _line_px(axis))
        return [(1.0, decades), (None, labelled), (None, [v for v in rest if v not in labelled])]
    axis.tickValues = tick_values


def _line_px(axis: pg.AxisItem) -> float:
    from PySide6.QtGui import QFontMetricsF
    return QFontMetricsF(axis.style.get("tickFont") or axis.font()).height() + 2


def _spaced(fixed: list[float], candidates: list[float], px_per_unit: float, gap_px: float) -> list[float]:
    """The candidates (log10 values) that keep `gap_px` from each other and from `fixed`, in
    MANTISSA_ORDER of preference; returned in ascending order."""
    def rank(v):
        m = round(10 ** (v - np.floor(v + 1e-9)))
        return MANTISSA_ORDER.index(m) if m in MANTISSA_ORDER else len(MANTISSA_ORDER)
    kept = list(fixed)
    chosen = []
    for v in sorted(candidates, key=rank):
        if all(abs(v - k) * px_per_unit >= gap_px for k in kept):
            kept.append(v)
            chosen.append(v)
    return sorted(chosen)


def cache_axes(plot: pg.PlotItem) -> None:
    """Axes (and the grid they draw across the plot) as cached pixmaps: a new curve point then
    repaints by blitting them instead of re-playing every tick label, which was most of the
    cost of a redraw. The cache is dropped whenever the axis' range changes."""
    for name in ("left", "bottom", "right"):   # right: the loss card's learning-rate axis
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


def steady_y(plot: pg.PlotItem, values: np.ndarray, key: str = "_ylin") -> None:
    """A linear y range on a grid of a tenth of the data's span, changed only when the data leaves
    it or fills under half of it: an auto-range that follows every new point re-lays out the axis
    on every redraw, the costliest part of a repaint."""
    v = values[np.isfinite(values)]
    if not len(v):
        return
    lo, hi = float(v.min()), float(v.max())
    shown = getattr(plot, key, None)
    if shown is not None and shown[0] <= lo and hi <= shown[1] and (hi - lo) >= 0.5 * (shown[1] - shown[0]):
        return
    step = 10.0 ** np.floor(np.log10(max(hi - lo, abs(hi) * 1e-3, 1e-12))) / 2
    new = (np.floor(lo / step) * step - step, np.ceil(hi / step) * step + step)
    setattr(plot, key, new)
    plot.enableAutoRange(y=False)
    plot.setYRange(*new, padding=0)


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
    b = weight ** stride
    out = np.empty(len(y))
    acc = 0.0
    for i, v in enumerate(np.asarray(y, float).tolist()):   # s[i] = b·s[i-1] + (1-b)·y[i]; the store
        acc = b * acc + (1.0 - b) * v                          # keeps few points (decimated): no SciPy
        out[i] = acc
    return out / (1 - b ** np.arange(1, len(y) + 1))
