"""Fixtures and helpers for the training GUI tests (set-up panels, controller, dashboard).

The builder's conftest already runs Qt offscreen, isolates settings, records QMessageBox calls
(`dialogs`) and fails a test that leaves a QThread running. Import the fixtures by name:
`from .training_support import trainer_window, ...`.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QSpinBox, QWidget

READY_S = 60_000    # first window in the process: numpy, pyqtgraph and torch import in a thread
RUN_S = 60_000


def open_window(qtbot, template: str, tmp_path):
    from layerlab.core import resources
    from layerlab.gui.app import create_window
    from layerlab.gui.training.ui import install_training_ui

    win = create_window(resources.template_path(template))
    ui = install_training_ui(win)
    ui.runs_root_override = tmp_path / "runs"
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: ui.is_ready, timeout=READY_S)
    qtbot.waitUntil(lambda: ui.ctx.dataset() is not None, timeout=READY_S)
    return win, ui


def open_sized(qtbot, size: tuple[int, int]):
    """The example window at exactly `size`, its training UI ready: (window, training UI)."""
    from layerlab.gui.app import create_window
    win = create_window()
    win.show()
    win.resize(*size)
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.training.is_ready, timeout=READY_S)
    qtbot.waitUntil(lambda: (win.width(), win.height()) == size)
    return win, win.training


def close_window(win, ui) -> None:
    assert ui.shutdown(), "the training thread did not stop"
    win.document.undo_stack.setClean()
    win.close()
    win.deleteLater()


@pytest.fixture
def mlp_window(qtbot, tmp_path):
    """The builder on the mlp template (spiral data) with the training UI installed and ready."""
    win, ui = open_window(qtbot, "mlp", tmp_path)
    yield win, ui
    close_window(win, ui)


def field(ui, name: str) -> QWidget:
    """A set-up widget by objectName (`training_epochs`, `data_dataset`, ...)."""
    for panel in ui.panels:
        w = panel.widget.findChild(QWidget, name)
        if w is not None:
            return w
    raise LookupError(f"no set-up widget {name!r}")


def edit(qtbot, widget: QWidget, value) -> None:
    """Change a form widget as a user does: type and press Enter, or pick from the list."""
    if isinstance(widget, QComboBox):
        i = widget.findData(value)
        assert i >= 0, f"{widget.objectName()} has no choice {value!r}"
        widget.setCurrentIndex(i)
        widget.activated.emit(i)
    elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        widget.setFocus()
        widget.lineEdit().selectAll()
        qtbot.keyClicks(widget.lineEdit(), widget.textFromValue(value) if isinstance(widget, QDoubleSpinBox)
                        else str(value))
        qtbot.keyClick(widget.lineEdit(), Qt.Key.Key_Return)
    else:
        raise TypeError(type(widget))


def train(qtbot, ui, timeout: int = RUN_S):
    """Press Train and wait until the thread is gone; returns the run's store."""
    ui.action_train.trigger()
    store = ui.controller.store
    qtbot.waitUntil(lambda: not ui.controller.running, timeout=timeout)
    return store
