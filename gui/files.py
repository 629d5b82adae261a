"""New / open / save / recent files, the unsaved-changes prompt, and crash recovery.

Recovery: every 30 s an edited, unsaved project is written to
`AppDataLocation/recovery/<session>.layerlab.json`, guarded by a QLockFile the session
holds. A recovery file whose lock nobody holds belongs to a session that died; the next
start offers it. A clean close removes the session's file.
"""
from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QSettings, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core import resources
from ..core.project import Project, ProjectError, atomic_write_text, clean_stale_temps, load_project, save_project

AUTOSAVE_MS = 30_000
MAX_RECENT = 8
LAST_PROJECT = "lastProject"   # QSettings key: the file open at the last quit
FILE_FILTER = "LayerLab projects (*.layerlab.json);;JSON files (*.json);;All files (*)"
RECOVERY_FORMAT = "layerlab.recovery"


def recovery_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) / "recovery"


def last_folder() -> Path:
    """Where Open and Save dialogs start: the folder used last, else the home folder."""
    value = QSettings().value("lastFolder", "")
    return Path(value) if isinstance(value, str) and value and Path(value).is_dir() else Path.home()


def remember_folder(folder: Path) -> None:
    QSettings().setValue("lastFolder", str(folder))


def blank_project() -> Project:
    p = Project(name="Untitled")
    p.graph.add_node("Input", pos=(0.0, 0.0), name="x")
    p.graph.add_node("Output", pos=(460.0, 0.0), name="out")
    return p


class FileController(QObject):
    recent_changed = Signal(list)

    def __init__(self, window, document):
        super().__init__(window)
        self.window = window
        self.document = document
        self.session = f"{os.getpid()}-{int(time.time() * 1000)}"
        self._lock: QLockFile | None = None
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

    # ------------------------------------------------------------ opening
    def load(self, path: str | Path) -> bool:
        """Open `path`; a file that cannot be read is a dialog, never a crash."""
        try:
            project = load_project(path)
        except ProjectError as e:
            QMessageBox.critical(self.window, "Cannot open project", str(e))
            return False
        path = Path(path).resolve()
        if path.parent == resources.templates_dir().resolve():
            # A bundled template opens untitled, as New from Template does: Save asks where,
            # so neither a save nor a run ever writes into the installed package.
            self.document.set_project(project, None)
            self.window.after_load()
            return True
        self.document.set_project(project, path)
        clean_stale_temps(path)     # hidden temp files of saves killed mid-write
        self.add_recent(path)
        self.remember_last()
        remember_folder(path.parent)
        self.window.after_load()
        return True

    def new(self) -> bool:
        if not self.maybe_save():
            return False
        self.document.set_project(blank_project(), None)
        self.window.after_load()
        return True

    def new_from_template(self, name: str) -> bool:
        if not self.maybe_save():
            return False
        try:
            project = load_project(resources.template_path(name))
        except (ProjectError, FileNotFoundError) as e:
            QMessageBox.critical(self.window, "Cannot open template", str(e))
            return False
        self.document.set_project(project, None)  # untitled: Save asks where
        self.window.after_load()
        return True

    def open(self, path: str | Path | None = None) -> bool:
        if not self.maybe_save():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.window, "Open project", str(last_folder()), FILE_FILTER)
            if not path:
                return False
        return self.load(path)

    # ------------------------------------------------------------ saving
    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self.save_to(self.document.path)

    def save_as(self, path: str | Path | None = None) -> bool:
        if path is None:
            start = str(self.document.path or last_folder() / f"{_slug(self.document.project.name)}.layerlab.json")
            path, _ = QFileDialog.getSaveFileName(self.window, "Save project as", start, FILE_FILTER)
            if not path:
                return False
        path = Path(path)
        if not path.name.endswith(".json"):
            path = path.with_name(path.name + ".layerlab.json")
        return self.save_to(path)

    def save_to(self, path: Path) -> bool:
        old_runs = self._runs_root()
        try:
            save_project(self.document.project, path)
        except OSError as e:
            QMessageBox.critical(self.window, "Cannot save project", f"{path}: {e.strerror or e}")
            return False
        was_untitled = self.document.path is None
        self.document.set_path(path.resolve())
        self.document.undo_stack.setClean()
        self.add_recent(path.resolve())
        self.remember_last()
        self.remove_recovery()
        remember_folder(path.parent)
        note = self._bring_runs(old_runs, link=not was_untitled)
        self.window.statusBar().showMessage(f"Saved {path}{note}", 8000 if note else 4000)
        return True

    def _runs_root(self) -> Path | None:
        ui = getattr(self.window, "training", None)
        return Path(ui.runs_root()) if ui is not None and hasattr(ui, "runs_root") else None

    def _bring_runs(self, old: Path | None, link: bool) -> str:
        """Runs follow the project: an untitled project's runs (in the app's data folder) move
        beside the saved file; after Save As elsewhere, the old folder's runs are linked."""
        new = self._runs_root()
        if old is None or new is None or not old.is_dir():
            return ""
        ui = self.window.training
        controller = getattr(ui, "controller", None)
        if not link and controller is not None and controller.running:
            return f"; the runs stay in {old} while a run is in progress"
        from ..core.train.runs import adopt_runs
        moved = adopt_runs(old, new, link=link)
        history = getattr(getattr(ui, "dashboard", None), "history", None)
        if history is not None:
            history.set_root(new)
        if not moved:
            return ""
        n = f"{len(moved)} run{'s' if len(moved) != 1 else ''}"
        return f"; {n} {'linked' if link else 'moved'} to {new}"

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False means the user cancelled."""
        if not self.document.dirty:
            return True
        answer = QMessageBox.question(
            self.window, "Unsaved changes",
            f"“{self.document.title}” has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # ------------------------------------------------------------ recent files
    def recent_files(self) -> list[str]:
        value = QSettings().value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: Path) -> None:
        files = [str(path)] + [f for f in self.recent_files() if f != str(path)]
        QSettings().setValue("recentFiles", files[:MAX_RECENT])
        self.recent_changed.emit(files[:MAX_RECENT])

    def remember_last(self) -> None:
        """The open project's file is the one a plain start reopens (an untitled one: none)."""
        QSettings().setValue(LAST_PROJECT, str(self.document.path) if self.document.path else "")

    def open_last_or_start(self) -> bool:
        """A plain start: reopen the last project; else (first start, untitled last time, or the
        file is gone) a blank project under the start page. True if the last project reopened."""
        last = QSettings().value(LAST_PROJECT, "")
        message = ""
        if isinstance(last, str) and last:
            if Path(last).is_file() and self.load(last):
                return True
            message = (f"The last project, {last}, is no longer there: pick a template or a recent project"
                       if not Path(last).is_file() else f"The last project, {last}, could not be reopened")
            QSettings().setValue(LAST_PROJECT, "")     # said once
        self.document.set_project(blank_project(), None)
        self.window.after_load()
        self.window.show_start_page(message)
        return False

    def clear_recent(self) -> None:
        QSettings().setValue("recentFiles", [])
        self.recent_changed.emit([])

    # ------------------------------------------------------------ crash recovery
    @property
    def recovery_path(self) -> Path:
        return recovery_dir() / f"{self.session}.layerlab.json"

    def autosave(self) -> Path | None:
        """Write the unsaved project to this session's recovery file (or drop it when clean)."""
        if not self.document.dirty:
            self.remove_recovery()
            return None
        folder = recovery_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if self._lock is None:
                self._lock = QLockFile(str(folder / f"{self.session}.lock"))
                self._lock.setStaleLockTime(0)
                self._lock.tryLock(0)
            doc = {"format": RECOVERY_FORMAT, "version": 1, "saved_at": datetime.now().isoformat(timespec="seconds"),
                   "path": str(self.document.path) if self.document.path else None,
                   "project": self.document.project.to_dict()}
            atomic_write_text(self.recovery_path, json.dumps(doc, ensure_ascii=False))
        except OSError as e:
            self.window.statusBar().showMessage(f"Autosave failed: {e}", 6000)
            return None
        return self.recovery_path

    def remove_recovery(self) -> None:
        try:
            self.recovery_path.unlink()
        except FileNotFoundError:
            pass
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    def orphaned_recovery(self) -> list[Path]:
        """Recovery files of sessions that ended without closing cleanly, newest first."""
        folder = recovery_dir()
        if not folder.is_dir():
            return []
        found = []
        for f in folder.glob("*.layerlab.json"):
            if f == self.recovery_path:
                continue
            lock = QLockFile(str(f.with_name(f.name.replace(".layerlab.json", ".lock"))))
            lock.setStaleLockTime(0)  # only a dead owner makes a lock stale, never age
            if lock.tryLock(0):
                lock.unlock()
                found.append(f)
        return sorted(found, key=lambda f: f.stat().st_mtime, reverse=True)

    def offer_recovery(self) -> bool:
        """At start-up: offer the newest orphaned recovery file. True if one was restored."""
        files = self.orphaned_recovery()
        if not files:
            return False
        newest = files[0]
        try:
            doc = json.loads(newest.read_text(encoding="utf-8"))
            if doc.get("format") != RECOVERY_FORMAT:
                raise ProjectError("not a recovery file")
            project = Project.from_dict(doc["project"])
        except (OSError, ValueError, KeyError, AttributeError, ProjectError):
            newest.unlink(missing_ok=True)
            return False
        where = doc.get("path") or "an untitled project"
        answer = QMessageBox.question(
            self.window, "Recover unsaved work?",
            f"LayerLab did not close properly. Unsaved changes to {where} were kept "
            f"(autosaved {doc.get('saved_at', '')}).\n\nRecover them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            newest.unlink(missing_ok=True)
            return False
        self.document.set_project(project, doc.get("path"), dirty=True)
        newest.unlink(missing_ok=True)
        self.window.after_load()
        self.autosave()  # now this session guards the recovered work
        return True


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_") or "untitled"
