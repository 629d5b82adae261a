"""File ▸ Import ONNX…: pick an .onnx model and the project folder to create; core.importers maps
its operators to catalogue layers in a worker thread (it also checks the result against
onnxruntime, which takes seconds), writes the folder (project, weights, preprocessing) and the
window opens the imported project. A refusal (unmapped operators with their nodes, a damaged file)
is one dialog line; nothing is written then, and an existing folder is replaced only when the user
says so."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThread
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from .actions import insert_before

ONNX_FILTER = "ONNX models (*.onnx);;All files (*)"


class ImportThread(QThread):
    """import_onnx + write_imported; afterwards `files` (written) or `error` (one line)."""

    def __init__(self, model: Path, out: Path, force: bool, parent=None):
        super().__init__(parent)
        self.setObjectName("importOnnxThread")
        self.model, self.out, self.force = model, out, force
        self.files: list[Path] = []
        self.info: dict = {}
        self.error = ""

    def run(self) -> None:
        try:
            from ..core.importers import import_onnx, write_imported
            imported = import_onnx(self.model)
            self.files = write_imported(imported, self.out, force=self.force)
            self.info = imported.info
        except ValueError as e:          # OnnxImportError carries the one-line reason
            self.error = str(e)
        except Exception as e:           # never leave the window waiting
            self.error = f"the import failed unexpectedly ({type(e).__name__}: {e})"


class OnnxImporter:
    def __init__(self, window):
        self.window = window
        self.worker: ImportThread | None = None
        self.action = QAction("&Import ONNX…", window, objectName="actionImportOnnx",
                              statusTip="Turn an ONNX model into an editable network with its weights")
        self.action.triggered.connect(lambda _checked=False: self.start())

    def start(self, model: str | Path | None = None, out: str | Path | None = None) -> bool:
        """Ask for the model and the folder (unless given), then import in the background."""
        win = self.window
        if self.worker is not None or not win.files.maybe_save():
            return False
        if model is None:
            model, _ = QFileDialog.getOpenFileName(win, "Import ONNX model", "", ONNX_FILTER)
            if not model:
                return False
        model = Path(model)
        if out is None:
            out, _ = QFileDialog.getSaveFileName(win, "Create project folder",
                                                 str(model.with_name(model.stem + "-layerlab")), "Folders (*)")
            if not out:
                return False
        out = Path(out)
        force = out.exists()
        if force and QMessageBox.question(
                win, "Replace?", f"{out} already exists. Replace it with the imported project?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
            return False
        self.worker = ImportThread(model, out, force, win)
        self.worker.finished.connect(self._finished)
        self.action.setEnabled(False)
        win.statusBar().showMessage(f"Importing {model.name}…")
        self.worker.start()
        return True

    def _finished(self) -> None:
        worker, self.worker = self.worker, None
        worker.wait()
        self.action.setEnabled(True)
        win = self.window
        if worker.error or not worker.files:
            win.statusBar().clearMessage()
            QMessageBox.critical(win, "Cannot import model", worker.error or "nothing was written")
            return
        if win.files.load(worker.files[0]):
            n = worker.info.get("layers", 0)
            win.statusBar().showMessage(f"Imported {worker.model.name}: {n} layers with their weights in "
                                        f"{worker.out} (set the data before training)", 10000)


def install_import(window) -> OnnxImporter:
    """Add File ▸ Import ONNX… just before Export…; returns the importer (window.onnx_importer)."""
    importer = OnnxImporter(window)
    insert_before(window, window.actions.export, importer.action)
    window.onnx_importer = importer
    return importer
