"""The Train menu and the tool-bar buttons: Train, Pause / Resume, Stop, the dashboard toggle and
the set-up panels, built from one table."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolBar, QToolButton

from .icons import shape_icon

# attribute, text, objectName, shortcut, tool tip, icon
RUN_ACTIONS = (
    ("action_train", "&Train", "actionTrain", "F5", "Train the network with the set-up in the side panels  (F5)",
     "play"),
    ("action_pause", "&Pause", "actionPause", "F6", "Pause the run; press again to resume  (F6)", "pause"),
    ("action_stop", "&Stop", "actionStop", "Shift+F5",
     "Stop the run after the current step; its folder is kept  (Shift+F5)", "stop"),
)
ICON_ONLY = ("action_pause", "action_stop")   # the builder's tool bar is long


def build(owner, window: QMainWindow, dashboard_dock, setup_docks, handlers: dict) -> None:
    """Create the run actions as attributes of `owner` (handlers: attribute -> slot), the Train
    menu, and their tool-bar buttons (on `mainToolBar`, else on a tool bar of their own)."""
    menu = window.menuBar().addMenu("T&rain")
    menu.setObjectName("menuTrain")
    actions = []
    for attr, text, name, key, tip, icon in RUN_ACTIONS:
        act = QAction(text, window, objectName=name)
        act.setShortcut(QKeySequence(key))
        act.setToolTip(tip)
        act.setIcon(shape_icon(icon))
        act.triggered.connect(handlers[attr])
        setattr(owner, attr, act)
        menu.addAction(act)
        window.addAction(act)
        actions.append(act)
    menu.addSeparator()
    owner.action_dashboard = dashboard_dock.toggleViewAction()
    owner.action_dashboard.setText("Training &dashboard")
    owner.action_dashboard.setShortcut(QKeySequence("Ctrl+Shift+T"))
    menu.addAction(owner.action_dashboard)
    setup = menu.addMenu("Set-up panels")
    for dock in setup_docks:
        setup.addAction(dock.toggleViewAction())
    tb = window.findChild(QToolBar, "mainToolBar")
    if tb is None:
        tb = QToolBar("Training", window)
        tb.setObjectName("trainingToolBar")
        window.addToolBar(tb)
    tb.addSeparator()
    for act in actions:
        tb.addAction(act)
    for attr in ICON_ONLY:
        button = tb.widgetForAction(getattr(owner, attr))
        if isinstance(button, QToolButton):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    owner.action_pause.setEnabled(False)
    owner.action_stop.setEnabled(False)
