"""Data set-up: source, file, target column, task, per-source options, splits and
preprocessing; and what the loaded set looks like (sizes, shape, classes, fitted statistics,
a scatter / image grid / table preview)."""
from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLineEdit, QPushButton,
                               QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem, QWidget)

from ...core.specs import BUILTIN_DATASETS, FILE_SOURCES, PREPROCESSING
from .augment_preview import AugmentBox
from .class_counts import ClassCounts
from .param_editors import FloatSpinBox
from .setup_base import Binder, dim_label, form, scroll_panel
from .setup_checks import ChecksBox

CLASS_COLORS = ["#4c8dff", "#f59e0b", "#22c55e", "#ef4444", "#a855f7", "#06b6d4", "#ec4899", "#84cc16",
                "#f97316", "#94a3b8"]
PREVIEW_ROWS = 20


class DataPanel:
    """Builds the page; `widget` goes into a dock."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.widget, lay = scroll_panel("setupData")
        self.binder = Binder(ctx, self.widget)
        self.checks = ChecksBox(ctx, "data")
        lay.addWidget(self.checks)
        lay.addWidget(self._source_box())
        lay.addWidget(self._splits_box())
        self._build_preview(lay)
        self.class_counts = ClassCounts()       # samples per class per split, imbalance warning
        lay.addWidget(self.class_counts)
        ctx.dataset_changed.connect(self.class_counts.show_dataset)
        self.augment = AugmentBox(ctx)          # training.augment controls and 16 augmented samples
        lay.addWidget(self.augment)
        ctx.notifier.changed.connect(self._spec_changed)
        ctx.replaced.connect(self._sync)
        ctx.dataset_changed.connect(self.show_dataset)
        self._sync()

    def _source_box(self) -> QGroupBox:
        """Data set, file, target column, task and the source's own options."""
        from ...core.data import DATASETS
        ctx, b = self.ctx, self.binder
        src = QGroupBox("Source")
        f = self.form = form()
        src.setLayout(f)
        self.dataset = b.combo("data", "dataset", BUILTIN_DATASETS + FILE_SOURCES)
        self.dataset.activated.disconnect()
        self.dataset.activated.connect(lambda i: self.choose(self.dataset.itemData(i)))
        for i in range(self.dataset.count()):
            self.dataset.setItemData(i, DATASETS.get(self.dataset.itemData(i), ""), Qt.ItemDataRole.ToolTipRole)
        f.addRow("Data set", self.dataset)
        f.addRow("File", self._path_row())
        self.target = QComboBox(objectName="data_target")
        self.target.activated.connect(lambda i: ctx.set("data", "target", self.target.itemData(i) or ""))
        f.addRow("Target column", self.target)
        f.addRow("Task", b.combo("data", "task", ("auto", "classification", "regression")))
        self.options = QWidget()
        self.option_editors: dict[str, QWidget] = {}
        self.options_form = form()
        self.options_form.setContentsMargins(0, 0, 0, 0)
        self.options.setLayout(self.options_form)
        f.addRow(self.options)
        return src

    def _path_row(self) -> QWidget:
        """The file or folder field with its Browse button."""
        self.path = QLineEdit(objectName="data_path")
        self.path.setPlaceholderText("file or folder, relative to the project")
        self.path.editingFinished.connect(lambda: self.ctx.set("data", "path", self.path.text().strip()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(self.path, 1)
        h.addWidget(browse)
        self.path_row = row
        return row

    def _splits_box(self) -> QGroupBox:
        b = self.binder
        split = QGroupBox("Splits and preprocessing")
        g = form()
        split.setLayout(g)
        g.addRow("Validation fraction", b.float_spin("data", "val_fraction", 0.0, 0.95, step=0.05))
        g.addRow("Test fraction", b.float_spin("data", "test_fraction", 0.0, 0.95, step=0.05))
        g.addRow("Preprocessing", b.combo("data", "preprocessing", PREPROCESSING,
                                          {"pca_whiten": "PCA whitening", "minmax": "min-max",
                                           "center": "mean subtraction"}))
        g.addRow("Split seed", b.int_spin("data", "seed", 0, 2**31 - 1))
        return split

    def _build_preview(self, lay) -> None:
        """The loaded set's summary line and its preview: scatter, image grid or table."""
        self.info = dim_label()
        self.info.setObjectName("dataInfo")
        lay.addWidget(self.info)
        from .data_loader import LoadBar
        self.load_bar = LoadBar(self.ctx.loader, self.ctx.reload)
        lay.addWidget(self.load_bar)
        self.preview = QStackedWidget(objectName="dataPreview")
        self.preview.setMinimumHeight(200)
        self.scatter = pg.PlotWidget()
        self.scatter.setMenuEnabled(False)
        for ax in ("left", "bottom"):   # plain tick values: "x2 (x0.001)" reads as a feature name
            self.scatter.getAxis(ax).enableAutoSIPrefix(False)
        self.images = pg.GraphicsLayoutWidget()
        self.image_view = self.images.addViewBox(lockAspect=True, invertY=True)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_view.addItem(self.image_item)
        self.table = QTableWidget()
        for w in (self.scatter, self.images, self.table):
            self.preview.addWidget(w)
        lay.addWidget(self.preview, 1)

    def choose(self, source: str) -> None:
        """A new source, with the options the old one had and the new one lacks dropped in the
        same undo step (moons' n_samples would make iris refuse to load)."""
        from ...core.data import OPTIONS
        d = self.ctx.project.data
        if source == d.dataset:
            return
        known = OPTIONS.get(source, {})
        options = {k: v for k, v in d.options.items() if k in known}
        self.ctx.set_many([("data", "dataset", source), ("data", "options", options)], f"Data set {source}")

    # ------------------------------------------------------------ following the spec
    def _spec_changed(self, spec, field: str) -> None:
        if spec is self.ctx.project.data:
            self._sync()

    def _sync(self) -> None:
        d = self.ctx.project.data
        is_file = d.dataset in FILE_SOURCES
        self.form.setRowVisible(self.path_row, is_file)
        self.form.setRowVisible(self.target, d.dataset == "csv")
        if self.path.text() != d.path:
            self.path.setText(d.path)
        self._fill_targets()
        self._build_options()

    def _browse(self) -> None:
        d = self.ctx.project.data
        base = self.ctx.base_dir() or Path.cwd()
        last = QSettings().value("data/lastFolder", "")
        start = last if isinstance(last, str) and last and Path(last).is_dir() else str(base)
        if d.dataset == "images":
            path = QFileDialog.getExistingDirectory(self.widget, "Image folder (one sub-folder per class)", start)
        else:
            filt = {"csv": "CSV (*.csv *.tsv *.txt)", "npz": "NumPy (*.npz)"}.get(d.dataset, "All files (*)")
            path, _ = QFileDialog.getOpenFileName(self.widget, "Data file", start, filt)
        if path:
            QSettings().setValue("data/lastFolder", str(Path(path).parent))
            try:  # relative to the project: the project folder can move with its data
                path = os.path.relpath(path, base)
            except ValueError:
                pass
            self.ctx.set("data", "path", path)

    def _fill_targets(self) -> None:
        d = self.ctx.project.data
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItem("(last column)", "")
        if d.dataset == "csv" and d.path:
            for name in self._csv_columns(d.path):
                self.target.addItem(name, name)
        i = self.target.findData(d.target)
        if i < 0 and d.target:
            self.target.addItem(d.target, d.target)
            i = self.target.count() - 1
        self.target.setCurrentIndex(max(0, i))
        self.target.blockSignals(False)

    def _csv_columns(self, path: str) -> list[str]:
        from ...core.data.csv_file import peek_csv
        p = Path(path)
        if not p.is_absolute():
            p = (self.ctx.base_dir() or Path.cwd()) / p
        if not self.ctx.can_peek(p):
            return []
        try:
            return peek_csv(p, 0)[0]
        except Exception:  # unreadable: the loader's message says why, in the info line
            return []

    def _build_options(self) -> None:
        """Rebuilt only when the source changes: rebuilding on every edit would delete the very
        editor whose signal is being handled."""
        from ...core.data import OPTIONS
        d = self.ctx.project.data
        known = OPTIONS.get(d.dataset, {})
        if d.dataset == getattr(self, "_options_source", None):
            for name, w in self.option_editors.items():
                value = d.options.get(name, known[name][0])
                w.blockSignals(True)
                if isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
                elif isinstance(w, QLineEdit):
                    w.setText("" if value is None else str(value))
                elif isinstance(value, (int, float)):
                    w.setValue(value)
                w.blockSignals(False)
            return
        self._options_source = d.dataset
        f = self.options_form
        while f.rowCount():
            f.removeRow(0)
        self.option_editors = {}
        for name, (default, help_) in known.items():
            w = self._option_editor(name, default, d.options.get(name, default))
            w.setToolTip(help_)
            self.option_editors[name] = w
            f.addRow(name.replace("_", " ").capitalize(), w)

    def _option_editor(self, name: str, default, value):
        def commit(v):
            opts = dict(self.ctx.project.data.options)
            if v == default or v in ("", None):
                opts.pop(name, None)
            else:
                opts[name] = v
            self.ctx.set("data", "options", opts)
        if isinstance(default, bool):
            w = QCheckBox()
            w.setChecked(bool(value))
            w.toggled.connect(commit)
        elif isinstance(default, int):
            w = QSpinBox()
            w.setRange(1, 1_000_000)
            w.setKeyboardTracking(False)
            w.setValue(int(value) if isinstance(value, int) else default)
            w.valueChanged.connect(commit)
        elif isinstance(default, float):
            w = FloatSpinBox()
            w.setDecimals(6)
            w.setRange(0.0, 1e6)
            w.setSingleStep(0.05)
            w.setKeyboardTracking(False)
            w.setValue(float(value) if isinstance(value, (int, float)) else default)
            w.valueChanged.connect(commit)
        else:
            w = QLineEdit("" if value is None else str(value))
            w.editingFinished.connect(lambda: commit(w.text().strip()))
        w.setObjectName(f"data_option_{name}")
        return w

    # ------------------------------------------------------------ what the data set looks like
    def show_dataset(self, ds) -> None:
        if ds is None:
            self.info.setText(f"<span style='color:#ef4444'>{html.escape(self.ctx.dataset_error)}</span>")
            self._show_csv_head()   # a CSV that does not load yet (wrong target?) still shows its rows
            return
        lines = [ds.summary()]
        if ds.task == "classification" and ds.class_names:
            names = ", ".join(ds.class_names[:12]) + (" …" if len(ds.class_names) > 12 else "")
            lines.append(f"classes: {names}")
        lines.append(f"preprocessing {ds.preprocessor.stats_summary()} — fitted on the training split only, "
                     "then applied to validation and test")
        lines += ds.notes
        self.info.setText("<br>".join(html.escape(line) for line in lines))
        x, y = ds.raw_x_train, ds.y_train
        if ds.input_dtype == "float" and x.dim() == 2 and x.shape[1] == 2:
            self._show_scatter(x.numpy(), y.numpy(), ds)
        elif ds.input_dtype == "float" and x.dim() in (3, 4):
            self._show_images(x.numpy())
        else:
            self._show_table(x.numpy(), y.numpy(), ds)

    def _show_csv_head(self) -> None:
        d = self.ctx.project.data
        if d.dataset != "csv" or not d.path:
            return
        from ...core.data.csv_file import peek_csv
        p = Path(d.path)
        if not p.is_absolute():
            p = (self.ctx.base_dir() or Path.cwd()) / p
        if not self.ctx.can_peek(p):
            return
        try:
            columns, head = peek_csv(p, PREVIEW_ROWS)
        except Exception:  # unreadable: the info line already says why
            return
        self.table.clear()
        self.table.setColumnCount(len(columns))
        self.table.setRowCount(len(head))
        self.table.setHorizontalHeaderLabels(columns)
        for r, row in enumerate(head):
            for c in range(min(len(row), len(columns))):
                self.table.setItem(r, c, QTableWidgetItem(row[c]))
        self.table.resizeColumnsToContents()
        self.preview.setCurrentWidget(self.table)

    def _show_scatter(self, x: np.ndarray, y: np.ndarray, ds) -> None:
        self.scatter.clear()
        if ds.task == "classification" and y.ndim == 1:   # one item per class: one brush each, fast
            for c in np.unique(y):
                pts = x[y == c]
                self.scatter.addItem(pg.ScatterPlotItem(pts[:, 0], pts[:, 1], size=5, pen=None,
                                                        brush=pg.mkBrush(CLASS_COLORS[int(c) % len(CLASS_COLORS)])))
        else:
            v = (y.reshape(len(y), -1)[:, 0] - y.min()) / max(1e-9, float(np.ptp(y)))
            cmap = pg.colormap.get("viridis")
            brushes = [pg.mkBrush(c) for c in cmap.map(v, mode="qcolor")]
            self.scatter.addItem(pg.ScatterPlotItem(x[:, 0], x[:, 1], size=5, pen=None, brush=brushes))
        names = ds.feature_names or ["x1", "x2"]
        self.scatter.setLabel("bottom", names[0])
        self.scatter.setLabel("left", names[1])
        self.preview.setCurrentWidget(self.scatter)

    def _show_images(self, x: np.ndarray) -> None:
        n = min(len(x), 48)
        imgs = x[:n]
        if imgs.ndim == 4:   # [N, C, H, W]: first channel for grey, RGB for 3 channels
            imgs = imgs.transpose(0, 2, 3, 1) if imgs.shape[1] == 3 else imgs[:, 0]
        cols = 8
        rows = -(-n // cols)
        h, w = imgs.shape[1:3]
        grid = np.full((rows * (h + 1), cols * (w + 1), *imgs.shape[3:]), np.nan, np.float32)
        for i, im in enumerate(imgs):
            r, c = divmod(i, cols)
            grid[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = im
        lo, hi = np.nanmin(grid), np.nanmax(grid)
        self.image_item.setImage(np.nan_to_num(grid, nan=lo), levels=(lo, hi))
        self.preview.setCurrentWidget(self.images)

    def _show_table(self, x: np.ndarray, y: np.ndarray, ds) -> None:
        x = x.reshape(len(x), -1)[:PREVIEW_ROWS]
        y = y.reshape(len(y), -1)[:PREVIEW_ROWS]
        names = list(ds.feature_names) if len(ds.feature_names) == x.shape[1] else [f"x{i}" for i in range(x.shape[1])]
        cols = min(len(names), 40)
        self.table.clear()
        self.table.setColumnCount(cols + 1)
        self.table.setRowCount(len(x))
        self.table.setHorizontalHeaderLabels(names[:cols] + ["target"])
        for r in range(len(x)):
            for c in range(cols):
                self.table.setItem(r, c, QTableWidgetItem(f"{x[r, c]:.4g}"))
            label = y[r, 0] if y.shape[1] == 1 else y[r].tolist()
            if ds.task == "classification" and y.shape[1] == 1 and ds.class_names:
                label = ds.class_names[int(label)]
            self.table.setItem(r, cols, QTableWidgetItem(str(label)))
        self.table.resizeColumnsToContents()
        self.preview.setCurrentWidget(self.table)
