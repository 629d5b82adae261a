"""Ill-suited set-up choices, flagged before training, each with a one-click fix.

Two sources: the engine's `preflight(project, dataset)` (network, data and loss must fit; its
problems carry a fix in words, turned into an action here where the fix is unambiguous), and
advice on choices that train but train badly (Xavier in a deep ReLU net, Adam at lr 0.1, ...).
Every action is one undo step.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.graph import Edge
from ..commands import Connect, RemoveItems, SetParam


@dataclass
class Advice:
    panel: str                      # data / init / regularization / optim / training
    message: str
    fix: str = ""
    severity: str = "warning"       # "error" blocks training
    action: Callable | None = None  # action(ctx) pushes the fix as one undo step


def _set(section: str, field: str, value, text: str) -> Callable:
    return lambda ctx: ctx.set_many([(section, field, value)], text)


def _delete_node(node_id: str) -> Callable:
    """Delete a layer in a chain and join its input to what it fed (one undo step)."""
    def act(ctx):
        g = ctx.project.graph
        if node_id not in g.nodes:
            return
        ins, outs = g.inputs_of(node_id), g.outputs_of(node_id)
        stack = ctx.undo_stack
        stack.beginMacro(f"Delete {g.nodes[node_id].name}")
        try:
            stack.push(RemoveItems(g, [node_id], []))
            if len(ins) == 1:
                for e in outs:
                    stack.push(Connect(g, Edge(ins[0].src, e.dst, e.slot)))
        finally:
            stack.endMacro()
    return act


def _set_param(node_id: str, key: str, value) -> Callable:
    return lambda ctx: ctx.push(SetParam(ctx.project.graph, node_id, key, value))


def _panel_of(message: str) -> str:
    m = message.lower()
    if "data." in m or "samples" in m:
        return "data"
    if "loss" in m or "monitor" in m or "logits" in m or "softmax" in m or "sigmoid" in m:
        return "optim"
    return "training"


def _action_for(problem, ctx, dataset) -> Callable | None:
    """Map a preflight fix in words to an action; None where the fix needs the user's judgement."""
    fix, msg, nid = problem.fix or "", problem.message, problem.node_id
    g = ctx.project.graph
    if nid and fix.startswith("delete") and nid in g.nodes:
        return _delete_node(nid)
    if m := re.match(r"set its shape to ([\d, ]+)$", fix):
        return _set_param(nid, "shape", [int(v) for v in m.group(1).split(",")])
    if m := re.match(r"set (units|filters|hidden) to (\d+)", fix):
        if nid in g.nodes:
            return _set_param(nid, m.group(1), int(m.group(2)))
    if m := re.match(r"use (cross_entropy|mse)\b", fix):
        return _set("training", "loss", m.group(1), f"Use {m.group(1)}")
    if fix.startswith("monitor "):
        return _set("training", "monitor", "val_loss", "Monitor val_loss")
    if fix.startswith("set device to auto"):
        return _set("training", "device", "auto", "Device auto")
    if "lower batch_size" in fix and dataset is not None:
        return _set("training", "batch_size", max(1, min(64, len(dataset.x_train))), "Lower batch size")
    if "raise data.val_fraction" in fix:
        return _set("data", "val_fraction", 0.15, "Validation fraction 0.15")
    if "data.val_fraction + data.test_fraction" in msg:
        return lambda ctx: ctx.set_many([("data", "val_fraction", 0.15), ("data", "test_fraction", 0.15)],
                                        "Default split")
    return None


def _relu_depth(graph, analysis) -> int:
    from ...core.train.init import following_activation
    return sum(1 for nid in analysis.order if graph.nodes[nid].spec.linear
               and following_activation(graph, nid)[0] in ("relu", "leaky_relu"))


def advice(ctx, dataset=None) -> list[Advice]:
    from ...core.analysis import analyze
    from ...core.train.checks import preflight

    project = ctx.project
    t, g = project.training, project.graph
    out: list[Advice] = []
    found = preflight(project, dataset)
    for p in found:
        out.append(Advice(_panel_of(p.message), p.message, p.fix, p.severity, _action_for(p, ctx, dataset)))
    scene = getattr(getattr(ctx.parent(), "window", None), "scene", None)
    if scene is not None and hasattr(scene, "set_data_problems"):   # red nodes, like shape errors
        scene.set_data_problems([p for p in found if p.node_id is not None] if dataset is not None else [])
    a = analyze(g)
    depth = _relu_depth(g, a) if a.ok else 0
    schemes = {t.init, *t.init_overrides.values()}
    if depth >= 3 and any(s.startswith("xavier") for s in schemes):
        overrides = {k: v for k, v in t.init_overrides.items() if not v.startswith("xavier")}
        out.append(Advice("init", f"Xavier init in a net with {depth} ReLU layers halves the activation "
                                  "variance at each layer, so deep signals fade", "use He (auto picks it per layer)",
                          action=lambda ctx: ctx.set_many([("training", "init", "auto"),
                                                           ("training", "init_overrides", overrides)], "Init auto")))
    if t.init in ("zeros", "constant"):
        out.append(Advice("init", f"init {t.init}: every unit of a layer starts identical and gets the same "
                                  "gradient, so they never differ (symmetry is never broken)", "use auto",
                          action=_set("training", "init", "auto", "Init auto")))
    elif t.init == "large_normal" and depth + len(a.order) > 4:
        out.append(Advice("init", "large_normal (std 1) blows activations up layer after layer",
                          "use auto", action=_set("training", "init", "auto", "Init auto")))
    if t.optimizer in ("adam", "adamw", "rmsprop") and t.lr >= 0.05:
        out.append(Advice("optim", f"lr {t.lr:g} is very high for {t.optimizer}: expect spikes or NaN",
                          "set lr to 0.001", action=_set("training", "lr", 1e-3, "lr 0.001")))
    elif t.optimizer in ("sgd", "momentum", "nesterov") and t.lr > 1.0:
        out.append(Advice("optim", f"lr {t.lr:g} is very high for SGD", "set lr to 0.1",
                          action=_set("training", "lr", 0.1, "lr 0.1")))
    if t.l2 > 0 and t.weight_decay > 0:
        out.append(Advice("regularization", "both an L2 penalty and weight decay shrink the weights: the "
                                            "strength is hard to reason about", "keep weight decay only",
                          action=_set("training", "l2", 0.0, "L2 off")))
    if t.early_stopping and project.data.val_fraction == 0:
        out.append(Advice("training", "early stopping watches the validation split, which is empty",
                          "set the validation fraction to 0.15",
                          action=_set("data", "val_fraction", 0.15, "Validation fraction 0.15")))
    if t.schedule == "warmup_cosine" and t.warmup_epochs >= t.epochs:
        out.append(Advice("optim", "the warm-up lasts the whole run, so the LR never reaches its peak",
                          "warm up for a tenth of the epochs",
                          action=_set("training", "warmup_epochs", max(1, t.epochs // 10), "Shorter warm-up")))
    return out


class ChecksBox(QFrame):
    """The advice of one panel, each line with its Fix button; hidden when there is none."""
    fixed = Signal()

    def __init__(self, ctx, panel: str, parent=None):
        super().__init__(parent)
        self.ctx, self.panel = ctx, panel
        self.setObjectName(f"checks_{panel}")
        self.setStyleSheet("QFrame#%s { background: #3a2f1a; border: 1px solid #7a5a1c; border-radius: 4px; }"
                           % self.objectName())
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(6, 6, 6, 6)
        self.items: list[Advice] = []
        self.hide()

    def show_advice(self, items: list[Advice]) -> None:
        self.items = [a for a in items if a.panel == self.panel]
        while self._lay.count():
            w = self._lay.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        for a in self.items:
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            icon = "⛔" if a.severity == "error" else "⚠"
            lab = QLabel(f"{icon} {html.escape(a.message)}" + (f" — <i>{html.escape(a.fix)}</i>" if a.fix else ""))
            lab.setWordWrap(True)
            lab.setTextFormat(Qt.TextFormat.RichText)
            h.addWidget(lab, 1)
            if a.action is not None:
                b = QPushButton("Fix")
                b.setToolTip(a.fix)
                b.clicked.connect(lambda _=False, act=a.action: self._apply(act))
                h.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)
            self._lay.addWidget(row)
        self.setVisible(bool(self.items))

    def _apply(self, action) -> None:
        action(self.ctx)
        self.fixed.emit()
