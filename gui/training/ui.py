"""`install_training_ui(window)`: the set-up docks, the training dashboard, the Train menu and
tool-bar actions, and the wiring between them and the builder's document.

What it needs from the window: `window.document` (gui.document.Document: `.project`, `.path`,
`.undo_stack`, `.push`, signals `graph_replaced` and `analyzed`), a QMainWindow with a status bar;
optionally a QToolBar named `mainToolBar` (else one is added). Nothing of the builder is edited.

Start-up stays fast: the docks, menu and actions exist at once (so the saved layout places
them), while numpy, pyqtgraph and torch import in a background thread; the panels and the
dashboard are built when that finishes (`ready`), and a Train pressed before then waits for it.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QTabWidget

from .. import gc_guard
from . import background_imports, layout_memory, menu
from .failure_dialog import show_failure
from .status import RunProgress

WARM_UP_DELAY_MS = 300   # after the window is shown
WARM_PROCESS_DELAY_MS = 500   # after the panels are built: the training process starts while the app idles
STATUS_EVERY_S = 0.5      # a status bar read by people: 2 Hz is plenty
SIDE_WIDTH = 440        # the set-up forms, and six unclipped dock tab titles, need this much


class TrainingUI(QObject):
    ready = Signal()            # panels and dashboard built
    _imported = Signal(str)     # from the import thread: "" or the import error

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.runs_root_override: Path | None = None
        self.is_ready = False
        self.import_error = ""
        self._pending_train = False
        self.controller = self.ctx = self.dashboard = None
        self.panels: list = []
        self.docks: dict[str, QDockWidget] = {}
        # short titles: six tabs share the right-hand column with the builder's inspector
        for key, title in (("Data", "Data"), ("Init", "Init"), ("Regularization", "Regularize"),
                           ("Optim", "Optimizer"), ("Training", "Training")):
            self.docks[key] = self._dock(title, f"setup{key}Dock", Qt.DockWidgetArea.RightDockWidgetArea)
        anchor = getattr(window, "inspector_dock", None)
        first = anchor if isinstance(anchor, QDockWidget) else None
        for dock in self.docks.values():
            if first is None:
                first = dock
            else:
                window.tabifyDockWidget(first, dock)
        if first is not None:
            first.raise_()
            window.setTabPosition(Qt.DockWidgetArea.RightDockWidgetArea, QTabWidget.TabPosition.North)
        self._side_anchor = first
        self.dashboard_dock = self._dock("Training", "trainingDashboard", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.dashboard_dock.hide()    # appears with the first run (or Train ▸ Training dashboard)
        layout_memory.arrange(window, self.dashboard_dock)
        self._sized = False
        self.progress = RunProgress()
        window.statusBar().addPermanentWidget(self.progress)
        menu.build(self, window, self.dashboard_dock, self.docks.values(),
                   {"action_train": self.train, "action_pause": self.toggle_pause,
                    "action_stop": lambda: self.controller.stop() if self.controller else None})
        window.installEventFilter(self)
        self._imported.connect(self._build)
        self._warming = False
        if window.isVisible():
            self._warm_up()

    def _warm_up(self) -> None:
        """Import the heavy modules in a thread, once, after the window is on screen (importing
        torch holds the GIL for seconds: not while the window is being shown)."""
        if self._warming:
            return
        self._warming = True
        background_imports.start(self._imported.emit)

    def _build(self, error: str) -> None:
        """Runs in the GUI thread once the heavy modules are imported."""
        self.import_error = error
        self._build_panels()
        self._connect()
        self.is_ready = True
        self._project_replaced()
        self._status_changed("idle")
        self.ready.emit()
        gc_guard.freeze_startup()
        QTimer.singleShot(WARM_PROCESS_DELAY_MS, self._warm_process)
        if self._pending_train:
            self._pending_train = False
            self.train()

    def _build_panels(self) -> None:
        from ..dashboard.dock import TrainingDashboard
        from ..panels.setup_base import SetupContext
        from ..panels.setup_data import DataPanel
        from ..panels.setup_init import InitPanel
        from ..panels.setup_optim import OptimPanel
        from ..panels.setup_regularization import RegularizationPanel
        from ..panels.setup_training import TrainingPanel
        from .controller import TrainingController

        doc = self.document
        self.ctx = SetupContext(lambda: doc.project, doc.push, self.base_dir, doc.undo_stack, self)
        self.controller = TrainingController(self)
        self.data_panel = DataPanel(self.ctx)
        self.init_panel = InitPanel(self.ctx)
        self.reg_panel = RegularizationPanel(self.ctx)
        self.optim_panel = OptimPanel(self.ctx)
        self.training_panel = TrainingPanel(self.ctx)
        self.panels = [self.data_panel, self.init_panel, self.reg_panel, self.optim_panel, self.training_panel]
        for dock, panel in zip(self.docks.values(), self.panels):
            dock.setWidget(panel.widget)
        self.dashboard = TrainingDashboard(self.controller, self.ctx)
        self.dashboard_dock.setWidget(self.dashboard)
        layout_memory.restore_splitters(self.dashboard)

    def _connect(self) -> None:
        doc = self.document
        self.controller.tick.connect(self._tick)
        self._last_status = 0.0
        self.controller.status_changed.connect(self._status_changed)
        self.controller.run_ended.connect(self.progress.show_store)
        self.controller.failed.connect(lambda m, f, d: show_failure(self.window, m, f, d))
        self.controller.run_started.connect(self.dashboard.diagnostics.show_state)   # an old failure goes
        self.controller.run_ended.connect(self._note_run_ended)
        self._failed_at: int | None = None    # the undo index when the shown run failed
        self.init_panel.explore.connect(self.open_init_explorer)
        self._checks = QTimer(self, singleShot=True, interval=300)   # a burst of edits: one check
        self._checks.timeout.connect(self.refresh_checks)
        self.ctx.notifier.changed.connect(lambda *_: self._checks.start())
        self.ctx.dataset_changed.connect(lambda _ds: self._checks.start())
        doc.analyzed.connect(self._graph_edited)
        doc.graph_replaced.connect(lambda _g: self._project_replaced())

    def _warm_process(self) -> None:
        """Start the training process ahead of the first Train (torch imports there meanwhile)."""
        from ...core.train import process
        if not self.controller.running:   # a run already took one; the next is started when it ends
            process.spare()

    # ------------------------------------------------------------ layout
    def _dock(self, title: str, name: str, area) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(name)
        loading = QLabel("Loading…")
        loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        dock.setWidget(loading)
        self.window.addDockWidget(area, dock)
        return dock

    # ------------------------------------------------------------ state
    def base_dir(self) -> Path | None:
        path = self.document.path
        return Path(path).parent if path else None

    def runs_root(self) -> Path:
        """<project folder>/runs for a saved project; per user and project name otherwise."""
        if self.runs_root_override is not None:
            return Path(self.runs_root_override)
        base = self.base_dir()
        if base is not None:
            return base / "runs"
        data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", self.document.project.name).strip("-").lower() or "untitled"
        return Path(data) / "runs" / slug

    def _project_replaced(self) -> None:
        self.ctx.project_replaced()
        self.dashboard.history.set_root(self.runs_root())
        self._checks.start()

    def _graph_edited(self, _analysis) -> None:
        self.init_panel.schedule_refresh()
        self.reg_panel.schedule_refresh()
        self._checks.start()

    def refresh_checks(self) -> list:
        from ..panels.setup_checks import advice
        try:
            items = advice(self.ctx, self.ctx.dataset())
        except Exception as e:  # a half-edited graph must not break the panels
            items = []
            self.window.statusBar().showMessage(f"Set-up checks unavailable: {e}", 5000)
        for panel in self.panels:
            panel.checks.show_advice(items)
        edited = self._failed_at is not None and self.document.undo_stack.index() != self._failed_at
        if edited and not any(a.severity == "error" for a in items):
            self._failed_at = None
            self.dashboard.diagnostics.failure_fixed()
        return items

    def _note_run_ended(self, store) -> None:
        """A failed run's message stays until the set-up was edited and passes its checks (or the
        next run): remember where the undo history stood, so a check without an edit keeps it."""
        self._failed_at = self.document.undo_stack.index() if store.status == "failed" else None

    def _tick(self, store) -> None:
        now = time.monotonic()
        if now - self._last_status >= STATUS_EVERY_S:   # a status bar read by people: 2 Hz is plenty
            self._last_status = now
            self.progress.show_store(store)

    def _status_changed(self, status: str) -> None:
        active = status in ("starting", "running", "paused")
        self.action_train.setEnabled(not active)
        self.action_pause.setEnabled(status in ("running", "paused"))
        self.action_pause.setText("&Resume" if status == "paused" else "&Pause")
        self.action_stop.setEnabled(active)
        if self.controller is not None and self.controller.store is not None:
            self.progress.show_store(self.controller.store)

    # ------------------------------------------------------------ actions
    def train(self) -> bool:
        if not self.is_ready:
            self._pending_train = True   # starts as soon as the panels are built
            self._warm_up()
            self.progress.show()
            self.progress.label.setText("Loading the training engine…")
            return False
        if self.controller.running:
            return False
        from ...core.train.runs import new_run_dir
        flush = getattr(self.document, "flush", None)
        if flush is not None:
            flush()
        project = self.document.project
        root = self.runs_root()
        root.mkdir(parents=True, exist_ok=True)
        self.controller.start(project, self.base_dir(), new_run_dir(root, project.name))
        self.show_dashboard()
        return True

    def toggle_pause(self) -> None:
        if self.controller is None:
            return
        if self.controller.status == "paused":
            self.controller.resume()
        else:
            self.controller.pause()

    def show_dashboard(self, tab: int = 0) -> None:
        d = self.dashboard_dock
        d.show()
        d.raise_()
        self.dashboard.tabs.setCurrentIndex(tab)
        if not self._sized and not d.isFloating():
            self._sized = True
            layout_memory.fit_corner(self.window, d, getattr(self.window, "inspector_dock", None))
            self.window.resizeDocks([d], [layout_memory.dashboard_height(self.window)], Qt.Orientation.Vertical)
            fit = getattr(getattr(self.window, "view", None), "fit", None)
            if callable(fit):   # the canvas just lost half its height: show the whole network again
                QTimer.singleShot(0, fit)

    def open_init_explorer(self) -> None:
        self.show_dashboard(tab=3)
        self.dashboard.init_explorer.run()

    # ------------------------------------------------------------ closing
    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Type.Show:
            restored = getattr(self.window, "layout_restored", False)
            if self._side_anchor is not None and not restored:   # first start: widen once
                self.window.resizeDocks([self._side_anchor], [SIDE_WIDTH], Qt.Orientation.Horizontal)
            self._side_anchor = None
            if not self._warming:
                QTimer.singleShot(WARM_UP_DELAY_MS, self._warm_up)
        if obj is self.window and event.type() == QEvent.Type.Close and getattr(self.window, "persist_layout", True):
            layout_memory.save(self.dashboard_dock, self._sized or self.dashboard_dock.isVisible())
        if (obj is self.window and event.type() == QEvent.Type.Close and self.controller is not None
                and self.controller.running):
            answer = QMessageBox.question(self.window, "Training in progress",
                                          "A run is in progress. Stop it and close?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return True
            self.shutdown()
        return False

    def shutdown(self) -> bool:
        return self.controller.shutdown() if self.controller is not None else True


def install_training_ui(window: QMainWindow) -> TrainingUI:
    """Add training to the builder window; returns the TrainingUI (also kept as window.training).
    Installing twice returns the first one."""
    existing = getattr(window, "training", None)
    if isinstance(existing, TrainingUI):
        return existing
    ui = TrainingUI(window)
    window.training = ui
    return ui
