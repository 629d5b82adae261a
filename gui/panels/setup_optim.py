"""Loss, optimizer and LR schedule, with a plot previewing the schedule over the planned
epochs (core.train.optim.lr_curve: the same torch scheduler the run will use). Fields that do
not apply to the current choice are hidden rather than disabled: fewer things to read."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QPushButton

from ...core.specs import LOSSES, OPTIMIZERS, SCHEDULES
from .setup_base import Binder, dim_label, form, scroll_panel
from .setup_checks import ChecksBox

LOSS_LABELS = {"cross_entropy": "cross-entropy", "bce_logits": "BCE with logits", "hinge": "multi-class hinge",
               "mse": "MSE", "mae": "MAE", "huber": "Huber"}
OPT_LABELS = {"sgd": "SGD", "momentum": "SGD + momentum", "nesterov": "SGD + Nesterov", "rmsprop": "RMSProp",
              "adam": "Adam", "adamw": "AdamW"}
SCHED_LABELS = {"warmup_cosine": "linear warm-up, then cosine", "cosine_restarts": "cosine with warm restarts",
                "one_cycle": "one-cycle", "plateau": "reduce on plateau"}
MAX_CURVE_STEPS = 20_000   # scheduler steps computed for the preview
MAX_PREVIEW_POINTS = 4000


class OptimPanel(QObject):
    def __init__(self, ctx):
        super().__init__(ctx)   # dies with the window: no timer of a closed window fires later
        self.ctx = ctx
        self.widget, lay = scroll_panel("setupOptim")
        self.binder = Binder(ctx, self.widget)
        self.checks = ChecksBox(ctx, "optim")
        lay.addWidget(self.checks)
        lay.addWidget(self._loss_box())
        lay.addWidget(self._optimizer_box())
        lay.addWidget(self._schedule_box())
        self._build_preview(lay)
        self._later = QTimer(self, singleShot=True, interval=30)  # typing in a spin box redraws once
        self._later.timeout.connect(self.refresh)
        ctx.notifier.changed.connect(self._changed)
        ctx.replaced.connect(self._changed)
        ctx.dataset_changed.connect(lambda _ds: self._later.start())
        self.refresh()

    def _loss_box(self) -> QGroupBox:
        b = self.binder
        box = QGroupBox("Loss")
        self.loss_form = f = form()
        box.setLayout(f)
        f.addRow("Loss", b.combo("training", "loss", LOSSES, LOSS_LABELS))
        self.smoothing = b.float_spin("training", "label_smoothing", 0.0, 0.99, step=0.05)
        f.addRow("Label smoothing", self.smoothing)
        self.delta = b.float_spin("training", "huber_delta", 1e-6, 1e6)
        f.addRow("Huber δ", self.delta)
        return box

    def _optimizer_box(self) -> QGroupBox:
        b = self.binder
        box = QGroupBox("Optimizer")
        self.opt_form = f = form()
        box.setLayout(f)
        f.addRow("Optimizer", b.combo("training", "optimizer", OPTIMIZERS, OPT_LABELS))
        lr_row = QHBoxLayout()
        lr_row.addWidget(b.float_spin("training", "lr", 1e-8, 1e3), 1)
        find = QPushButton("Find LR…", objectName="lrFindButton")
        find.setToolTip("LR range test: a short exponential LR sweep on a copy of the network suggests an LR")
        find.clicked.connect(self.find_lr)
        lr_row.addWidget(find)
        f.addRow("Learning rate", lr_row)
        self.momentum = b.float_spin("training", "momentum", 0.0, 0.999, step=0.01)
        f.addRow("Momentum", self.momentum)
        self.beta1 = b.float_spin("training", "beta1", 0.0, 0.9999, step=0.01)
        f.addRow("β₁", self.beta1)
        self.beta2 = b.float_spin("training", "beta2", 0.0, 0.99999, step=0.001)
        f.addRow("β₂", self.beta2)
        return box

    def _schedule_box(self) -> QGroupBox:
        """The schedule and its parameters; sched_rows says which schedules use each one."""
        b = self.binder
        box = QGroupBox("Schedule")
        self.sched_form = f = form()
        box.setLayout(f)
        f.addRow("Schedule", b.combo("training", "schedule", SCHEDULES, SCHED_LABELS))
        self.sched_rows = {
            "step_size": (b.int_spin("training", "step_size", 1, 100000), "Every (epochs)", {"step"}),
            "gamma": (b.float_spin("training", "gamma", 1e-6, 1.0, step=0.05), "Decay factor γ",
                      {"step", "exponential", "plateau"}),
            "warmup_epochs": (b.int_spin("training", "warmup_epochs", 0, 100000), "Warm-up epochs", {"warmup_cosine"}),
            "restart_epochs": (b.int_spin("training", "restart_epochs", 1, 100000), "First cycle (epochs)",
                               {"cosine_restarts"}),
            "restart_mult": (b.int_spin("training", "restart_mult", 1, 100), "Cycle growth ×", {"cosine_restarts"}),
            "plateau_patience": (b.int_spin("training", "plateau_patience", 0, 100000), "Patience (epochs)",
                                 {"plateau"}),
            "min_lr": (b.float_spin("training", "min_lr", 0.0, 1e3), "Minimum LR",
                       {"cosine", "warmup_cosine", "cosine_restarts", "plateau"}),
        }
        for w, label, _ in self.sched_rows.values():
            f.addRow(label, w)
        return box

    def _build_preview(self, lay) -> None:
        """The LR schedule plotted over the planned epochs, and a line under it."""
        self.preview = pg.PlotWidget(objectName="lrPreview")
        self.preview.setMenuEnabled(False)
        self.preview.setMinimumHeight(150)
        self.preview.setLabel("bottom", "epoch")
        self.preview.setLabel("left", "learning rate")
        self.preview.showGrid(x=True, y=True, alpha=0.2)
        self.preview.setMouseEnabled(x=False, y=False)
        self.curve = self.preview.plot(pen=pg.mkPen("#4c8dff", width=2))
        lay.addWidget(self.preview, 1)
        self.note = dim_label()
        lay.addWidget(self.note)

    def find_lr(self):
        from ..sweeps.lr_find_dialog import open_lr_finder
        self.lr_dialog = open_lr_finder(self.ctx, self.widget.window())
        return self.lr_dialog

    def _changed(self, *_args) -> None:
        self.sync_rows()          # at once: the form must not show stale fields
        self._later.start()       # the plot: once per burst of edits

    def sync_rows(self) -> None:
        t = self.ctx.project.training
        self.loss_form.setRowVisible(self.smoothing, t.loss == "cross_entropy")
        self.loss_form.setRowVisible(self.delta, t.loss == "huber")
        self.opt_form.setRowVisible(self.momentum, t.optimizer in ("momentum", "nesterov"))
        adam = t.optimizer in ("adam", "adamw")
        self.opt_form.setRowVisible(self.beta1, adam)
        self.opt_form.setRowVisible(self.beta2, adam)
        for w, _label, used in self.sched_rows.values():
            self.sched_form.setRowVisible(w, t.schedule in used)

    def refresh(self) -> None:
        from ...core.train.optim import lr_curve
        self.sync_rows()
        t = self.ctx.project.training
        spe = self.ctx.steps_per_epoch()
        # a million-row set has ~30k steps an epoch: stepping the scheduler that often takes
        # seconds on the GUI thread; fewer steps per epoch draw the same curve
        shown = min(spe, max(1, MAX_CURVE_STEPS // max(1, t.epochs)))
        try:
            lrs = np.asarray(lr_curve(t, shown), dtype=float)
        except Exception as e:  # an invalid value mid-edit: say so instead of drawing nonsense
            self.curve.setData([], [])
            self.note.setText(f"No preview: {e}")
            return
        x = np.arange(len(lrs)) / shown
        if len(lrs) > MAX_PREVIEW_POINTS:   # the preview is 200 px wide: a few thousand points is plenty
            k = -(-len(lrs) // MAX_PREVIEW_POINTS)
            x, lrs = x[::k], lrs[::k]
        self.curve.setData(x, lrs)
        self.preview.setXRange(0, max(1, t.epochs), padding=0.02)
        self.note.setText(f"{t.epochs} epochs × {spe} steps; plateau follows the validation metric, so its "
                          "preview is flat" if t.schedule == "plateau" else
                          f"{t.epochs} epochs × {spe} steps per epoch; peak {lrs.max():.3g}, last {lrs[-1]:.3g}"
                          if len(lrs) else "")
