"""`install_sweeps_ui(window)`: the Sweeps dock (bottom, hidden until asked for) and its Train ▸
Sweeps action. The view is built once the training UI is ready (it needs the set-up context)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMenu, QMessageBox


class SweepsUI(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window, self.view = window, None
        self.dock = QDockWidget("Sweeps", window)
        self.dock.setObjectName("sweepsDock")
        self.dock.setWidget(QLabel("Loading…"))
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        dashboard = getattr(window.training, "dashboard_dock", None)
        if isinstance(dashboard, QDockWidget):   # a tab beside the dashboard: the plots need the width
            window.tabifyDockWidget(dashboard, self.dock)
        self.dock.hide()
        self.action = self.dock.toggleViewAction()
        self.action.setText("S&weeps")
        self.action.setObjectName("actionSweeps")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+W"))
        self.action.triggered.connect(lambda on: self.show() if on else None)
        menu = window.findChild(QMenu, "menuTrain")
        if menu is not None:
            menu.addAction(self.action)
        training = window.training
        if training.is_ready:
            self._build()
        else:
            training.ready.connect(self._build)
        window.installEventFilter(self)

    def show(self) -> None:
        self.dock.show()
        self.dock.raise_()
        if not self.dock.isFloating() and self.dock.height() < self.window.height() * 0.4:
            self.window.resizeDocks([self.dock], [int(self.window.height() * 0.55)], Qt.Orientation.Vertical)

    def _build(self) -> None:
        from .view import SweepsView
        training = self.window.training
        self.view = SweepsView(self.window.document, training.ctx, lambda: training.runs_root().parent)
        self.dock.setWidget(self.view)
        self.window.document.graph_replaced.connect(lambda _g: self.view.project_changed())
        self.view.project_changed()

    def eventFilter(self, obj, event) -> bool:
        if (obj is self.window and event.type() == QEvent.Type.Close and self.view is not None
                and self.view.runner.running):
            answer = QMessageBox.question(self.window, "Sweep in progress",
                                          "A sweep worker is running. Stop it (its trial goes back to the study) and close?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return True
            self.view.shutdown()
        return False


def install_sweeps_ui(window) -> SweepsUI:
    existing = getattr(window, "sweeps", None)
    if isinstance(existing, SweepsUI):
        return existing
    window.sweeps = SweepsUI(window)
    return window.sweeps
