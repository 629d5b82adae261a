"""Run history: every run folder of the project with its key settings and best metrics; select
two to overlay their curves and list what differs ("same network, different set-up")."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout,
                               QWidget)

from .card import Card, dim
from .plot_style import TRAIN, VAL, legend, plot_widget

KEYS = ("optimizer", "lr", "schedule", "init", "batch_size", "epochs", "weight_decay", "loss")
COLUMNS = ["run", "status", "epochs", "optimizer", "lr", "schedule", "init", "batch", "best val", "test"]


def read_run(path: Path) -> dict | None:
    """What the list and the overlay need from a run folder; None if it is not one."""
    from ...core.train.run_files import read_run as read_folder
    run = read_folder(path)
    if not run.config:
        return None
    return {"path": run.path, "name": run.name, "config": run.config, "result": run.result, "rows": run.rows}


def list_runs(root: Path | None) -> list[dict]:
    if root is None or not Path(root).is_dir():
        return []
    return [r for p in sorted(Path(root).iterdir()) if p.is_dir() and (r := read_run(p)) is not None]


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, (int, float)) and math.isfinite(v) else "–"


def _metric(run: dict) -> tuple[str, float | None]:
    rows = run["rows"]
    for name in ("val_accuracy", "val_r2"):
        vals = [r[name] for r in rows if name in r and math.isfinite(r[name])]
        if vals:
            return name, max(vals)
    vals = [r["val_loss"] for r in rows if "val_loss" in r and math.isfinite(r["val_loss"])]
    return "val_loss", (min(vals) if vals else None)


def differences(a: dict, b: dict) -> list[str]:
    out = []
    for section in ("training", "data"):
        da, db = a["config"].get(section, {}), b["config"].get(section, {})
        for k in sorted(set(da) | set(db)):
            if da.get(k) != db.get(k):
                out.append(f"{section}.{k}: {da.get(k)!r} → {db.get(k)!r}")
    return out


class HistoryCard(Card):
    compare = Signal(object, object)   # the two runs overlaid

    def __init__(self, parent=None):
        super().__init__("Run history", "runHistoryPanel", parent)
        self.root: Path | None = None
        self.runs: list[dict] = []
        self.stale = True
        split = QSplitter(Qt.Orientation.Horizontal)
        self.tree = QTreeWidget(objectName="runHistory")
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._selection)
        split.addWidget(self.tree)
        right = QWidget()
        v = QVBoxLayout(right)
        v.setContentsMargins(0, 0, 0, 0)
        self.plot_widget = plot_widget("validation loss (log)", "epoch", log_y=True)
        self.plot_widget.setObjectName("runOverlay")
        self.plot = self.plot_widget.getPlotItem()
        self.legend = legend(self.plot)
        self.metric_widget = plot_widget("validation metric", "epoch")
        v.addWidget(self.plot_widget, 1)
        v.addWidget(self.metric_widget, 1)
        self.diff = dim("Select two runs to overlay them and list what differs.")
        self.diff.setObjectName("runDiff")
        v.addWidget(self.diff)
        split.addWidget(right)
        split.setSizes([520, 480])
        self.body.addWidget(split, 1)
        self.overlaid: list[dict] = []

    def set_root(self, root: Path | None) -> None:
        self.root = Path(root) if root else None
        self.stale = True
        if self.isVisible():
            self.reload()

    def showEvent(self, event) -> None:   # reading every run folder waits until someone looks
        super().showEvent(event)
        if self.stale:
            self.reload()

    def reload(self) -> None:
        self.stale = False
        selected = {it.data(0, Qt.ItemDataRole.UserRole) for it in self.tree.selectedItems()}
        self.runs = list_runs(self.root)
        self.tree.blockSignals(True)
        self.tree.clear()
        for run in self.runs:
            t = run["config"].get("training", {})
            res = run["result"]
            name, best = _metric(run)
            test = res.get("test_metrics", {}) or {}
            test_v = test.get("test_accuracy", test.get("test_r2"))
            status = res.get("status", "running or interrupted")
            it = QTreeWidgetItem([run["name"], status, str(len(run["rows"])), str(t.get("optimizer", "")),
                                  _num(t.get("lr")), str(t.get("schedule", "")), str(t.get("init", "")),
                                  str(t.get("batch_size", "")), f"{name.removeprefix('val_')} {_num(best)}",
                                  _num(test_v)])
            it.setData(0, Qt.ItemDataRole.UserRole, str(run["path"]))
            it.setToolTip(0, str(run["path"]))
            self.tree.addTopLevelItem(it)
            it.setSelected(str(run["path"]) in selected)
        self.tree.blockSignals(False)
        self._selection()

    def select_runs(self, paths: list[str | Path]) -> None:
        want = {str(p) for p in paths}
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            it.setSelected(it.data(0, Qt.ItemDataRole.UserRole) in want)

    def _selection(self) -> None:
        paths = [it.data(0, Qt.ItemDataRole.UserRole) for it in self.tree.selectedItems()][:2]
        runs = [r for p in paths for r in self.runs if str(r["path"]) == p]
        self.overlay(runs)

    def overlay(self, runs: list[dict]) -> None:
        self.plot.clear()
        self.metric_widget.getPlotItem().clear()
        self.legend.clear()
        self.overlaid = runs
        for run, color, tag in zip(runs, (TRAIN, VAL), ("A", "B")):
            rows = run["rows"]
            ep = np.array([r["epoch"] for r in rows], float)
            for plot, key in ((self.plot, "val_loss"), (self.metric_widget.getPlotItem(), _metric(run)[0])):
                y = np.array([r.get(key, math.nan) for r in rows], float)
                ok = np.isfinite(y) & ((y > 0) if plot is self.plot else True)
                plot.plot(ep[ok], y[ok], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=4,
                          symbolBrush=color, symbolPen=None, name=f"{tag}: {run['name']}" if plot is self.plot else None)
        if len(runs) == 2:
            diff = differences(*runs)
            self.diff.setText("A → B: " + ("; ".join(diff) if diff else "same settings (a rerun)"))
            self.compare.emit(*runs)
        else:
            self.diff.setText("Select two runs to overlay them and list what differs." if not runs else
                              f"{runs[0]['name']}: select a second run to compare")

    def table(self):
        rows = []
        for tag, run in zip("AB", self.overlaid):
            for r in run["rows"]:
                rows.append([tag, run["name"], *[r.get(k, "") for k in ("epoch", "train_loss", "val_loss")],
                             r.get("val_accuracy", r.get("val_r2", ""))])
        return ["which", "run", "epoch", "train_loss", "val_loss", "val_metric"], rows
