"""Colours, fonts and the application style: one dark theme with good contrast.

Nodes are coloured by layer category; the same colours tint the palette icons so the
palette and the canvas read as one vocabulary.
"""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QIcon, QPainter, QPalette, QPixmap, QTextLayout

CATEGORY_COLORS = {
    "Structure": "#64748b",
    "Core": "#3b82f6",
    "Convolution": "#10b981",
    "Activation": "#d97706",
    "Normalization": "#8b5cf6",
    "Regularization": "#db2777",
    "Merge": "#0891b2",
    "Sequence": "#ea580c",
}
FALLBACK = "#6b7280"

WINDOW = "#1f2125"
PANEL = "#26282d"
BASE = "#1b1d21"
ALT_BASE = "#23252a"
BORDER = "#3a3d44"
TEXT = "#e3e5e8"
TEXT_DIM = "#9aa0a8"
ACCENT = "#4c8dff"
ERROR = "#ef4444"
WARNING = "#f59e0b"
OK = "#22c55e"

CANVAS_BG = "#17181b"
GRID_MINOR = "#202226"
GRID_MAJOR = "#2a2d32"
NODE_BODY = "#2a2c31"
NODE_BODY_ERROR = "#3a2225"
EDGE = "#8b929c"
EDGE_SELECTED = ACCENT


def category_color(category: str) -> QColor:
    return QColor(CATEGORY_COLORS.get(category, FALLBACK))


# The cached fonts are handed out as copies (QFont is implicitly shared: a copy is cheap): a
# caller that changes its font (the far-zoom node tiles set a pixel size) must not change
# every later title, which made node titles huge and clipped after one zoom-out.
def mono_font(point_size: float = 9.0) -> QFont:
    return QFont(_mono_font(point_size))


def ui_font(point_size: float = 9.0, bold: bool = False) -> QFont:
    return QFont(_ui_font(point_size, bold))


@lru_cache(maxsize=None)
def _mono_font(point_size: float) -> QFont:
    f = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    f.setPointSizeF(point_size)
    f.setStyleHint(QFont.StyleHint.Monospace)
    return f


@lru_cache(maxsize=None)
def _ui_font(point_size: float, bold: bool) -> QFont:
    f = QFont()
    f.setPointSizeF(point_size)
    f.setBold(bold)
    return f


# stand-ins from common fonts (DejaVu has these) for catalogue glyphs some systems lack
GLYPH_FALLBACKS = {"⫼": "▥", "⟋": "╱", "⌗": "⋕", "⟐": "◈"}


@lru_cache(maxsize=None)
def renderable(text: str) -> bool:
    """True if some installed font (with Qt's fallback) has every character of `text`."""
    layout = QTextLayout(text, QFont())
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    return all(0 not in run.glyphIndexes() for run in layout.glyphRuns())


def glyph(text: str, name: str = "") -> str:
    """`text` if it can be drawn here, else a stand-in, else the name's first letter."""
    if not text or renderable(text):
        return text
    alt = GLYPH_FALLBACKS.get(text)
    if alt and renderable(alt):
        return alt
    return name[:1] or "■"


_ICONS: dict[tuple[str, str], QIcon] = {}


def layer_icon(glyph_text: str, category: str, size: int = 22) -> QIcon:
    """A rounded tile in the category colour with the layer's glyph (cached)."""
    key = (glyph_text, category)
    if key not in _ICONS:
        pm = QPixmap(size * 2, size * 2)  # drawn at 2x: crisp on high-dpi screens
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(1, 1, size * 2 - 2, size * 2 - 2)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(category_color(category))
        p.drawRoundedRect(rect, 8, 8)
        p.setPen(QColor("white"))
        f = QFont()
        f.setPixelSize(int(size * 1.15))
        f.setBold(True)
        p.setFont(f)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, glyph_text)
        p.end()
        pm.setDevicePixelRatio(2.0)
        _ICONS[key] = QIcon(pm)
    return _ICONS[key]


def apply(app) -> None:
    """Fusion style with a dark palette and a small style sheet for docks, tool bar and forms."""
    app.setStyle("Fusion")
    pal = QPalette()
    role = QPalette.ColorRole
    for r, c in ((role.Window, WINDOW), (role.WindowText, TEXT), (role.Base, BASE),
                 (role.AlternateBase, ALT_BASE), (role.ToolTipBase, "#2f3238"), (role.ToolTipText, TEXT),
                 (role.Text, TEXT), (role.Button, PANEL), (role.ButtonText, TEXT),
                 (role.BrightText, "#ffffff"), (role.Highlight, ACCENT), (role.HighlightedText, "#ffffff"),
                 (role.Link, ACCENT), (role.PlaceholderText, "#7a808a"), (role.Mid, BORDER),
                 (role.Dark, "#15161a"), (role.Light, "#3a3d44"), (role.Midlight, "#30333a"),
                 (role.Shadow, "#0d0e10")):
        pal.setColor(r, QColor(c))
    for r in (role.Text, role.WindowText, role.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, r, QColor("#6b7079"))
    app.setPalette(pal)
    from ..core.resources import resource_dir
    check = (resource_dir() / "icons" / "check.svg").as_posix()
    app.setStyleSheet(STYLE_SHEET.replace("@CHECK@", check))


STYLE_SHEET = f"""
QMainWindow::separator {{ background: {WINDOW}; width: 4px; height: 4px; }}
QDockWidget {{ color: {TEXT_DIM}; font-weight: bold; }}
QDockWidget::title {{ background: {PANEL}; padding: 6px 8px; border-bottom: 1px solid {BORDER}; }}
QToolBar {{ background: {PANEL}; border: none; border-bottom: 1px solid {BORDER}; spacing: 2px; padding: 3px; }}
QToolBar QToolButton {{ padding: 4px 7px; border-radius: 4px; color: {TEXT}; }}
QToolBar QToolButton:hover {{ background: #353840; }}
QToolBar QToolButton:disabled {{ color: #5d626b; }}
QToolBar::separator {{ background: {BORDER}; width: 1px; margin: 4px 6px; }}
QStatusBar {{ background: {PANEL}; border-top: 1px solid {BORDER}; color: {TEXT_DIM}; }}
QStatusBar QLabel {{ padding: 0 8px; }}
QLineEdit, QPlainTextEdit, QTreeWidget {{
    background: {BASE}; border: 1px solid {BORDER}; border-radius: 4px; padding: 3px 5px;
    selection-background-color: {ACCENT}; }}
QLineEdit:focus {{ border-color: {ACCENT}; }}
QCheckBox::indicator {{ width: 14px; height: 14px; border: 1px solid #6b7280; border-radius: 3px;
    background: {BASE}; }}
QCheckBox::indicator:hover {{ border-color: {ACCENT}; }}
QCheckBox::indicator:checked {{ background: {ACCENT}; border-color: {ACCENT}; image: url(@CHECK@); }}
QLineEdit[invalid="true"] {{ border-color: {ERROR}; }}
QTreeWidget {{ padding: 2px; outline: none; }}
QTreeWidget::item {{ padding: 1px 2px; border-radius: 3px; }}
QTreeWidget::item:hover {{ background: #2c2f35; }}
QTreeWidget::item:selected {{ background: #2f4a7a; color: white; }}
QLabel#inspectorTitle {{ font-size: 12pt; font-weight: bold; }}
QLabel#inspectorHelp, QLabel#paramHelp {{ color: {TEXT_DIM}; }}
QLabel#inspectorError {{ color: #ff8a8a; }}
QLabel#inspectorProblems {{ color: #ffd7d7; background: #4a2227; border: 1px solid #7f2a32;
    border-radius: 4px; padding: 6px; }}
QLabel#inspectorShape {{ color: #c9d1d9; }}
QToolTip {{ color: {TEXT}; background: #2f3238; border: 1px solid {BORDER}; padding: 4px; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QMenu::item {{ padding: 5px 24px 5px 24px; }}
QMenu::icon {{ padding-left: 8px; }}   /* else the icon sits on the menu's left border, its edge cut off */
QMenu::item:selected {{ background: #2f4a7a; }}
QMenu::separator {{ height: 1px; background: {BORDER}; margin: 4px 8px; }}
QMenuBar {{ background: {PANEL}; }}
QMenuBar::item:selected {{ background: #353840; }}
QScrollArea {{ border: none; }}
"""
