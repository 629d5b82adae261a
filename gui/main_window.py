"""The builder window: palette and inspector docks around the canvas, the code dock,
menus, tool bar and a status bar that counts problems or shows the parameter count."""
from __future__ import annotations

import copy

import shiboken6
from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox

from . import actions
from .canvas.scene import GraphScene
from .canvas.view import GraphView
from .document import Document
from .editing import Editor
from .files import FileController
from .panels.code_view import CodeView
from .panels.inspector import Inspector
from .panels.palette import Palette
from .status_bar import ElidingStatusBar

STATE_VERSION = 2


class MainWindow(QMainWindow):
    def __init__(self, parent=None, restore_layout: bool = True):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setDockNestingEnabled(True)
        self.document = Document(parent=self)
        self.scene = GraphScene(self.document, self)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self.editor = Editor(self.document, self.scene, self.view, self)
        self.files = FileController(self, self.document)

        self.palette = Palette(self)
        self.palette.layer_activated.connect(self.editor.append_layer)
        self.palette_dock = self._dock("Layers", "layerPaletteDock", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector = Inspector(self.document, self.scene, self)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector,
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.code_view = CodeView(self.document, self)
        self.code_dock = self._dock("Code", "codeDock", self.code_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.code_dock.hide()
        self.resizeDocks([self.palette_dock, self.inspector_dock], [210, 300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.code_dock], [260], Qt.Orientation.Vertical)

        self._install_status_bar()

        self.actions = actions.build(self)
        self._install_file_extras()
        self.document.analyzed.connect(self._show_analysis)
        self.document.path_changed.connect(self._update_title)
        self.document.undo_stack.cleanChanged.connect(self._update_title)
        self.persist_layout = True  # off for throw-away windows (screenshots)
        self.resize(*default_size(self.screen().availableGeometry()))
        from . import gc_guard
        from PySide6.QtWidgets import QApplication
        gc_guard.install(QApplication.instance())  # worker threads must never collect Qt objects
        # set-up docks, dashboard and Train actions (before the layout is restored: it places them too);
        # heavy imports load in the background after show
        from .training import install_training_ui
        install_training_ui(self)
        from .sweeps.install import install_sweeps_ui
        install_sweeps_ui(self)
        from .transfer import install_transfer
        install_transfer(self)              # Trainable / LR × rows, frozen marks, Load Weights From…
        self._install_first_contact()
        self.layout_restored = False
        if restore_layout:
            self._restore_layout()
        self._show_analysis(self.document.analysis)
        self._update_title()

    def _install_status_bar(self) -> None:
        """Layer count, zoom and problems as permanent widgets; the editor's refusals and notices."""
        self.setStatusBar(ElidingStatusBar(self))
        self.status_problems = QLabel()
        self.status_problems.setObjectName("statusProblems")
        self.status_layers = QLabel()
        self.status_layers.setObjectName("statusLayers")
        self.status_zoom = QLabel("100%")
        self.status_zoom.setObjectName("statusZoom")
        for w in (self.status_layers, self.status_zoom, self.status_problems):
            self.statusBar().addPermanentWidget(w)
        self.view.zoom_changed.connect(self._show_zoom)
        self.editor.refused.connect(self._show_refusal)
        self.editor.notice.connect(lambda m: self.statusBar().showMessage(m, 10000))

    def _install_file_extras(self) -> None:
        from .import_onnx import install_import
        install_import(self)                # File ▸ Import ONNX…
        from .blocks import install_blocks
        install_blocks(self)                # Make Block, Export / Import Block, the palette's blocks

    def _install_first_contact(self) -> None:
        """The Help menu (last in the menu bar) and the start page, which any edit closes."""
        from .help import install_help
        install_help(self)
        from .start_page import install_start_page
        self.start_page = install_start_page(self)
        self.document.undo_stack.indexChanged.connect(lambda *_: self.hide_start_page())

    def _dock(self, title: str, name: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    # ------------------------------------------------------------ state shown
    def _show_analysis(self, analysis) -> None:
        n = len(self.document.graph.nodes)
        self.status_layers.setText(f"{n} layer{'s' if n != 1 else ''}")
        errors = analysis.errors
        warnings = [p for p in analysis.problems if p.severity != "error"]
        if errors:
            self.status_problems.setText(f"⚠ {len(errors)} problem{'s' if len(errors) != 1 else ''}")
            self.status_problems.setStyleSheet("color: #ff8a8a; font-weight: bold;")
            self.status_problems.setToolTip("\n".join(f"• {p}" for p in analysis.problems))
        else:
            extra = f" · {len(warnings)} warning{'s' if len(warnings) != 1 else ''}" if warnings else ""
            self.status_problems.setText(f"✔ {analysis.total_params:,} parameters{extra}")
            self.status_problems.setStyleSheet("color: #7ee2a0; font-weight: bold;")
            self.status_problems.setToolTip("\n".join(f"• {p}" for p in warnings) or "The network is valid.")

    def _show_zoom(self, zoom: float) -> None:
        self.status_zoom.setText(f"{zoom * 100:.0f}%")

    def _show_refusal(self, message: str) -> None:
        self.statusBar().showMessage(f"Refused: {message}", 8000)

    def _update_title(self, *_) -> None:
        if not shiboken6.isValid(self):  # the undo stack's cleanChanged can fire while the window is destroyed
            return
        self.setWindowTitle(f"{self.document.title}[*] — LayerLab")
        self.setWindowModified(self.document.dirty)

    def after_load(self) -> None:
        """A project was opened or created: show it (readably)."""
        self.hide_start_page()
        self.view.fit_readable()

    def show_start_page(self, message: str = "") -> None:
        """Templates, recent projects and the first steps over the canvas; `message` (e.g. why the
        last project did not reopen) goes to the status bar."""
        self.start_page.refresh_recent()
        self.start_page.setGeometry(self.view.rect())
        self.start_page.show()
        self.start_page.raise_()
        if message:
            self.statusBar().showMessage(message, 30000)

    def hide_start_page(self) -> None:
        page = getattr(self, "start_page", None)
        if page is not None and shiboken6.isValid(page):
            page.hide()

    def validate(self) -> None:
        a = self.document.reanalyze()
        data = [p for p in self.scene.data_problems if str(p) not in {str(q) for q in a.problems}]
        if data:     # what training would refuse: the same list the nodes show
            a = copy.copy(a)
            a.problems = list(a.problems) + data
        if a.ok and not a.problems:
            QMessageBox.information(self, "Validate", f"The network is valid: {len(a.order)} layers, "
                                                      f"{a.total_params:,} trainable parameters.")
            return
        bad = [p.node_id for p in a.problems if p.node_id in self.scene.nodes]
        if bad:
            self.scene.select_nodes(bad[:1])
            self.view.centerOn(self.scene.nodes[bad[0]])
        lines = "\n".join(f"• {p}" for p in a.problems)
        title = "Problems" if a.errors or any(p.severity == "error" for p in data) else "Warnings"
        QMessageBox.warning(self, f"Validate: {title}", f"{len(a.problems)} problem(s):\n\n{lines}")

    def export(self):
        """File ▸ Export…: the export dialog (it refuses while the graph has errors)."""
        from .export_dialog import open_export_dialog
        return open_export_dialog(self)

    # ------------------------------------------------------------ layout persistence + closing
    def _restore_layout(self) -> None:
        s = QSettings()
        geometry, state = s.value("window/geometry"), s.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.layout_restored = bool(self.restoreState(state, STATE_VERSION))

    def save_layout(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(STATE_VERSION))

    def closeEvent(self, event) -> None:
        if not self.files.maybe_save():
            event.ignore()
            return
        if self.persist_layout:
            self.save_layout()
            self.files.remember_last()      # reopened by the next plain start
        self.files.autosave_timer.stop()
        self.files.remove_recovery()
        self.scene.detach()
        self.inspector.detach()
        event.accept()


def default_size(available) -> tuple[int, int]:
    """1360×820, or less where the screen is smaller: a 1366×768 screen keeps every edge in view."""
    return min(1360, available.width()), min(820, available.height())
