"""Menus, tool bar and shortcuts of the main window (standard key sequences throughout)."""
from __future__ import annotations

from functools import partial
from types import SimpleNamespace

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QToolBar

from ..core import resources
from . import theme

Key = QKeySequence.StandardKey


def glyph_icon(glyph: str, color: str = theme.TEXT, size: int = 18) -> QIcon:
    pm = QPixmap(size * 2, size * 2)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    f = QFont()
    f.setPixelSize(int(size * 1.45))
    p.setFont(f)
    p.setPen(QColor(color))
    p.drawText(QRectF(0, 0, size * 2, size * 2), Qt.AlignmentFlag.AlignCenter, glyph)
    p.end()
    pm.setDevicePixelRatio(2.0)
    return QIcon(pm)


def _action(win, text, slot=None, keys=(), glyph=None, tip=None, name=None) -> QAction:
    a = QAction(text, win)
    if name:
        a.setObjectName(name)
    seqs = []
    for k in keys if isinstance(keys, (list, tuple)) else (keys,):
        seqs += QKeySequence.keyBindings(k) if isinstance(k, QKeySequence.StandardKey) else [QKeySequence(k)]
    if seqs:
        a.setShortcuts(seqs)
    if glyph:
        a.setIcon(glyph_icon(glyph))
    shortcut = seqs[0].toString(QKeySequence.SequenceFormat.NativeText) if seqs else ""
    a.setToolTip(f"{tip or text.replace('&', '').rstrip('…')}" + (f"  ({shortcut})" if shortcut else ""))
    if slot is not None:
        a.triggered.connect(lambda checked=False: slot())
    return a


def build(win) -> SimpleNamespace:
    a = SimpleNamespace()
    _file_actions(win, a)
    _edit_actions(win, a)
    _view_actions(win, a)
    for act in vars(a).values():
        win.addAction(act)
    _canvas_shortcuts(win.editor, win.view)
    win.view.menu_actions = [a.cut, a.copy, a.paste, a.duplicate, a.delete, None, a.select_all, a.layout, a.fit]
    _menus(win, a)
    _toolbar(win, a)
    win.scene.selectionChanged.connect(partial(_update_enabled, win, a))
    _update_enabled(win, a)
    win.document.analyzed.connect(partial(_update_export, a))   # export needs a valid graph
    _update_export(a, win.document.analysis)
    return a


def _file_actions(win, a) -> None:
    files = win.files
    a.new = _action(win, "&New", files.new, Key.New, "✚", "New project", "actionNew")
    a.open = _action(win, "&Open…", files.open, Key.Open, "⇪", "Open a project", "actionOpen")
    a.save = _action(win, "&Save", files.save, Key.Save, "⤓", "Save the project", "actionSave")
    a.save_as = _action(win, "Save &As…", files.save_as, Key.SaveAs, None, "Save under a new name", "actionSaveAs")
    a.export = _action(win, "&Export…", win.export, "Ctrl+E", None,
                       "Export the trained network: ONNX, torch.export, PyTorch source, model card…", "actionExport")
    a.quit = _action(win, "&Quit", win.close, Key.Quit, name="actionQuit")


def _edit_actions(win, a) -> None:
    ed, stack = win.editor, win.document.undo_stack
    a.undo = stack.createUndoAction(win, "&Undo")
    a.undo.setShortcuts(QKeySequence.keyBindings(Key.Undo))
    a.undo.setIcon(glyph_icon("↶"))
    a.undo.setObjectName("actionUndo")
    a.redo = stack.createRedoAction(win, "&Redo")
    redo_keys = QKeySequence.keyBindings(Key.Redo) or [QKeySequence("Ctrl+Shift+Z")]
    a.redo.setShortcuts(redo_keys + [k for k in (QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z"))
                                     if k not in redo_keys])
    a.redo.setIcon(glyph_icon("↷"))
    a.redo.setObjectName("actionRedo")
    a.cut = _action(win, "Cu&t", ed.cut, Key.Cut, name="actionCut")
    a.copy = _action(win, "&Copy", ed.copy, Key.Copy, name="actionCopy")
    a.paste = _action(win, "&Paste", ed.paste, Key.Paste, name="actionPaste")
    a.duplicate = _action(win, "D&uplicate", ed.duplicate, "Ctrl+D", name="actionDuplicate")
    a.delete = _action(win, "&Delete", ed.delete_selection, Key.Delete, "✕",
                       "Delete the selection", "actionDelete")
    a.select_all = _action(win, "Select &All", ed.select_all, Key.SelectAll, name="actionSelectAll")
    # X11's Delete bindings include Ctrl+D, which made Duplicate's Ctrl+D ambiguous: neither fired
    a.delete.setShortcuts([k for k in a.delete.shortcuts() if k != QKeySequence("Ctrl+D")])


def _view_actions(win, a) -> None:
    ed, view = win.editor, win.view
    a.zoom_in = _action(win, "Zoom &In", view.zoom_in, [Key.ZoomIn, "Ctrl+="], "⊕", name="actionZoomIn")
    a.zoom_out = _action(win, "Zoom &Out", view.zoom_out, Key.ZoomOut, "⊖", name="actionZoomOut")
    a.zoom_reset = _action(win, "&Actual Size", view.reset_zoom, "Ctrl+1", name="actionZoomReset")
    a.fit = _action(win, "&Fit to View", view.fit, "Ctrl+0", "⤢", "Fit the whole network in view",
                    "actionFit")
    a.layout = _action(win, "Auto-&layout", ed.auto_layout, "Ctrl+L", "⇶", "Arrange layers left to right",
                       "actionAutoLayout")
    a.validate = _action(win, "&Validate", win.validate, "F7", "✓", "Check the network and list its problems",
                         "actionValidate")
    a.code = win.code_dock.toggleViewAction()
    a.code.setText("&Code")
    a.code.setShortcut(QKeySequence("Ctrl+Shift+C"))
    a.code.setIcon(glyph_icon("⟨⟩"))
    a.code.setToolTip("Show the generated PyTorch code  (Ctrl+Shift+C)")
    a.code.setObjectName("actionCode")


def _canvas_shortcuts(ed, view) -> None:
    """Keys that mean something else in text fields and lists: only while the canvas has focus."""
    for keys, slot, text in (("Backspace", ed.delete_selection, "Delete the selection"),
                             ("F", view.fit, "Fit to view")):
        extra = QAction(text, view)   # the text names it in Help ▸ Keyboard Shortcuts
        extra.setShortcut(QKeySequence(keys))
        extra.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        extra.triggered.connect(lambda checked=False, f=slot: f())
        view.addAction(extra)


def _menus(win, a) -> None:
    mb = win.menuBar()
    m = mb.addMenu("&File")
    m.addAction(a.new)
    templates = m.addMenu("New from &Template")
    templates.setObjectName("menuTemplates")
    for name in resources.template_names():
        act = templates.addAction(name.replace("_", " "))
        act.setData(name)
        act.triggered.connect(lambda checked=False, n=name: win.files.new_from_template(n))
    m.addAction(a.open)
    win.recent_menu = m.addMenu("Open &Recent")
    win.recent_menu.setObjectName("menuRecent")
    win.files.recent_changed.connect(lambda files: _fill_recent(win, files))
    _fill_recent(win, win.files.recent_files())
    m.addSeparator()
    m.addAction(a.save)
    m.addAction(a.save_as)
    m.addAction(a.export)
    m.addSeparator()
    m.addAction(a.quit)

    m = mb.addMenu("&Edit")
    for act in (a.undo, a.redo, None, a.cut, a.copy, a.paste, a.duplicate, a.delete, None, a.select_all):
        m.addSeparator() if act is None else m.addAction(act)

    m = mb.addMenu("&View")
    for act in (a.zoom_in, a.zoom_out, a.zoom_reset, a.fit, None, a.code):
        m.addSeparator() if act is None else m.addAction(act)
    m.addAction(win.palette_dock.toggleViewAction())
    m.addAction(win.inspector_dock.toggleViewAction())

    m = mb.addMenu("&Network")
    m.addAction(a.layout)
    m.addAction(a.validate)


def _fill_recent(win, files: list[str]) -> None:
    menu = win.recent_menu
    menu.clear()
    for i, f in enumerate(files):
        act = menu.addAction(f"&{i + 1}  {f}")
        act.triggered.connect(lambda checked=False, path=f: win.files.open(path))
    if files:
        menu.addSeparator()
        menu.addAction("Clear list", win.files.clear_recent)
    menu.setEnabled(bool(files))


def _toolbar(win, a) -> None:
    tb = QToolBar("Main tool bar", win)
    tb.setObjectName("mainToolBar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    # fixed-width Undo / Redo buttons: the menu entries say "Undo Connect", which would make
    # the whole tool bar jump on every edit
    stack = win.document.undo_stack
    undo = _action(win, "Undo", stack.undo, glyph="↶", name="toolUndo")
    redo = _action(win, "Redo", stack.redo, glyph="↷", name="toolRedo")
    for act, can, changed, key in ((undo, stack.canUndo, stack.undoTextChanged, a.undo),
                                   (redo, stack.canRedo, stack.redoTextChanged, a.redo)):
        act.setEnabled(can())
        (stack.canUndoChanged if act is undo else stack.canRedoChanged).connect(act.setEnabled)
        shortcut = key.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        changed.connect(lambda text, act=act, shortcut=shortcut: act.setToolTip(
            f"{act.text()} {text} ({shortcut})" if text else f"{act.text()} ({shortcut})"))
    for act in (a.new, a.open, a.save, None, undo, redo, a.delete, None,
                a.zoom_in, a.zoom_out, a.fit, a.layout, None, a.validate, a.code):
        tb.addSeparator() if act is None else tb.addAction(act)
    # icons only where the icon says it (tool tips name them): at 1366 px the Train, Pause and
    # Stop buttons added after these must still fit without the overflow menu
    for act in (a.new, a.open, a.save, undo, redo, a.delete, a.zoom_in, a.zoom_out, a.fit):
        button = tb.widgetForAction(act)
        if button is not None:
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    win.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)


def _update_enabled(win, a) -> None:
    try:
        has_nodes = bool(win.scene.selected_node_ids())
        has_any = has_nodes or bool(win.scene.selected_edges())
    except RuntimeError:  # scene deleted at shutdown
        return
    for act in (a.cut, a.copy, a.duplicate):
        act.setEnabled(has_nodes)
    a.delete.setEnabled(has_any)


def _update_export(a, analysis) -> None:
    try:
        a.export.setEnabled(analysis.ok)
    except RuntimeError:  # action deleted at shutdown
        pass


def insert_before(window, anchor, action) -> None:
    """Put `action` just before `anchor` in whichever menu of the window holds `anchor`."""
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is not None and anchor in menu.actions():
            menu.insertAction(anchor, action)
