"""The layer palette: every catalogue layer grouped by category, filterable, draggable.

A drag carries MIME `application/x-layerlab-layer` with the layer type name; a
double-click (or Enter) asks to append the layer after the selected node.
"""
from __future__ import annotations

import re

from PySide6.QtCore import QMimeData, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDrag, QFontMetrics, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from ...core import layers
from .. import theme
from ..canvas.view import LAYER_MIME

TYPE_ROLE = Qt.ItemDataRole.UserRole


class LayerTree(QTreeWidget):
    enter_pressed = Signal(object)  # the current item

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("paletteTree")
        self.setHeaderHidden(True)
        self.setIconSize(QSize(20, 20))
        self.setIndentation(10)
        self.setRootIsDecorated(False)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformRowHeights(True)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        names = [i.data(0, TYPE_ROLE) for i in items if i.data(0, TYPE_ROLE)]
        if names:
            mime.setData(LAYER_MIME, names[0].encode("utf-8"))
            mime.setText(names[0])
        return mime

    def supportedDropActions(self):
        return Qt.DropAction.CopyAction

    def startDrag(self, actions) -> None:
        """The dragged chip sits below-right of the pointer, so the edge or spot under the
        pointer (where the layer lands) stays in sight."""
        item = self.currentItem()
        mime = self.mimeData([item] if item is not None else [])
        if item is None or not mime.hasFormat(LAYER_MIME):
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(drag_chip(item.icon(0), item.text(0), self.font()))
        drag.setHotSpot(QPoint(-14, -10))
        drag.exec(Qt.DropAction.CopyAction)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self.enter_pressed.emit(self.currentItem())
            event.accept()
            return
        super().keyPressEvent(event)


def drag_chip(icon, text: str, font) -> QPixmap:
    """A small translucent label (icon + name) for a palette drag."""
    width = 34 + QFontMetrics(font).horizontalAdvance(text) + 10
    chip = QPixmap(width, 26)
    chip.fill(Qt.GlobalColor.transparent)
    p = QPainter(chip)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setOpacity(0.85)
    p.setPen(QColor(theme.ACCENT))
    p.setBrush(QColor(theme.PANEL))
    p.drawRoundedRect(QRect(0, 0, width - 1, 25), 5, 5)
    icon.paint(p, QRect(5, 3, 20, 20))
    p.setPen(QColor(theme.TEXT))
    p.setFont(font)
    p.drawText(QRect(32, 0, width - 32, 26), Qt.AlignmentFlag.AlignVCenter, text)
    p.end()
    return chip


class Palette(QWidget):
    layer_activated = Signal(str)  # double-click / Enter on a layer

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("layerPalette")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        self.filter = QLineEdit(self)
        self.filter.setObjectName("paletteFilter")
        self.filter.setPlaceholderText("Filter layers…  (type, category or help)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        self.tree = LayerTree(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        self._populate()
        # not itemActivated: some desktops activate on a single click
        self.tree.itemDoubleClicked.connect(self._activated)
        self.tree.enter_pressed.connect(self._activated)
        self.filter.returnPressed.connect(self._activate_first)

    def _populate(self) -> None:
        bold = theme.ui_font(8.5, True)
        for category, specs in layers.by_category().items():
            if not specs:
                continue
            head = QTreeWidgetItem(self.tree, [category.upper()])
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            head.setFont(0, bold)
            head.setSizeHint(0, QSize(0, 22))
            head.setForeground(0, theme.category_color(category).lighter(135))
            if category == "Blocks":
                self.blocks_head = head          # the project's blocks join the ports here (set_blocks)
            for spec in specs:
                if spec.block:                   # instances come from the project's own blocks
                    continue
                item = QTreeWidgetItem(head, [spec.name])
                item.setIcon(0, theme.layer_icon(theme.glyph(spec.icon, spec.name), category))
                item.setSizeHint(0, QSize(0, 22))
                item.setData(0, TYPE_ROLE, spec.name)
                item.setToolTip(0, f"<b>{spec.name}</b> <span style='color:#9aa0a8'>({category})</span>"
                                   f"<br>{spec.help}<br><i>Drag onto the canvas, or double-click to "
                                   "append after the selected layer.</i>")
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                item.setForeground(0, QColor(theme.TEXT))
                self.items[spec.name] = item
        self.tree.expandAll()

    def set_blocks(self, names: list[str]) -> None:
        """One entry per block of the project under Blocks (keyed "Block:<name>" for drag and drop)."""
        from ...core.blocks import PALETTE_PREFIX
        keys = [PALETTE_PREFIX + n for n in names]
        if [k for k in self.items if k.startswith(PALETTE_PREFIX)] == keys:
            return
        for key in [k for k in self.items if k.startswith(PALETTE_PREFIX)]:
            self.blocks_head.removeChild(self.items.pop(key))
        for name, key in zip(names, keys):
            item = QTreeWidgetItem(self.blocks_head, [name])
            item.setIcon(0, theme.layer_icon(theme.glyph("▣", "Block"), "Blocks"))
            item.setSizeHint(0, QSize(0, 22))
            item.setData(0, TYPE_ROLE, key)
            item.setToolTip(0, f"<b>{name}</b> (block)<br>Drag onto the canvas for one more instance with its own "
                               "weights; double-click an instance on the canvas to edit the block.")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            item.setForeground(0, QColor(theme.TEXT))
            self.items[key] = item
        self.apply_filter(self.filter.text())

    def apply_filter(self, text: str) -> None:
        """Layers whose name or category contains every typed word; when none does, layers
        whose help text mentions them (so "residual" still finds Add)."""
        words = text.lower().split()

        def by_name(spec) -> bool:
            return all(w in spec.name.lower() or w in spec.category.lower() for w in words)

        def by_help(spec) -> bool:
            return all(re.search(rf"\b{re.escape(w)}", spec.help.lower()) for w in words)

        specs = {name: layers.get(name.partition(":")[0]) for name in self.items}
        hits = {n for n, spec in specs.items() if by_name(spec) or all(w in n.lower() for w in words)}
        if not hits:
            hits = {n for n, spec in specs.items() if by_help(spec)}
        for i in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(i)
            shown = 0
            for k in range(head.childCount()):
                item = head.child(k)
                hit = item.data(0, TYPE_ROLE) in hits
                item.setHidden(not hit)
                shown += hit
            head.setHidden(shown == 0)

    def visible_layers(self) -> list[str]:
        return [name for name, item in self.items.items() if not item.isHidden() and not item.parent().isHidden()]

    def _activated(self, item: QTreeWidgetItem, column: int = 0) -> None:
        name = item.data(0, TYPE_ROLE)
        if name:
            self.layer_activated.emit(name)

    def _activate_first(self) -> None:
        names = self.visible_layers()
        if names:
            self.layer_activated.emit(names[0])
