"""How much room the training dashboard gets, and remembering what the user made of it.

Proportions (checked at 1366x768 and 1920x1080): the dashboard takes DASHBOARD_SHARE of the
height (at least its own minimum, ~430 px of 768) below the canvas, which keeps its width (over
half the window at 1366 px). Where the dashboard fits beside the right-hand column (1920 px),
that column owns the bottom-right corner, so the set-up forms keep the window's full height.
The Code dock is tabbed with the dashboard: either gets the whole bottom row, never a sliver.

The user's dashboard height and the dashboard's inner splitters are kept in QSettings
(`window/dashboardHeight`, `window/dashboardSplitters`) and come back after a restart; the
dock widths come back with the window state (`window/state`).
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QSplitter, QWidget

DASHBOARD_SHARE = 0.5     # of the window height, the first time a run starts
MAX_SHARE = 0.8           # a remembered height never leaves the canvas less than this
HEIGHT_KEY = "window/dashboardHeight"
SPLITTERS_KEY = "window/dashboardSplitters"


def arrange(window: QMainWindow, dashboard: QDockWidget) -> None:
    """The Code dock tabbed with the dashboard: set once, when the docks are created."""
    code = getattr(window, "code_dock", None)
    if isinstance(code, QDockWidget):
        window.tabifyDockWidget(code, dashboard)
        # shown by its action while the dashboard is up: bring its tab to the front
        code.toggleViewAction().toggled.connect(lambda on: on and code.raise_())


def fit_corner(window: QMainWindow, dashboard: QDockWidget, side: QDockWidget | None) -> None:
    """The right-hand column keeps the full height when the dashboard still fits beside it
    (1920 px wide); on a narrower window (1366 px) the dashboard needs the full width."""
    need = dashboard.minimumSizeHint().width()
    room = window.width() - (side.width() if side is not None and side.isVisible() else 0) - 8
    owner = Qt.DockWidgetArea.RightDockWidgetArea if room >= need else Qt.DockWidgetArea.BottomDockWidgetArea
    window.setCorner(Qt.Corner.BottomRightCorner, owner)


def dashboard_height(window: QMainWindow) -> int:
    """The remembered height, else the default share, capped so the canvas keeps some room."""
    cap = int(window.height() * MAX_SHARE)
    saved = QSettings().value(HEIGHT_KEY)
    try:
        wanted = int(saved) if saved is not None else 0
    except (TypeError, ValueError):
        wanted = 0
    return min(wanted, cap) if wanted > 0 else int(window.height() * DASHBOARD_SHARE)


def _splitters(root: QWidget) -> list[QSplitter]:
    return root.findChildren(QSplitter)


def save(dashboard: QDockWidget, shown: bool) -> None:
    """At close: the dashboard's height (if it was ever on screen) and its splitters."""
    s = QSettings()
    if shown and dashboard.isVisible() and not dashboard.isFloating():
        s.setValue(HEIGHT_KEY, dashboard.height())
    widget = dashboard.widget()
    splitters = _splitters(widget) if widget is not None else []
    if splitters:
        s.setValue(SPLITTERS_KEY, [sp.saveState() for sp in splitters])


def restore_splitters(root: QWidget) -> None:
    states = QSettings().value(SPLITTERS_KEY)
    splitters = _splitters(root)
    if not isinstance(states, list) or len(states) != len(splitters):
        return          # another version's dashboard: keep the defaults
    for sp, state in zip(splitters, states):
        if isinstance(state, QByteArray):
            sp.restoreState(state)
