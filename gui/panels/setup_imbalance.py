"""The Training panel's "Class imbalance" box: class weights in the loss (none / balanced / custom,
with the custom weights typed as a comma-separated list) and the epoch's sampler (shuffle /
balanced), one line of help each. Edits are undo commands like every set-up field; the checks
box above names a custom list of the wrong length (preflight knows the classes)."""
from __future__ import annotations

import math

from PySide6.QtWidgets import QGroupBox, QLineEdit

from ...core.specs import CLASS_WEIGHTS, SAMPLERS
from .setup_base import dim_label, form

HELP = {
    "class_weights": "Weights each sample's loss by its class: balanced gives class c the weight "
                     "n / (classes · count of c), so small classes count as much as large ones.",
    "custom": "One weight per class, in class order, e.g. 1, 19.",
    "sampler": "Balanced draws each epoch's samples with replacement, P ∝ 1 / count of their class: "
               "every class is seen equally often.",
}


def parse_weights(text: str) -> list[float] | None:
    """'1, 19' -> [1.0, 19.0]; None for anything but finite numbers above 0."""
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        return None
    return values if values and all(math.isfinite(v) and v > 0 for v in values) else None


class ImbalanceBox(QGroupBox):
    def __init__(self, ctx, binder, parent=None):
        super().__init__("Class imbalance", parent)
        self.ctx = ctx
        self.rows = f = form()
        self.setLayout(f)
        weights = binder.combo("training", "class_weights", CLASS_WEIGHTS)
        weights.setToolTip(HELP["class_weights"])
        f.addRow("Class weights", weights)
        f.addRow("", dim_label(HELP["class_weights"]))
        self.custom = QLineEdit(objectName="training_custom_class_weights", placeholderText="1, 19")
        self.custom.setToolTip(HELP["custom"])
        self.custom.editingFinished.connect(self._commit)
        f.addRow("Weights", self.custom)
        self.custom_help = dim_label(HELP["custom"])
        f.addRow("", self.custom_help)
        sampler = binder.combo("training", "sampler", SAMPLERS)
        sampler.setToolTip(HELP["sampler"])
        f.addRow("Sampler", sampler)
        f.addRow("", dim_label(HELP["sampler"]))
        ctx.notifier.changed.connect(lambda spec, _f: self.sync() if spec is ctx.project.training else None)
        ctx.replaced.connect(self.sync)
        self.sync()

    def _commit(self) -> None:
        values = parse_weights(self.custom.text())
        if values is None:
            self.custom_help.setText("<span style='color:#ef4444'>Type numbers above 0, separated by commas.</span>")
            return
        self.custom_help.setText(HELP["custom"])
        self.ctx.set("training", "custom_class_weights", values)

    def sync(self) -> None:
        t = self.ctx.project.training
        custom = t.class_weights == "custom"
        self.rows.setRowVisible(self.custom, custom)
        self.rows.setRowVisible(self.custom_help, custom)
        if not self.custom.hasFocus():
            self.custom.setText(", ".join(f"{v:g}" for v in t.custom_class_weights if isinstance(v, (int, float))))
