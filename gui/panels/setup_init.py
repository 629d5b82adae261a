"""Initialization set-up: the global scheme and a per-layer override for every weight layer,
with what `auto` resolves to for each (He before ReLU, Xavier before tanh / the logits)."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem

from ...core.specs import INITS
from .setup_base import Binder, LazyRefresh, dim_label, form, scroll_panel
from .setup_checks import ChecksBox

GLOBAL = "(global)"
HELP = {
    "auto": "He before ReLU-like activations, Xavier before tanh / sigmoid / softmax and for the logits layer.",
    "he_normal": "Var 2/fan_in: keeps ReLU activations at constant variance through depth.",
    "xavier_normal": "Var 2/(fan_in+fan_out): for tanh / sigmoid and linear layers.",
    "zeros": "Every unit identical: symmetry is never broken. Only to see why that fails.",
    "large_normal": "N(0, 1): activations explode layer after layer. Only to see why that fails.",
}


class InitPanel(QObject):
    explore = Signal()   # "Explore inits…": open the init explorer

    def __init__(self, ctx):
        super().__init__(ctx)   # dies with the window: no timer of a closed window fires later
        self.ctx = ctx
        self.widget, lay = scroll_panel("setupInit")
        self.binder = b = Binder(ctx, self.widget)
        self.checks = ChecksBox(ctx, "init")
        lay.addWidget(self.checks)
        box = QGroupBox("Global")
        f = self.form = form()
        box.setLayout(f)
        self.scheme = b.combo("training", "init", INITS)
        for i, s in enumerate(INITS):
            if s in HELP:
                self.scheme.setItemData(i, HELP[s], 3)  # Qt.ToolTipRole
        f.addRow("Scheme", self.scheme)
        self.constant = b.float_spin("training", "init_constant", -1e3, 1e3)
        f.addRow("Constant", self.constant)
        lay.addWidget(box)
        self.help = dim_label()
        lay.addWidget(self.help)

        box2 = QGroupBox("Per layer")
        f2 = form()
        box2.setLayout(f2)
        self.table = QTableWidget(0, 3, objectName="initOverrides")
        self.table.setHorizontalHeaderLabels(["Layer", "Scheme", "Resolves to"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(160)
        f2.addRow(self.table)
        lay.addWidget(box2, 1)
        btn = QPushButton("Explore inits…", objectName="exploreInits")
        btn.setToolTip("Push a batch through the network with several inits and compare activations per layer")
        btn.clicked.connect(self.explore)
        lay.addWidget(btn)
        # deferred: a rebuild from inside a combo's own signal would delete that combo mid-call
        self._later = LazyRefresh(self.widget, self.refresh, delay_ms=150)  # off the edit-to-repaint path
        ctx.notifier.changed.connect(lambda spec, field: self._later.start() if spec is ctx.project.training else None)
        ctx.replaced.connect(self._later.start)
        self.refresh()

    def schedule_refresh(self) -> None:
        self._later.start()

    def refresh(self) -> None:
        from ...core.analysis import analyze
        from ...core.train.init import following_activation, resolve_scheme
        t, g = self.ctx.project.training, self.ctx.project.graph
        self.form.setRowVisible(self.constant, t.init == "constant")
        self.help.setText(HELP.get(t.init, ""))
        a = analyze(g)
        rows = _weighted_rows(g, a, g, "", "")
        succ: dict[str, list] = {}
        for e in g.edges:  # one pass, not an edge scan per layer (300 layers: 90 ms -> 1 ms)
            succ.setdefault(e.src, []).append(e)
        view = _SuccessorView(g, succ)
        described = []
        for qid, name, node, owner in rows:
            scheme = t.init_overrides.get(qid, t.init)
            act = following_activation(view if owner is g else owner, node.id)[0]
            resolved = resolve_scheme(scheme, act) if node.spec.linear else scheme
            described.append((qid, f"{name} ({node.type})", t.init_overrides.get(qid, ""),
                              resolved + (f"  (before {act})" if act else "")))
        if described == getattr(self, "_described", None):
            return  # most edits (a units change) leave every row as it was: keep the widgets
        self._described = described
        self.table.setRowCount(len(rows))
        self.combos: dict[str, QComboBox] = {}
        for r, ((_, name, _, _), (nid, label, override, text)) in enumerate(zip(rows, described)):
            self.table.setItem(r, 0, QTableWidgetItem(label))
            combo = QComboBox()
            combo.setObjectName(f"init_override_{name}")
            combo.addItem(GLOBAL, "")
            for s in INITS:
                combo.addItem(s.replace("_", " "), s)
            combo.setCurrentIndex(max(0, combo.findData(override)))
            combo.activated.connect(lambda i, nid=nid, c=combo: self._override(nid, c.itemData(i)))
            self.table.setCellWidget(r, 1, combo)
            self.combos[name] = combo
            self.table.setItem(r, 2, QTableWidgetItem(text))

    def _override(self, node_id: str, scheme: str) -> None:
        ov = dict(self.ctx.project.training.init_overrides)
        if scheme:
            ov[node_id] = scheme
        else:
            ov.pop(node_id, None)
        self.ctx.set("training", "init_overrides", ov)


def _weighted_rows(root, a, g, qid: str, path: str) -> list[tuple]:
    """(qualified id, name, node, its graph) of every layer an init sets, in graph order; a block
    instance's layers follow as "res1.conv_a" with ids "n5/n3" (core.blocks.QUALIFIER)."""
    from ...core.blocks import QUALIFIER

    out = []
    for nid in a.order or list(g.nodes):
        node = g.nodes[nid]
        if node.spec.weighted:
            out.append((qid + nid, path + node.name, node, g))
        elif node.spec.block and nid in a.blocks and node.params.get("block") in root.blocks:
            out += _weighted_rows(root, a.blocks[nid], root.blocks[node.params["block"]],
                                  f"{qid}{nid}{QUALIFIER}", f"{path}{node.name}.")
    return out


class _SuccessorView:
    """The slice of Graph that following_activation reads, with outgoing edges precomputed."""

    def __init__(self, graph, succ):
        self.nodes, self._succ = graph.nodes, succ

    def outputs_of(self, node_id):
        return self._succ.get(node_id, [])
