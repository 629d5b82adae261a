"""Transfer learning in the window: the inspector's "Trainable" switch and "LR ×" factor for layers
with weights (undoable edits of training.frozen / training.lr_multipliers), frozen layers drawn
hatched with a ❄ on the canvas, and File ▸ Load Weights From… (a run of this project or any
.safetensors file): core.transfer matches tensors by layer name and shape, the dialog lists what
matched and what did not and why, and only Apply writes the start weights beside the project."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QHBoxLayout, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .actions import insert_before
from .export_support import list_runs, runs_root


class TransferUI:
    def __init__(self, window):
        self.window = window
        window.inspector.row_hooks.append(self._rows)
        self.action = QAction("Load &Weights From…", window, objectName="actionLoadWeights",
                              statusTip="Start training from another network's weights, matched layer by layer")
        self.action.triggered.connect(lambda _c=False: self.open_dialog())
        training = getattr(window, "training", None)
        if training is not None:
            training.ready.connect(self._connect)
            if training.is_ready:
                self._connect()
        window.document.graph_replaced.connect(lambda _g: self.refresh_canvas())
        window.document.analyzed.connect(lambda _a: self.refresh_canvas())

    @property
    def ctx(self):
        training = getattr(self.window, "training", None)
        return training.ctx if training is not None and training.is_ready else None

    def _connect(self) -> None:
        self.ctx.notifier.changed.connect(self._spec_changed)
        self.refresh_canvas()

    def _spec_changed(self, spec, field: str) -> None:
        if field in ("frozen", "lr_multipliers", ""):
            self.refresh_canvas()
            node_id = self.window.inspector.node_id
            if node_id is not None:             # rebuild the inspector's rows from the spec
                self.window.inspector.node_id = None
                self.window.inspector.show_node(node_id)

    def refresh_canvas(self) -> None:
        frozen = set(self.window.document.project.training.frozen)
        for nid, item in self.window.scene.nodes.items():
            if item.frozen != (nid in frozen):
                item.frozen = nid in frozen
                item.update()

    # ------------------------------------------------------------ inspector rows
    def _rows(self, layout, node) -> None:
        if node.spec.count is None and not node.spec.block:   # no weights: nothing to freeze
            return                           # (a block instance: its switch covers every layer inside)
        t = self.window.document.project.training
        ready = self.ctx is not None
        trainable = QCheckBox("Trainable", objectName="inspectorTrainable", checked=node.id not in t.frozen)
        trainable.setToolTip("Off: the layer keeps its weights (and BatchNorm statistics) during training")
        lr = QDoubleSpinBox(objectName="inspectorLrMultiplier", decimals=3, minimum=0.001, maximum=1000.0,
                            singleStep=0.1, value=float(t.lr_multipliers.get(node.id, 1.0)), prefix="LR × ")
        lr.setToolTip("This layer's learning rate is the optimizer's times this factor")
        lr.setEnabled(node.id not in t.frozen)
        for w in (trainable, lr):
            w.setEnabled(ready and w.isEnabled())
        trainable.toggled.connect(lambda on, nid=node.id: self.set_trainable(nid, on))
        lr.editingFinished.connect(lambda nid=node.id, box=lr: self.set_lr_multiplier(nid, box.value()))
        row = QWidget(objectName="inspectorTransfer")
        lay = QHBoxLayout(row)
        lay.setContentsMargins(0, 6, 0, 0)
        lay.addWidget(trainable)
        lay.addWidget(lr)
        lay.addStretch(1)
        layout.addWidget(row)
        if node.spec.block:
            self._inner_rows(layout, node, ready)

    def _inner_rows(self, layout, node, ready: bool) -> None:
        """A block instance's own layers, each with a Trainable switch of its own ("n5/n3")."""
        from ..core.blocks import QUALIFIER, qualified_layers, within

        graph, t = self.window.document.graph, self.window.document.project.training
        frozen = set(t.frozen)
        prefix = node.id + QUALIFIER
        names = {node.id: node.name}
        for qid, inner in qualified_layers(graph).items():
            if not qid.startswith(prefix):
                continue
            names[qid] = f"{names.get(qid.rpartition(QUALIFIER)[0], node.name)}.{inner.name}"
            if inner.spec.count is None or inner.spec.block:
                continue
            box = QCheckBox(names[qid], objectName=f"inspectorTrainable_{names[qid]}", checked=not within(qid, frozen))
            box.setToolTip("Off: this layer of this instance keeps its weights during training")
            box.setEnabled(ready and not within(qid.rpartition(QUALIFIER)[0], frozen))
            box.toggled.connect(lambda on, q=qid: self.set_trainable(q, on))
            box.setContentsMargins(16, 0, 0, 0)
            layout.addWidget(box)

    def set_trainable(self, node_id: str, on: bool) -> None:
        frozen = [n for n in self.window.document.project.training.frozen if n != node_id]
        self.ctx.set("training", "frozen", frozen if on else [*frozen, node_id])

    def set_lr_multiplier(self, node_id: str, factor: float) -> None:
        current = dict(self.window.document.project.training.lr_multipliers)
        if current.get(node_id, 1.0) == factor:
            return
        current.pop(node_id, None)
        if factor != 1.0:
            current[node_id] = float(factor)
        self.ctx.set("training", "lr_multipliers", current)

    # ------------------------------------------------------------ loading weights
    def open_dialog(self) -> "LoadWeightsDialog":
        dlg = LoadWeightsDialog(self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()
        return dlg


class LoadWeightsDialog(QDialog):
    def __init__(self, ui: TransferUI):
        super().__init__(ui.window)
        self.ui, self.match = ui, None
        self.setObjectName("loadWeightsDialog")
        self.setWindowTitle("Load weights from…")
        self.source = QComboBox(objectName="loadWeightsSource")
        for run in list_runs(runs_root(ui.window)):
            self.source.addItem(run.label(), str(run.path))
        self.source.addItem("Choose a .safetensors file or run folder…", None)
        self.summary = QLabel(objectName="loadWeightsSummary", wordWrap=True)
        self.table = QTableWidget(0, 3, objectName="loadWeightsTable")
        self.table.setHorizontalHeaderLabels(["Layer · tensor", "Status", "Why not"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply = buttons.addButton("Apply", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply.setObjectName("loadWeightsApply")
        self.apply.setEnabled(False)
        lay = QVBoxLayout(self)
        for w in (self.source, self.summary, self.table):
            lay.addWidget(w)
        lay.addWidget(buttons)
        self.resize(720, 520)
        self.source.activated.connect(lambda _i: self._picked())
        buttons.rejected.connect(self.reject)
        self.apply.clicked.connect(self.apply_match)
        if self.source.currentData():
            self.load(self.source.currentData())

    def _picked(self) -> None:
        path = self.source.currentData()
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Weights to load", "",
                                                  "safetensors weights (*.safetensors);;All files (*)")
            if not path:
                return
        self.load(path)

    def load(self, source) -> bool:
        """Match `source` against the project and list the result; nothing is applied yet."""
        from ..core.transfer import TransferError, match_weights

        try:
            self.match = match_weights(self.ui.window.document.project, source)
        except TransferError as e:
            self.match = None
            self.summary.setText(f"<span style='color:#ff8a8a'>{e}</span>")
            self.table.setRowCount(0)
            self.apply.setEnabled(False)
            return False
        rows = self.match.rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            cells = (f"{r.layer}.{r.tensor}", "matched" if r.matched else "not matched", r.why)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        unused = f" Unused from the source: {', '.join(self.match.unused[:6])}" if self.match.unused else ""
        self.summary.setText(f"{Path(str(source)).name}: {self.match.summary()}.{unused}")
        self.apply.setEnabled(bool(self.match.matched))
        return True

    def apply_match(self) -> bool:
        """Write the matched tensors beside the project and make them the start weights (undoable)."""
        from ..core.transfer import TransferError, save_start_weights

        doc = self.ui.window.document
        if doc.path is None:
            self.summary.setText("<span style='color:#ff8a8a'>Save the project first: its start weights are "
                                 "stored beside it.</span>")
            return False
        target = Path(doc.path).with_name(Path(doc.path).name.split(".")[0] + ".start.safetensors")
        try:
            save_start_weights(self.match, target)
        except (TransferError, OSError) as e:
            self.summary.setText(f"<span style='color:#ff8a8a'>{e}</span>")
            return False
        self.ui.ctx.set("training", "start_weights", target.name)
        self.ui.window.statusBar().showMessage(f"Training will start from {target.name}: {self.match.summary()}", 8000)
        self.accept()
        return True


def install_transfer(window) -> TransferUI:
    """Inspector rows, canvas marks and File ▸ Load Weights From… (after Import ONNX…)."""
    ui = TransferUI(window)
    insert_before(window, window.actions.export, ui.action)
    window.transfer_ui = ui
    return ui
