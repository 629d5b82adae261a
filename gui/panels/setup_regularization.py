"""Regularization set-up: L1, L2, decoupled weight decay, max-norm, and the network's dropout
layers (dropout is a layer, so its rate is a graph parameter: edited with the builder's SetParam
command, one undo step, and "set all" as one macro)."""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDoubleSpinBox, QGroupBox, QHBoxLayout, QPushButton, QWidget

from ..commands import SetParam
from .setup_base import Binder, LazyRefresh, dim_label, form, scroll_panel
from .setup_checks import ChecksBox

class RegularizationPanel(QObject):
    def __init__(self, ctx):
        super().__init__(ctx)   # dies with the window: no timer of a closed window fires later
        self.ctx = ctx
        self.widget, lay = scroll_panel("setupRegularization")
        self.binder = b = Binder(ctx, self.widget)
        self.checks = ChecksBox(ctx, "regularization")
        lay.addWidget(self.checks)
        box = QGroupBox("Penalties and constraints")
        f = form()
        box.setLayout(f)
        for field, label, tip in (
                ("weight_decay", "Weight decay", "Decoupled (AdamW-style): w ← w − lr·wd·w each step. 1e-4 … 1e-2."),
                ("l2", "L2 penalty", "λ·Σw² added to the loss; with Adam prefer weight decay."),
                ("l1", "L1 penalty", "λ·Σ|w| added to the loss: drives weights to exactly zero."),
                ("max_norm", "Max-norm", "Caps each unit's incoming weight norm after every step (0 = off).")):
            w = b.float_spin("training", field, 0.0, 1e3)
            w.setToolTip(tip)
            f.addRow(label, w)
        lay.addWidget(box)

        drop = QGroupBox("Dropout layers")
        self.drop_form = form()
        drop.setLayout(self.drop_form)
        lay.addWidget(drop)
        self.none_label = dim_label("The network has no Dropout layer: add one from the palette "
                                    "(Regularization) after a Dense or Flatten.")
        lay.addWidget(self.none_label)
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        self.all_rate = QDoubleSpinBox(objectName="dropoutAllRate")
        self.all_rate.setRange(0.0, 0.95)
        self.all_rate.setSingleStep(0.05)
        self.all_rate.setValue(0.3)
        self.all_btn = QPushButton("Set every dropout rate", objectName="dropoutSetAll")
        self.all_btn.clicked.connect(lambda: self.set_all(self.all_rate.value()))
        h.addWidget(self.all_rate)
        h.addWidget(self.all_btn, 1)
        lay.addWidget(row)
        lay.addStretch(1)
        self._later = LazyRefresh(self.widget, self.refresh, delay_ms=150)  # off the edit-to-repaint path
        ctx.replaced.connect(self._later.start)
        self.refresh()

    def schedule_refresh(self) -> None:
        self._later.start()

    def _dropouts(self):
        g = self.ctx.project.graph
        return [n for n in g.nodes.values() if n.spec.category == "Regularization"]

    def refresh(self) -> None:
        f = self.drop_form
        while f.rowCount():
            f.removeRow(0)
        nodes = self._dropouts()
        for n in nodes:
            w = QDoubleSpinBox(objectName=f"dropout_{n.name}")
            w.setRange(0.0, 0.95)
            w.setSingleStep(0.05)
            w.setKeyboardTracking(False)
            w.setValue(float(n.params.get("p", 0.5)))
            w.valueChanged.connect(lambda v, nid=n.id: self._set_rate(nid, float(v)))
            f.addRow(n.name, w)
        self.none_label.setVisible(not nodes)
        self.all_btn.setEnabled(bool(nodes))

    def _set_rate(self, node_id: str, p: float) -> None:
        g = self.ctx.project.graph
        if node_id in g.nodes and g.nodes[node_id].params.get("p") != p:
            self.ctx.push(SetParam(g, node_id, "p", p))

    def set_all(self, p: float) -> None:
        nodes = [n for n in self._dropouts() if n.params.get("p") != p]
        if not nodes:
            return
        stack = self.ctx.undo_stack
        stack.beginMacro(f"Dropout rate {p:g} everywhere")
        for n in nodes:
            stack.push(SetParam(self.ctx.project.graph, n.id, "p", p))
        stack.endMacro()
