"""Data augmentation in the window (issue 12): the Data panel's controls (one per setting of the
loaded set's kind, with undo) and the grid of 16 augmented training samples, redrawn on each change."""
from __future__ import annotations

import numpy as np

from layerlab.core.data import load
from layerlab.core.project import load_project
from layerlab.core.resources import template_path
from layerlab.core.specs import DEFAULT_IMAGE_AUGMENT

from .training_support import field, mlp_window  # noqa: F401

_ = mlp_window


def test_augment_controls_edit_the_spec_with_undo_and_redraw_the_preview(qtbot, mlp_window):
    win, ui = mlp_window
    t, stack = win.document.project.training, win.document.undo_stack
    box = ui.data_panel.augment
    rotate, noise = field(ui, "augment_rotate"), field(ui, "augment_noise")
    qtbot.waitUntil(lambda: box.isVisible(), timeout=30_000)          # spiral: tabular, noise only
    assert not box.rows.isRowVisible(rotate) and box.rows.isRowVisible(noise)
    digits = load_project(template_path("digits_cnn")).data
    ui.ctx.dataset_changed.emit(load(digits))                       # what the panel hears on a load
    assert box.rows.isRowVisible(rotate) and not box.grid.isHidden()
    before = box.shown.copy()
    assert before.shape == (4 * 9, 4 * 9)                          # 16 samples of 8 × 8
    rotate.setValue(20.0)
    rotate.editingFinished.emit()
    assert t.augment == {"rotate": 20.0}
    after = box.shown.copy()
    assert not np.array_equal(np.nan_to_num(before), np.nan_to_num(after))
    box.default.click()
    assert t.augment == DEFAULT_IMAGE_AUGMENT
    stack.undo()
    assert t.augment == {"rotate": 20.0} and rotate.value() == 20.0
    stack.undo()
    assert t.augment == {} and rotate.value() == 0
    assert np.array_equal(np.nan_to_num(box.shown), np.nan_to_num(before))
