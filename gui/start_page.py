"""The start page: what a first start (or no open project) shows over the canvas. The bundled
templates, each with a miniature of its graph and one line; the recent projects; a blank project
or Open…; and the three steps of building a network (drag, connect, train).

It is a child of the canvas view that covers it while shown (the canvas stays the central
widget); `StartPage.chosen` closes it, and so does opening any project (`MainWindow.after_load`)."""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QAction, QColor, QFontMetrics, QKeySequence, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QToolButton, QVBoxLayout, QWidget)

from ..core import resources
from ..core.layers import spec_of
from . import theme

THUMB = QSize(184, 72)
NODE_W, NODE_H = 184.0, 84.0   # a node's size on the canvas at 100 % (gui/canvas/node_item.py)
STEPS = (("Drag", "a layer from the Layers panel onto the canvas"),
         ("Connect", "an output port (right) to an input port (left)"),
         ("Train", "with ▶ Train{keys}: curves and diagnostics appear as it learns"))
_thumbs: dict[tuple[str, int], QPixmap] = {}


def template_summary(path: Path) -> tuple[str, str, dict]:
    """(title, description, graph dict) of a template file; ("", "", {}) when unreadable."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return str(doc.get("name", "")), str(doc.get("description", "")), doc.get("graph") or {}
    except (OSError, ValueError):
        return "", "", {}


def thumbnail(path: Path) -> QPixmap:
    """A miniature of the template's graph (nodes in their category colours, edges), cached by
    file and modification time: the page opens without re-reading or re-drawing anything."""
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        key = (str(path), 0)
    if key not in _thumbs:
        _thumbs[key] = _draw(template_summary(path)[2])
    return _thumbs[key]


def _draw(graph: dict) -> QPixmap:
    ratio = 2.0   # sharp on high-density screens too
    pm = QPixmap(THUMB * ratio)
    pm.setDevicePixelRatio(ratio)
    pm.fill(QColor(theme.CANVAS_BG))
    nodes = {n.get("id"): n for n in graph.get("nodes", []) if isinstance(n, dict)}
    pos = {nid: QPointF(*n["pos"][:2]) for nid, n in nodes.items()
           if isinstance(n.get("pos"), list) and len(n["pos"]) >= 2}
    if not pos:
        return pm
    xs, ys = [p.x() for p in pos.values()], [p.y() for p in pos.values()]
    box = QRectF(min(xs), min(ys), max(xs) - min(xs) + NODE_W, max(ys) - min(ys) + NODE_H)
    margin = 8.0
    s = min((THUMB.width() - 2 * margin) / box.width(), (THUMB.height() - 2 * margin) / box.height())
    ox = margin + (THUMB.width() - 2 * margin - box.width() * s) / 2 - box.left() * s
    oy = margin + (THUMB.height() - 2 * margin - box.height() * s) / 2 - box.top() * s

    def rect(nid):
        p = pos[nid]
        return QRectF(ox + p.x() * s, oy + p.y() * s, NODE_W * s, NODE_H * s)

    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(QColor(theme.EDGE), 1.2))
    for e in graph.get("edges", []):
        if isinstance(e, dict) and e.get("src") in pos and e.get("dst") in pos:
            a, b = rect(e["src"]), rect(e["dst"])
            p.drawLine(QPointF(a.right(), a.center().y()), QPointF(b.left(), b.center().y()))
    p.setPen(Qt.PenStyle.NoPen)
    for nid in pos:
        spec = spec_of(str(nodes[nid].get("type", "")))
        p.setBrush(theme.category_color(spec.category if spec else ""))
        r = rect(nid)
        p.drawRoundedRect(r, r.height() * 0.15, r.height() * 0.15)
    p.end()
    return pm


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setFont(theme.ui_font(11, bold=True))
    return label


class StartPage(QFrame):
    """Signals go through callbacks on the window's FileController: a template opens untitled,
    a recent project opens its file, Blank starts an empty project, Open… asks for a file."""

    def __init__(self, window, parent=None):
        super().__init__(parent)
        self.setObjectName("startPage")
        self.window = window
        self.setAutoFillBackground(True)
        self.setStyleSheet(f"#startPage {{ background: {theme.WINDOW}; }}"
                           f"#startPage QToolButton {{ background: {theme.PANEL}; border: 1px solid {theme.BORDER};"
                           f" border-radius: 6px; padding: 6px 6px 8px 6px; color: {theme.TEXT}; }}"
                           f"#startPage QToolButton:hover {{ border-color: {theme.ACCENT}; }}")
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("startPageBody")
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(28, 20, 28, 20)
        lay.setSpacing(10)
        title = QLabel("Welcome to LayerLab")
        title.setFont(theme.ui_font(16, bold=True))
        lay.addWidget(title)
        lay.addLayout(self._steps())
        lay.addWidget(_heading("Start from a template"))
        lay.addLayout(self._templates())
        lay.addWidget(_heading("Recent projects"))
        self.recent_box = QVBoxLayout()
        self.recent_box.setSpacing(2)
        lay.addLayout(self.recent_box)
        lay.addLayout(self._buttons())
        lay.addStretch(1)
        self.refresh_recent()
        window.files.recent_changed.connect(lambda *_: self.refresh_recent())

    def _steps(self) -> QVBoxLayout:
        row = QVBoxLayout()
        row.setSpacing(4)
        train = self.window.findChild(QAction, "actionTrain")
        keys = train.shortcut().toString(QKeySequence.SequenceFormat.NativeText) if train is not None else ""
        for i, (verb, rest) in enumerate(STEPS, 1):
            rest = rest.format(keys=f" ({keys})" if keys else "")
            step = QLabel(f"<span style='color:{theme.ACCENT}; font-size:15pt; font-weight:bold'>{i}</span>"
                          f"&nbsp; <b>{verb}</b> {rest}")
            step.setObjectName(f"startStep{i}")
            row.addWidget(step)
        return row

    def _templates(self) -> QGridLayout:
        self.grid = grid = QGridLayout()
        grid.setSpacing(10)
        grid.setAlignment(Qt.AlignmentFlag.AlignLeft)
        self.template_buttons: dict[str, QToolButton] = {}
        for i, name in enumerate(resources.template_names()):
            path = resources.template_path(name)
            title, description, _ = template_summary(path)
            b = QToolButton(objectName=f"startTemplate_{name}")
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.setIcon(thumbnail(path))
            b.setIconSize(THUMB)
            width = THUMB.width() + 12
            line = QFontMetrics(b.font()).elidedText(description, Qt.TextElideMode.ElideRight, width)
            b.setText(f"{title or name}\n{line}")
            b.setToolTip(description)
            b.setFixedWidth(width + 14)
            b.setProperty("template", name)
            b.clicked.connect(lambda checked=False, n=name: self.window.files.new_from_template(n))
            self.template_buttons[name] = b
        self.columns = 0
        self.reflow()
        return grid

    def reflow(self) -> None:
        """As many template cards per row as the page's width holds (no sideways scrolling)."""
        buttons = list(self.template_buttons.values())
        if not buttons:
            return
        cols = max(1, (self.width() - 56 + 10) // (buttons[0].width() + 10))
        if cols == self.columns:
            return
        self.columns = cols
        for b in buttons:
            self.grid.removeWidget(b)
        for i, b in enumerate(buttons):
            self.grid.addWidget(b, i // cols, i % cols)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.reflow()

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        blank = QPushButton("Blank project", objectName="startBlank")
        blank.clicked.connect(self.window.files.new)
        open_ = QPushButton("Open…", objectName="startOpen")
        open_.clicked.connect(lambda: self.window.files.open())
        row.addWidget(blank)
        row.addWidget(open_)
        row.addStretch(1)
        return row

    def refresh_recent(self) -> None:
        while self.recent_box.count():
            w = self.recent_box.takeAt(0).widget()
            if w is not None:
                w.hide()            # out of the layout, it would linger where it was until deleted
                w.deleteLater()
        files = self.window.files.recent_files()
        self.recent_buttons: list[QPushButton] = []
        for f in files:
            path = Path(f)
            b = QPushButton(f"{path.name}   —   {path.parent}", objectName="startRecent")
            b.setFlat(True)
            b.setStyleSheet("text-align: left; padding: 3px 6px;")
            b.setToolTip(f if path.is_file() else f"{f} (no longer there)")
            b.setEnabled(path.is_file())
            b.clicked.connect(lambda checked=False, p=f: self.window.files.open(p))
            self.recent_box.addWidget(b)
            self.recent_buttons.append(b)
        if not files:
            none = QLabel("None yet: projects you open or save are listed here.")
            none.setStyleSheet(f"color: {theme.TEXT_DIM};")
            self.recent_box.addWidget(none)


class _Cover(QObject):
    """Keeps the start page the size of the canvas view it covers."""

    def __init__(self, page: StartPage, view):
        super().__init__(page)
        self.page = page
        view.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.page.setGeometry(obj.rect())
        return False


def install_start_page(window) -> StartPage:
    """The start page over the window's canvas (hidden); `window.show_start_page()` shows it."""
    page = StartPage(window, window.view)
    page.setGeometry(window.view.rect())
    _Cover(page, window.view)
    page.hide()
    return page
