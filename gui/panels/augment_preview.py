"""The Data panel's "Augmentation" box: one control per training.augment setting that applies to
the loaded set's kind (images, tabular, sequences), one line of help each, "Default" and "Off"
buttons, and for images a 4 × 4 grid of 16 training samples as one training batch would see them
(core.train.augment.preview), redrawn on each change. Edits are undo steps like every set-up field."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ...core.specs import AUGMENTS, DEFAULT_IMAGE_AUGMENT
from .param_editors import FloatSpinBox
from .setup_base import dim_label, form

SAMPLES = 16
LABELS = {"crop_pad": "Crop padding (px)", "resized_crop": "Resized crop (min area)", "hflip": "Horizontal flip",
          "vflip": "Vertical flip", "rotate": "Rotation (±°)", "scale": "Zoom (±)", "brightness": "Brightness",
          "contrast": "Contrast", "erase": "Random erasing", "mixup": "MixUp α", "cutmix": "CutMix α",
          "noise": "Gaussian noise (std)", "token_dropout": "Token dropout"}


def data_kind(ds) -> str:
    if ds is None:
        return "image"
    if ds.input_dtype == "long":
        return "sequence"
    return "image" if len(ds.input_shape) == 3 else "tabular"


class AugmentBox(QGroupBox):
    def __init__(self, ctx, parent=None):
        super().__init__("Augmentation (training split only)", parent)
        self.ctx, self.editors, self.helps = ctx, {}, {}
        lay = QVBoxLayout(self)
        self.rows = f = form()
        lay.addLayout(f)
        for key, (_kinds, lo, hi, text) in AUGMENTS.items():
            ed = QSpinBox() if isinstance(hi, int) else FloatSpinBox(decimals=3, singleStep=0.05)
            ed.setRange(lo, hi)
            ed.setObjectName(f"augment_{key}")
            ed.setToolTip(text)
            ed.editingFinished.connect(lambda k=key: self._commit(k))
            f.addRow(LABELS[key], ed)
            self.helps[key] = dim_label(text)
            f.addRow("", self.helps[key])
            self.editors[key] = ed
        buttons = QHBoxLayout()
        self.default = QPushButton("Default", objectName="augmentDefault",
                                   toolTip=f"Images: {DEFAULT_IMAGE_AUGMENT}; tabular: noise 0.05")
        self.default.clicked.connect(self._default)
        self.off = QPushButton("Off", objectName="augmentOff", toolTip="No augmentation")
        self.off.clicked.connect(lambda: self._set({}, "Augmentation off"))
        buttons.addWidget(self.default)
        buttons.addWidget(self.off)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self.grid = pg.GraphicsLayoutWidget()
        self.grid.setObjectName("augmentPreview")
        self.grid.setMinimumHeight(180)
        view = self.grid.addViewBox(lockAspect=True, invertY=True)
        self.image = pg.ImageItem(axisOrder="row-major")
        view.addItem(self.image)
        lay.addWidget(self.grid)
        self.caption = dim_label()
        lay.addWidget(self.caption)
        self.shown: np.ndarray | None = None       # the grid last drawn (tests read it)
        ctx.notifier.changed.connect(lambda spec, _f: self.sync() if spec is ctx.project.training else None)
        ctx.replaced.connect(self.sync)
        self.ds = ctx.dataset()                    # the loaded set, as dataset_changed last gave it
        ctx.dataset_changed.connect(self._dataset)
        self.sync()

    def _dataset(self, ds) -> None:
        self.ds = ds
        self.sync()

    def _commit(self, key: str) -> None:
        value = self.editors[key].value()
        settings = {k: v for k, v in self.ctx.project.training.augment.items() if k != key}
        if value:
            settings[key] = value
        self._set(settings, f"Augmentation {LABELS[key]}")

    def _default(self) -> None:
        kind = data_kind(self.ds)
        self._set({"image": dict(DEFAULT_IMAGE_AUGMENT), "tabular": {"noise": 0.05},
                   "sequence": {"token_dropout": 0.05}}[kind], "Default augmentation")

    def _set(self, settings: dict, text: str) -> None:
        if settings != self.ctx.project.training.augment:
            self.ctx.set_many([("training", "augment", settings)], text)

    def sync(self) -> None:
        settings, ds = self.ctx.project.training.augment, self.ds
        kind = data_kind(ds)
        for key, ed in self.editors.items():
            on = kind in AUGMENTS[key][0].split()
            self.rows.setRowVisible(ed, on)
            self.rows.setRowVisible(self.helps[key], on)
            if not ed.hasFocus():
                ed.blockSignals(True)
                ed.setValue(settings.get(key, 0))
                ed.blockSignals(False)
        self._draw(ds, settings, kind)

    def _draw(self, ds, settings: dict, kind: str) -> None:
        self.grid.setVisible(kind == "image" and ds is not None)
        if kind != "image" or ds is None or int(ds.x_train.shape[0]) == 0:
            self.caption.setText("" if kind == "image" else "Augmented samples are shown for image sets.")
            return
        from ...core.train.augment import preview
        x = preview(settings, ds.x_train[:SAMPLES].float(), seed=self.ctx.project.training.seed).numpy()
        imgs = x.transpose(0, 2, 3, 1) if x.shape[1] == 3 else x[:, 0]
        h, w = imgs.shape[1:3]
        grid = np.full((4 * (h + 1), 4 * (w + 1), *imgs.shape[3:]), np.nan, np.float32)
        for i, im in enumerate(imgs):
            r, c = divmod(i, 4)
            grid[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = im
        lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
        self.shown = grid
        self.image.setImage(np.nan_to_num(grid, nan=lo), levels=(lo, hi if hi > lo else lo + 1))
        self.caption.setText(f"{len(imgs)} training samples as one batch sees them" +
                             ("" if settings else " (augmentation is off)"))
