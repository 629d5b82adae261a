"""The Help menu: Start Page, Keyboard Shortcuts (read from the window's actions, so the list is
always the keys that work) and About LayerLab (version, libraries)."""
from __future__ import annotations

import platform

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout)

from . import theme

CANVAS = "Canvas (while it has focus)"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version
    try:
        return dist_version("layerlab")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _typeable(seq: QKeySequence) -> bool:
    """Keys on an ordinary keyboard: not the platform's extra bindings for media or Sun keys
    (Qt binds Undo to F14 and an "Undo" key, Copy to F16, …), which only clutter the list."""
    key = seq[0].key().value if seq.count() else 0
    return key < Qt.Key.Key_F1.value or Qt.Key.Key_F1.value <= key <= Qt.Key.Key_F12.value


def _keys(action: QAction) -> str:
    return ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()
                     if _typeable(k))


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every action of the window's menus that has a shortcut, in menu
    order, then the canvas-only keys; read from the actions themselves."""
    rows: list[tuple[str, str, str]] = []

    def walk(menu, title: str) -> None:
        for act in menu.actions():
            if act.menu() is not None:
                walk(act.menu(), title)
            elif not act.isSeparator() and _keys(act):
                text = act.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
                rows.append((title, text, _keys(act)))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), top.text().replace("&", ""))
    for act in window.view.actions():
        if _keys(act) and act.text():
            rows.append((CANVAS, act.text(), _keys(act)))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard Shortcuts — LayerLab")
        self.tree = QTreeWidget(objectName="shortcutsTable")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        groups: dict[str, QTreeWidgetItem] = {}
        for menu, text, keys in shortcut_rows(window):
            if menu not in groups:
                groups[menu] = QTreeWidgetItem(self.tree, [menu, ""])
                groups[menu].setFirstColumnSpanned(True)
                font = theme.ui_font(9.5, bold=True)
                groups[menu].setFont(0, font)
                groups[menu].setFlags(Qt.ItemFlag.ItemIsEnabled)
            QTreeWidgetItem(groups[menu], [text, keys])
        self.tree.expandAll()
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tree)
        lay.addWidget(buttons)
        rows = sum(g.childCount() + 1 for g in groups.values())
        self.resize(520, min(700, 80 + rows * 22))


class AboutDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About LayerLab")
        from PySide6 import __version__ as pyside
        text = QLabel(objectName="aboutText", textFormat=Qt.TextFormat.RichText, wordWrap=True)
        text.setText(f"<h2>LayerLab {version()}</h2>"
                     "<p>Design neural networks by hand, set them up well, and watch them train.</p>"
                     f"<p style='color:{theme.TEXT_DIM}'>Python {platform.python_version()} · "
                     f"PySide6 {pyside}<br>MIT licence</p>")
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(text)
        lay.addWidget(buttons)
        self.setMinimumWidth(380)


def _open(window, cls) -> QDialog:
    """One dialog of a kind at a time, window-modal but not blocking (tests look inside it)."""
    for dlg in window.findChildren(cls):
        if dlg.isVisible():
            dlg.raise_()
            return dlg
    dlg = cls(window)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.open()
    return dlg


def install_help(window) -> None:
    """Help ▸ Start Page, Keyboard Shortcuts (F1), About LayerLab; the menu goes last."""
    menu = window.menuBar().addMenu("&Help")
    menu.setObjectName("menuHelp")
    start = menu.addAction("&Start Page")
    start.setObjectName("actionStartPage")
    start.triggered.connect(lambda checked=False: window.show_start_page())
    keys = menu.addAction("&Keyboard Shortcuts")
    keys.setObjectName("actionShortcuts")
    keys.setShortcut(QKeySequence("F1"))
    keys.triggered.connect(lambda checked=False: _open(window, ShortcutsDialog))
    menu.addSeparator()
    about = menu.addAction("&About LayerLab")
    about.setObjectName("actionAbout")
    about.setMenuRole(QAction.MenuRole.AboutRole)
    about.triggered.connect(lambda checked=False: _open(window, AboutDialog))
    window.addAction(keys)   # F1 works with the menu bar hidden, too
