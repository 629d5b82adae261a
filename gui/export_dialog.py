"""File ▸ Export…: write the trained network with core.export (ONNX, torch.export, PyTorch source,
a LayerLab folder, a model card or a training script), from one of this project's runs or a chosen
.safetensors file. The export runs in a worker thread (ONNX, pt2 and source check their outputs
against LayerLab's model, which takes seconds); the dialog then lists the files written and the
measured difference, or shows the export's one-line error in red and stays usable."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QFrame,
                               QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QRadioButton,
                               QVBoxLayout)

from ..core.export import SUFFIX
from ..core.export.overwrite import existing_files
from ..core.project import Project
from . import theme
from .export_support import (FORMATS, QUANTIZE, STYLE, VERIFIED, WEIGHTS_FILTER, ExportThread, default_name, list_runs,
                             graph_problem, renamed, result_html, row, runs_root, weights_hint)


class ExportDialog(QDialog):
    export_finished = Signal(bool)    # after the worker has stopped: True on success

    def __init__(self, window):
        super().__init__(window)
        self.main_window, self.document = window, window.document
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export network")
        self.setStyleSheet(STYLE)
        self.worker: ExportThread | None = None
        self.busy = False
        self.exported = None
        self._fmt = ""
        self._filling = False
        self._last_source = 0
        self._graph_blocked = False
        self._own_project = False     # the chosen run trained another graph: it exports with its own project
        self._build()
        self.input_scale = QLabel(objectName="exportInputScale")   # what the exported network takes
        self.form.insertRow(2, "Inputs", self.input_scale)
        self.document.analyzed.connect(self._check_graph)
        saved = QSettings().value("export/format", "onnx")
        self.format.setCurrentIndex(max(0, self.format.findData(saved)))
        self._format_changed()
        self.refresh_runs()
        self._check_graph(self.document.analysis)

    def _build(self) -> None:
        self.format = QComboBox(objectName="exportFormat")
        for key, (label, _, _) in FORMATS.items():
            self.format.addItem(label, key)
        self.format_help = QLabel(objectName="exportFormatHelp")   # one line: no height-for-width in forms
        self.source = QComboBox(objectName="exportWeights")
        self.best = QRadioButton("Best epoch", objectName="exportBest", checked=True)
        self.last = QRadioButton("Last checkpoint", objectName="exportLast")
        self.weights_hint = QLabel(objectName="exportWeightsHint")
        self.quantize = QComboBox(objectName="exportQuantize")
        for key, label in QUANTIZE.items():
            self.quantize.addItem(label, key)
        self.path = QLineEdit(objectName="exportPath")
        self.browse = QPushButton("Browse…", objectName="exportBrowse")
        self.message = QLabel(objectName="exportError", wordWrap=True, visible=False)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.busy_bar = QProgressBar(objectName="exportBusy", minimum=0, maximum=0, textVisible=False)
        self.busy_bar.setFixedSize(120, 10)
        self.busy_text = QLabel(objectName="exportBusyText")
        self.busy_row = row(self.busy_bar, self.busy_text, None)
        self.busy_row.hide()
        self.result = QFrame(objectName="exportResult", visible=False)
        self.result_text = QLabel(objectName="exportResultText", wordWrap=True, textFormat=Qt.TextFormat.RichText)
        self.result_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_folder = QPushButton("Open folder", objectName="exportOpenFolder")
        lay = QVBoxLayout(self.result)
        lay.addWidget(self.result_text)
        lay.addWidget(row(None, self.open_folder))

        self.form = form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Format", self.format)
        form.addRow("", self.format_help)
        form.addRow("Quantize", self.quantize)
        form.addRow("Weights", self.source)
        self.which_row = row(self.best, self.last, None)
        form.addRow("", self.which_row)
        form.addRow("", self.weights_hint)
        form.addRow("Save to", row(self.path, self.browse))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.setObjectName("exportButton")
        self.export_button.setDefault(True)
        main = QVBoxLayout(self)
        main.addLayout(form)
        for w in (self.message, self.busy_row, self.result):
            main.addWidget(w)
        main.addStretch(1)
        main.addWidget(buttons)
        self.setMinimumWidth(640)

        self.format.currentIndexChanged.connect(self._format_changed)
        self.source.currentIndexChanged.connect(self._source_changed)
        self.best.toggled.connect(lambda _on: self._update())
        self.path.textChanged.connect(lambda _t: self._update())
        self.browse.clicked.connect(self.choose_output)
        self.export_button.clicked.connect(self.start)
        self.open_folder.clicked.connect(self.open_result_folder)
        buttons.rejected.connect(self.reject)

    # ------------------------------------------------------------ choices
    @property
    def fmt(self) -> str:
        return self.format.currentData()

    def refresh_runs(self) -> None:
        from ..core.input_scale import input_scale
        scale = input_scale(self.document.project.data.dataset)
        self.input_scale.setText(scale[0] if scale else "the data's values as stored (no rescaling)")
        self.input_scale.setToolTip(f"For example:\n{scale[1]}" if scale else "")
        self._filling = True
        self.source.clear()
        runs = list_runs(runs_root(self.main_window))
        for run in runs:
            self.source.addItem(run.label(), ("run", run.path))
            self.source.setItemData(self.source.count() - 1, str(run.path), Qt.ItemDataRole.ToolTipRole)
        if not runs:
            self.source.addItem("No runs of this project yet: train it, or choose a file", ("none", None))
        self.source.addItem("Choose file…", ("choose", None))
        self._filling = False
        self.source.setCurrentIndex(0)
        self._source_changed()

    def _source_changed(self, *_) -> None:
        if self._filling:
            return
        kind, value = self.source.currentData() or ("none", None)
        if kind == "choose":
            self.choose_weights()
            return
        self._last_source = self.source.currentIndex()
        self._note_run_project()
        if kind == "run":
            has = {w: (value / f"{w}.safetensors").is_file() for w in ("best", "last")}
            self.best.setEnabled(has["best"])
            self.last.setEnabled(has["last"])
            (self.best if has["best"] else self.last).setChecked(True)
        self._update()

    def choose_weights(self) -> None:
        start = runs_root(self.main_window) or self._default_dir()
        path, _ = QFileDialog.getOpenFileName(self, "Choose weights", str(start), WEIGHTS_FILTER)
        self._filling = True
        if path:
            i = self.source.count() - 1              # "Choose file…" is always last
            if i > 0 and self.source.itemData(i - 1)[0] == "file":
                self.source.removeItem(i - 1)
                i -= 1
            self.source.insertItem(i, f"File: {Path(path).name}", ("file", Path(path)))
            self.source.setItemData(i, path, Qt.ItemDataRole.ToolTipRole)
            self._last_source = i
        self.source.setCurrentIndex(self._last_source)
        self._filling = False
        self._source_changed()

    def _note_run_project(self) -> None:
        """Whether the chosen run's own project differs from the current graph (core.export then
        exports with the run's project); asked when the run or the graph changes, not per keystroke."""
        from ..core.export.run_project import run_project
        kind, value = self.source.currentData() or ("none", None)
        self._own_project = kind == "run" and bool(run_project(self.document.project, value / "best.safetensors")[1])

    def weights_path(self) -> Path | None:
        kind, value = self.source.currentData() or ("none", None)
        if kind == "run":
            return value / ("best.safetensors" if self.best.isChecked() else "last.safetensors")
        return value if kind == "file" else None

    def _default_dir(self) -> Path:
        saved = QSettings().value("export/dir")
        if saved and Path(str(saved)).is_dir():
            return Path(str(saved))
        return self.document.path.parent if self.document.path else Path.home()

    def _default_name(self, fmt: str) -> str:
        return default_name(fmt, self.document.project.name)

    def _format_changed(self, *_) -> None:
        old, new = self._fmt, self.fmt
        self._fmt = new
        self.format_help.setText(FORMATS[new][1])
        text = self.path.text().strip()
        if not text:
            self.path.setText(str(self._default_dir() / self._default_name(new)))
        elif old:
            self.path.setText(str(renamed(Path(text), old, new, self.document.project.name)))
        self._update()

    def choose_output(self) -> None:
        current = Path(self.path.text().strip() or self._default_dir() / self._default_name(self.fmt))
        if self.fmt == "native":     # a folder: pick where it goes, keep the name shown
            folder = QFileDialog.getExistingDirectory(self, "Export into folder", str(current.parent))
            chosen = str(Path(folder) / current.name) if folder else ""
        else:
            suffix = SUFFIX[self.fmt]
            chosen, _ = QFileDialog.getSaveFileName(self, "Export to", str(current),
                                                    f"{FORMATS[self.fmt][0]} (*{suffix});;All files (*)")
            if chosen and not chosen.endswith(suffix):
                chosen += suffix
        if chosen:
            self.path.setText(chosen)

    # ------------------------------------------------------------ state shown
    def _check_graph(self, analysis) -> None:
        problem = graph_problem(analysis)
        if problem:
            self.show_error(problem)
        elif self._graph_blocked:
            self.message.hide()
        self._graph_blocked = bool(problem)
        self._note_run_project()
        self._update()

    def _update(self) -> None:
        weights = self.weights_path()
        kind = (self.source.currentData() or ("none",))[0]
        for w in (self.format, self.source, self.which_row, self.path, self.browse):
            w.setEnabled(not self.busy)
        self.form.setRowVisible(self.which_row, kind == "run")
        self.form.setRowVisible(self.quantize, self.fmt == "onnx")
        self.quantize.setEnabled(not self.busy)
        self.weights_hint.setText(weights_hint(self.fmt, kind, weights, self._own_project))
        self.weights_hint.setToolTip(str(weights or ""))
        ok = not self.busy and not self._graph_blocked and bool(self.path.text().strip())
        self.export_button.setEnabled(ok and (weights is not None or self.fmt == "train-script"))

    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
        self.result.hide()
        self._fit()

    def _fit(self) -> None:
        """Grow to show a report or an error in full (wrapped labels: height for this width)."""
        lay = self.layout()
        lay.activate()
        h = lay.totalHeightForWidth(self.width()) if lay.hasHeightForWidth() else lay.totalSizeHint().height()
        if h > self.height():
            self.resize(self.width(), h)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.busy = busy
        self.busy_text.setText(text)
        self.busy_row.setVisible(busy)
        self._update()

    # ------------------------------------------------------------ exporting
    def start(self) -> bool:
        """Export with the current choices in a worker thread; False if refused."""
        if self.busy:
            return False
        self.document.flush()
        problem = graph_problem(self.document.analysis)
        fmt, weights = self.fmt, self.weights_path()
        text = self.path.text().strip()
        if not problem and not text:
            problem = "Choose where to save the export."
        if not problem and weights is None and fmt != "train-script":
            problem = "Choose the weights to export: a run of this project, or a .safetensors file."
        if problem:
            self.show_error(problem)
            return False
        out = Path(text).expanduser()
        if SUFFIX[fmt] and out.suffix.lower() != SUFFIX[fmt]:
            out = out.with_name(out.name + SUFFIX[fmt])
            self.path.setText(str(out))
        project = Project.from_dict(self.document.project.to_dict())   # the worker gets its own copy
        there = existing_files(project, fmt, out)      # every file the export would replace, by name
        if there and QMessageBox.question(
                self, "Replace?", "The export would replace:\n" + "\n".join(str(p) for p in there)
                + "\n\nReplace " + ("it?" if len(there) == 1 else f"all {len(there)}?"),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
            return False
        base = self.document.path.parent if self.document.path else None
        self.message.hide()
        self.result.hide()
        quantize = self.quantize.currentData() if fmt == "onnx" else None
        self.worker = ExportThread(dict(project=project, weights_path=weights, fmt=fmt, out=out, base_dir=base,
                                        quantize=quantize, force=True), self)
        self.worker.finished.connect(self._finished)
        QSettings().setValue("export/format", fmt)
        self._set_busy(True, f"Exporting {FORMATS[fmt][0]}…" + (" then checking its outputs against LayerLab's "
                                                                 "model" if fmt in VERIFIED else ""))
        self.worker.start()
        return True

    def _finished(self) -> None:
        worker, self.worker = self.worker, None
        worker.wait()          # `finished` comes from the thread just before it ends
        self._set_busy(False)
        if worker.error or worker.result is None:
            self.show_error(f"Export failed: {worker.error or 'nothing was written'}")
            self.export_finished.emit(False)
            return
        self.exported = worker.result
        QSettings().setValue("export/dir", str(Path(worker.job["out"]).parent))
        self._show_result(worker.result)
        self.export_finished.emit(True)

    def _show_result(self, exported) -> None:
        text, self.result_folder = result_html(exported, theme.WARNING)
        self.result_text.setText(text)
        self.message.hide()
        self.result.show()
        self._fit()

    def open_result_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result_folder)))

    def reject(self) -> None:
        if self.busy:      # core exports cannot be interrupted; they take seconds
            self.busy_text.setText("Still exporting: this takes a few seconds and cannot be interrupted.")
            return
        super().reject()


def open_export_dialog(window) -> ExportDialog:
    """Show the export dialog for `window` (one at a time); returns it."""
    for dlg in window.findChildren(ExportDialog):
        if dlg.isVisible():
            dlg.raise_()
            return dlg
    dlg = ExportDialog(window)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.open()
    return dlg
