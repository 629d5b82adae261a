"""The dashboard's card: a titled panel whose data exports to CSV and picture to PNG, with a
legend in its header, refreshed by the dashboard in slices while a run trains; and two small
layout helpers the cards share."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFileDialog, QFrame, QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from .. import theme
from .plot_style import BG


class Card(QFrame):
    """A titled panel with an export menu (data as CSV, the card as PNG). Subclasses fill
    `self.body` and implement `table()` and `refresh(store)`.

    per_step: redraw on new steps (else only on new epoch-level data); min_interval: seconds
    between redraws while training (see TrainingDashboard.redraw): under half the 0.5 s a card's
    data may be old on screen, and a per-epoch card's paint is 2-3 ms of the GUI thread."""
    per_step = False
    min_interval = 0.25

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
        # takes the room left in the header, never widens the card (7 layers' legend made the
        # gradients card 760 px wide at least); the whole legend is in its tooltip
        self.key_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.key_label.setMinimumWidth(0)
        head.addWidget(self.key_label, 1)     # stretch: it, not a spacer, gets the header's spare room
        head.addStretch(0)
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
        self._outer = outer
        self._key_below = False      # the legend on its own line(s) under the title, see _place_key
        self._key_width = 0          # the legend's width on one line
        self._key_index = 1          # its place in the header
        self.body = QVBoxLayout()
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.setSpacing(2)
        outer.addLayout(self.body, 1)

    def set_key(self, entries: list[tuple[str, str, str]]) -> None:
        """The legend, in the header: a legend inside a small plot hides the curves it names.
        entries: (colour, label, "line" | "dash" | "dot"). Where the header cannot hold it whole
        (the loss card at 1366x768 showed "train  validati"), it moves to its own line under
        the title and wraps between entries, never inside one."""
        glyph = {"line": "━━", "dash": "╍╍", "dot": "━●━"}
        self.key_label.setText("&nbsp;&nbsp; ".join(
            f"<span style='color:{c}'>{glyph.get(style, '━━')}</span>&nbsp;<span style='color:{theme.TEXT_DIM}'>"
            f"{text.replace(' ', '&nbsp;')}</span>" for c, text, style in entries))
        self.key_label.setToolTip("<br>".join(
            f"<span style='color:{c}'>{glyph.get(style, '━━')}</span>&nbsp;{text}" for c, text, style in entries))
        wrap = self.key_label.wordWrap()
        self.key_label.setWordWrap(False)
        self._key_width = self.key_label.sizeHint().width() if entries else 0
        self.key_label.setWordWrap(wrap)
        self._place_key()

    def _header_room(self) -> int:
        """The width the header leaves its legend at the card's present width."""
        head = self.header
        used, items = 0, 0
        for i in range(head.count()):
            item = head.itemAt(i)
            w = item.widget()
            if w is self.key_label or (w is not None and w.isHidden()):
                continue
            if item.spacerItem() is not None:
                continue
            used += item.sizeHint().width()
            items += 1
        m, o = head.contentsMargins(), self._outer.contentsMargins()
        spacing = max(0, head.spacing())
        return self.width() - o.left() - o.right() - m.left() - m.right() - used - spacing * items

    def _place_key(self) -> None:
        """The legend in the header where it fits whole, else on its own line(s) under it. The
        choice depends on the card's width and the other header widgets only, so moving the
        legend cannot flip it back."""
        below = self._key_width > 0 and self._key_width > self._header_room()
        lab = self.key_label
        if below != self._key_below:
            self._key_below = below
            if below:
                self._key_index = self.header.indexOf(lab)
                self.header.removeWidget(lab)
                self._outer.insertWidget(1, lab)
                lab.setContentsMargins(4, 0, 0, 0)
            else:
                self._outer.removeWidget(lab)
                self.header.insertWidget(self._key_index, lab, 1)
                lab.setContentsMargins(0, 0, 0, 0)
            lab.setWordWrap(below)
            policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            policy.setHeightForWidth(below)
            lab.setSizePolicy(policy)
            lab.show()
        # its lines count in the card's minimum height: the layouts above do not ask for
        # heightForWidth, and a 2-line legend squeezed the plot onto the line under it
        o = self._outer.contentsMargins()
        lab.setMinimumHeight(lab.heightForWidth(max(1, self.width() - o.left() - o.right())) if below else 0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_key()

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


class ElidedLabel(QLabel):
    """One dim line that ends in "…" where the card is too narrow for it (never cut mid-word
    without a sign); the whole text is its tooltip."""

    def __init__(self, text: str = ""):
        super().__init__()
        self.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._full = ""
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 0))
        if shown != self.text():
            self.setText(shown)
