"""Training set-up: epochs, batch size, early stopping, gradient clipping, device (CUDA / MPS
listed only when present), mixed precision, torch.compile of the step, seed, the probe cadence and class imbalance (setup_imbalance.py)."""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QGroupBox

from ...core.specs import CLIPPING, COMPILE, MONITORS
from .setup_base import Binder, form, scroll_panel
from .setup_checks import ChecksBox
from .setup_imbalance import ImbalanceBox


def available_devices() -> list[str]:
    import torch
    out = ["auto", "cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


class TrainingPanel(QObject):
    def __init__(self, ctx):
        super().__init__(ctx)   # dies with the window: no timer of a closed window fires later
        self.ctx = ctx
        self.widget, lay = scroll_panel("setupTraining")
        self.binder = b = Binder(ctx, self.widget)
        self.checks = ChecksBox(ctx, "training")
        lay.addWidget(self.checks)

        box = QGroupBox("Run")
        f = form()
        box.setLayout(f)
        f.addRow("Epochs", b.int_spin("training", "epochs", 1, 1_000_000))
        f.addRow("Batch size", b.int_spin("training", "batch_size", 1, 1_000_000))
        devices = available_devices()
        dev = b.combo("training", "device", devices)
        dev.setToolTip("auto: CUDA, then Apple MPS, then CPU. Only devices present here are listed.")
        f.addRow("Device", dev)
        self.amp = b.check("training", "mixed_precision", "mixed precision")
        self.amp.setToolTip("bfloat16 / float16 autocast: CUDA only")
        self.amp.setEnabled("cuda" in devices)
        f.addRow("", self.amp)
        comp = b.combo("training", "compile", COMPILE)
        comp.setToolTip("torch.compile of the training step. auto: a long run times its eager steps, compiles, "
                        "times the compiled ones and keeps the faster; config.json's resolved.compile says what "
                        "was decided and why. Small networks on a CPU train faster eager.")
        f.addRow("Compile step", comp)
        f.addRow("Seed", b.int_spin("training", "seed", 0, 2**31 - 1))
        probe = b.int_spin("training", "probe_every", 0, 100000)
        probe.setToolTip("Activation / weight histograms and dead-unit counts every N epochs (0 = off)")
        f.addRow("Probe every", probe)
        lay.addWidget(box)

        box = QGroupBox("Early stopping")
        self.es_form = f = form()
        box.setLayout(f)
        on = b.check("training", "early_stopping", "on")
        on.setToolTip("Stop when the monitored metric has not improved for `patience` epochs")
        f.addRow("Early stopping", on)
        self.es_rows = [b.combo("training", "monitor", MONITORS), b.int_spin("training", "patience", 1, 100000),
                        b.float_spin("training", "min_delta", 0.0, 1e6),
                        b.check("training", "restore_best", "restore best weights")]
        self.es_rows[-1].setToolTip("At the end, load the weights of the best epoch (not the last)")
        for label, w in zip(("Monitor", "Patience", "Min. improvement", ""), self.es_rows):
            f.addRow(label, w)
        lay.addWidget(box)

        box = QGroupBox("Gradient clipping")
        self.clip_form = f = form()
        box.setLayout(f)
        f.addRow("Clip", b.combo("training", "clip", CLIPPING, {"norm": "global norm", "value": "by value"}))
        self.clip_value = b.float_spin("training", "clip_value", 1e-8, 1e6)
        f.addRow("Threshold", self.clip_value)
        lay.addWidget(box)
        lay.addWidget(ImbalanceBox(ctx, b))
        lay.addStretch(1)
        ctx.notifier.changed.connect(lambda spec, _f: self._sync() if spec is ctx.project.training else None)
        ctx.replaced.connect(self._sync)
        self._sync()

    def _sync(self) -> None:
        t = self.ctx.project.training
        for w in self.es_rows:
            self.es_form.setRowVisible(w, t.early_stopping)
        self.clip_form.setRowVisible(self.clip_value, t.clip != "none")
