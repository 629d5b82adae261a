"""The open project: core Project + its undo stack + the latest analysis.

Views follow the core graph's psygnal events for structure; shape inference and
validation run once per event-loop turn after any number of edits (a paste of 40 nodes
re-analyses once), and `analyzed` tells the canvas, inspector, status bar and code view.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core.analysis import Analysis, analyze
from ..core.graph import Graph
from ..core.project import Project


class Document(QObject):
    analyzed = Signal(object)        # Analysis
    graph_replaced = Signal(object)  # Graph: a new project was loaded
    path_changed = Signal(object)    # Path | None

    def __init__(self, project: Project | None = None, path: str | Path | None = None, parent=None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.project = Project()
        self.path: Path | None = None
        self.analysis = Analysis()
        self._pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush)
        self.set_project(project or Project(), path)

    # ------------------------------------------------------------ state
    @property
    def graph(self) -> Graph:
        return self.project.graph

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def title(self) -> str:
        return self.path.name if self.path else (self.project.name or "Untitled")

    def set_project(self, project: Project, path: str | Path | None = None, dirty: bool = False) -> None:
        old = getattr(self, "project", None)
        if old is not None:
            old.graph.changed.disconnect(self._on_changed)
        self.project = project
        self.undo_stack.clear()
        project.graph.changed.connect(self._on_changed)
        self.set_path(path)
        self.graph_replaced.emit(project.graph)
        self.reanalyze()
        if dirty:  # a recovered file: unsaved until the user saves it
            self.undo_stack.resetClean()

    def set_path(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.path_changed.emit(self.path)

    # ------------------------------------------------------------ edits
    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    def _on_changed(self) -> None:
        self._pending = True
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Run the analysis now if an edit is waiting for it."""
        if self._pending:
            self.reanalyze()

    def reanalyze(self) -> Analysis:
        self._pending = False
        self._timer.stop()
        self.analysis = analyze(self.graph)
        self.analyzed.emit(self.analysis)
        return self.analysis
