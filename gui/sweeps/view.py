"""The Sweeps view: set up a study (ranges, trials, sampler, objective, seeds per trial), start or
stop a worker, and follow the study live: a sortable trial table (mean ± std with seeds), the
parallel-coordinates and importance plots, the selected trial's curve, and "Apply best to
project" as one undoable step (training fields and layer parameters together)."""
from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .plots import ImportancePlot, ParallelPlot, TrialCurves
from .runner import SweepRunner, args_for

FIXED = ("trial", "state", "value", "± std", "epochs")


class SweepsView(QWidget):
    def __init__(self, document, ctx, folder, parent=None):
        super().__init__(parent)
        self.setObjectName("sweepsView")
        self.document, self.ctx, self.folder = document, ctx, folder    # folder(): where studies live
        self.summary = None
        self.runner = SweepRunner(self)
        self.runner.polled.connect(self.show_summary)
        self.runner.status.connect(self._status)
        root = QHBoxLayout(self)
        root.addWidget(self._form(), 0)
        right = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, len(FIXED), objectName="sweepTable")
        self.table.setSortingEnabled(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.itemSelectionChanged.connect(self._selected)
        right.addWidget(self.table)
        plots = QSplitter(Qt.Orientation.Horizontal)
        self.parallel, self.importance, self.curves = ParallelPlot(), ImportancePlot(), TrialCurves()
        for p in (self.parallel, self.importance, self.curves):
            plots.addWidget(p.widget)
        right.addWidget(plots)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        root.addWidget(right, 1)

    def _form(self) -> QWidget:
        from ...core.experiments.study import SAMPLERS
        from ...core.specs import MONITORS
        box = QWidget()
        lay = QVBoxLayout(box)
        f = QFormLayout()
        self.study = QLineEdit("sweep", objectName="sweepStudy")
        self.trials = QSpinBox(objectName="sweepTrials", minimum=1, maximum=10000, value=20)
        self.sampler = QComboBox(objectName="sweepSampler")
        self.sampler.addItems(list(SAMPLERS))
        self.objective = QComboBox(objectName="sweepObjective")
        self.objective.addItems(list(MONITORS))
        self.seeds = QSpinBox(objectName="sweepSeeds", minimum=1, maximum=20, value=1)
        self.seeds.setToolTip("Seeds per trial: the table and curves show mean ± std, so seed noise is visible")
        self.epochs = QSpinBox(objectName="sweepEpochs", minimum=0, maximum=100000, value=0, specialValueText="project's")
        self.ranges = QPlainTextEdit(objectName="sweepRanges")
        self.ranges.setPlaceholderText("one range a line: training.lr=1e-4:1e-1:log\nfc1.units=8:64\n"
                                       "training.optimizer=adam,sgd")
        self.ranges.setMaximumHeight(110)
        for label, w in (("Study", self.study), ("Trials", self.trials), ("Search", self.sampler),
                         ("Objective", self.objective), ("Seeds / trial", self.seeds), ("Epochs", self.epochs)):
            f.addRow(label, w)
        lay.addLayout(f)
        lay.addWidget(QLabel("Ranges (training.FIELD or LAYER.PARAM)"))
        lay.addWidget(self.ranges)
        row = QHBoxLayout()
        self.start_button = QPushButton("Start", objectName="sweepStart")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop", objectName="sweepStop", enabled=False)
        self.stop_button.clicked.connect(self.runner.stop)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        lay.addLayout(row)
        self.apply_button = QPushButton("Apply best to project", objectName="sweepApplyBest", enabled=False)
        self.apply_button.clicked.connect(self.apply_best)
        lay.addWidget(self.apply_button)
        self.status_label = QLabel("", objectName="sweepStatus", wordWrap=True)
        lay.addWidget(self.status_label)
        lay.addStretch(1)
        box.setMaximumWidth(330)
        return box

    # ------------------------------------------------------------ starting
    def project_changed(self) -> None:
        from ...core.experiments.space import default_space
        project = self.document.project
        if not self.ranges.toPlainText().strip():
            self.ranges.setPlainText("\n".join(str(r) for r in default_space(project)))
        i = self.objective.findText(project.training.monitor)
        if i >= 0:
            self.objective.setCurrentIndex(i)
        self.runner.watch(self.url(), self.study.text().strip() or "sweep")

    def url(self) -> str:
        from ...core.experiments.study import default_storage
        path = self.document.path
        return default_storage(path) if path else f"sqlite:///{Path(self.folder()) / 'untitled.sweeps.db'}"

    def start(self) -> bool:
        from ...core.experiments.space import SpaceError, parse_range
        project = self.document.project
        lines = [ln.strip() for ln in self.ranges.toPlainText().splitlines() if ln.strip()]
        try:
            ranges = [str(parse_range(project, ln)) for ln in lines]
        except SpaceError as e:
            self._status(f"Not started: {e}")
            return False
        if self.runner.running:
            return False
        folder = Path(self.folder())
        folder.mkdir(parents=True, exist_ok=True)
        args = args_for(self.trials.value(), self.sampler.currentText(), self.objective.currentText(),
                        self.seeds.value(), self.epochs.value() or None, ranges)
        self.runner.start(project, folder, self.url(), self.study.text().strip() or "sweep", args)
        return True

    def _status(self, text: str) -> None:
        running = text == "running"
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.status_label.setText("Running…" if running else "" if text == "idle" else text)

    # ------------------------------------------------------------ showing
    def show_summary(self, summary, importances) -> None:
        if summary is None:
            return
        from ...core.experiments.summary import parallel
        self.summary = summary
        targets = [r.target for r in summary.config.space] if summary.config else []
        heads = list(FIXED)
        heads[2] = summary.config.objective if summary.config else "value"
        self.table.setSortingEnabled(False)
        self.table.setColumnCount(len(heads) + len(targets))
        self.table.setHorizontalHeaderLabels(heads + targets)
        self.table.setRowCount(len(summary.rows))
        for i, r in enumerate(summary.rows):
            cells = [r.number, r.state, r.value, r.std, r.epochs, *[r.params.get(t) for t in targets]]
            for j, v in enumerate(cells):
                item = QTableWidgetItem()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                    item.setData(Qt.ItemDataRole.DisplayRole, float(f"{v:.4g}") if isinstance(v, float) else v)
                else:
                    item.setText("" if v is None else str(v))
                if j == 1 and r.message:
                    item.setToolTip(r.message)
                self.table.setItem(i, j, item)
        self.table.setSortingEnabled(True)
        axes, rows, values = parallel(summary)
        self.parallel.show(axes, rows, values, bool(summary.config and summary.config.direction == "maximize"))
        self.importance.show(importances)
        best = summary.best()
        self.apply_button.setEnabled(best is not None)
        done = summary.finished
        if not self.runner.running:
            self.status_label.setText(f"{done} of {len(summary.rows)} trials finished"
                                      + (f"; best: trial {best.number}" if best else ""))

    def _selected(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        if not rows or self.summary is None:
            return
        number = int(self.table.item(min(rows), 0).data(Qt.ItemDataRole.DisplayRole))
        row = next((r for r in self.summary.rows if r.number == number), None)
        if row is None:
            return
        from ...core.experiments.repeats import aggregate
        agg = aggregate(row.run_dirs) if row.run_dirs else None
        column = self.summary.config.objective if self.summary.config else "val_loss"
        if agg is not None and column in agg.mean:
            self.curves.show(agg.epochs, agg.mean[column], agg.std[column])
        else:
            self.curves.show(list(range(1, len(row.curve) + 1)), row.curve, [0.0] * len(row.curve))

    def apply_best(self) -> bool:
        """The best trial's values into the project, as one undo step."""
        from ...core.experiments.space import find_target
        from ..commands import SetParam
        from ..panels.spec_commands import SetSpecField
        best = self.summary.best() if self.summary is not None else None
        if best is None:
            return False
        project, stack = self.document.project, self.document.undo_stack
        stack.beginMacro(f"Apply best sweep trial {best.number}")
        for name, value in best.params.items():
            t = find_target(project, name)
            if t.current == value:
                continue
            if t.where[0] == "training":
                stack.push(SetSpecField(self.ctx.notifier, project.training, t.where[1], value))
            else:
                stack.push(SetParam(project.graph, t.where[1], t.where[2], value))
        stack.endMacro()
        return True

    # polls run while the view is on screen or a worker of ours runs (other machines' trials show up too)
    def showEvent(self, event) -> None:
        self.runner.timer.start()
        self.runner.poll()
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        if not self.runner.running:
            self.runner.timer.stop()
        super().hideEvent(event)

    def shutdown(self) -> None:
        self.runner.shutdown()
