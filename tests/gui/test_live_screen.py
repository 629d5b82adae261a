"""The dashboard stays live on a real display, and the window survives its training process.

The pixel test reads the X server's own framebuffer (QScreen.grabWindow on the root window,
which on xcb is an X GetImage of the screen), not the curve data or QWidget.grab(): those were
fresh while the screen stood still (issue 19). It needs Qt's xcb platform on an X server (the
test suite runs under Xvfb when Xvfb is installed) and is skipped, saying so, otherwise.
"""
from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication

from .training_support import mlp_window, train  # noqa: F401 - fixture

_ = mlp_window
SAMPLES = 6


def screen_pixels(widget) -> np.ndarray:
    """The widget's rectangle as the X server shows it (RGB array)."""
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    shot = QGuiApplication.primaryScreen().grabWindow(0, top_left.x(), top_left.y(), widget.width(),
                                                      widget.height())
    img = shot.toImage().convertToFormat(shot.toImage().Format.Format_RGB888)
    ptr = img.constBits()
    rows = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return rows[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def long_run(qtbot, ui):
    ui.ctx.set_many([("training", "epochs", 5000), ("training", "batch_size", 8)], "long run")
    ui.action_train.trigger()
    store = ui.controller.store
    qtbot.waitUntil(lambda: len(store.epochs) >= 2, timeout=60_000)
    return store


@pytest.mark.skipif(QGuiApplication.platformName() != "xcb",
                    reason="reads the X screen: needs Qt's xcb platform on an X server (Xvfb)")
def test_loss_and_histogram_cards_change_on_screen_during_a_long_run(qtbot, mlp_window):
    win, ui = mlp_window
    store = long_run(qtbot, ui)
    d = ui.dashboard
    loss_view = d.loss.plot_widget.viewport()
    hist = d.activations
    shots = []
    for _ in range(SAMPLES):
        qtbot.wait(1000)
        shots.append((store.progress.epoch, screen_pixels(loss_view), screen_pixels(hist)))
    ui.action_stop.trigger()
    qtbot.waitUntil(lambda: not ui.controller.running, timeout=30_000)
    assert shots[-1][0] > shots[0][0] + 2, "the run did not advance"
    loss_changes = sum(not np.array_equal(a[1], b[1]) for a, b in zip(shots, shots[1:]))
    hist_changes = sum(not np.array_equal(a[2], b[2]) for a, b in zip(shots, shots[1:]))
    # a frozen screen changes in none of them (issue 19); one missed second is a loaded machine
    assert loss_changes >= SAMPLES - 2, f"loss card changed on screen in {loss_changes} of {SAMPLES - 1} seconds"
    assert hist_changes >= (SAMPLES - 1) // 2, f"histograms changed on screen in {hist_changes} of {SAMPLES - 1} s"
    assert shots[-1][1].std() > 5      # a drawn plot, not a blank rectangle


def test_sigkill_of_the_training_process_keeps_the_window_and_edits_and_trains_again(qtbot, mlp_window,
                                                                                     dialogs):
    from layerlab.core.train.process import checkpoint_epoch
    win, ui = mlp_window
    store = long_run(qtbot, ui)
    qtbot.waitUntil(lambda: checkpoint_epoch(store.run_dir) is not None, timeout=60_000)
    ui.ctx.set("training", "lr", 0.003)          # an unsaved edit made while it trains
    assert not win.document.undo_stack.isClean()
    os.kill(ui.controller.thread.proc.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not ui.controller.running, timeout=30_000)
    assert win.isVisible() and store.status == "failed"
    kind, title, text = dialogs.calls[-1]
    first = text.splitlines()[0]
    assert kind == "critical" and "killed (SIGKILL" in first and "Traceback" not in text
    assert "Press Train to start again" in text and "can be resumed" in text
    assert win.document.project.training.lr == 0.003 and not win.document.undo_stack.isClean()
    assert "failed" in ui.progress.label.text()

    # the run folder resumes from its last checkpoint, in a fresh training process
    done = checkpoint_epoch(store.run_dir)
    project = win.document.project
    ui.ctx.set("training", "epochs", done + 1)
    resumed = ui.controller.start(project, ui.base_dir(), store.run_dir, resume_from=store.run_dir)
    qtbot.waitUntil(lambda: not ui.controller.running, timeout=60_000)
    assert resumed.status == "finished", resumed.failure
    assert resumed.epochs.col("epoch").tolist() == [done + 1]
    assert train(qtbot, ui).status == "finished"     # and a new run trains at once


def test_pause_and_stop_act_within_one_step_across_the_process_boundary(qtbot, mlp_window):
    win, ui = mlp_window
    store = long_run(qtbot, ui)
    ui.action_pause.trigger()
    qtbot.waitUntil(lambda: store.status == "paused", timeout=10_000)
    steps = store.progress.step
    qtbot.wait(600)                               # a dozen Step reports' worth of time
    assert store.progress.step == steps and store.status == "paused"
    ui.action_pause.trigger()
    qtbot.waitUntil(lambda: store.progress.step > steps, timeout=10_000)
    ui.action_stop.trigger()
    qtbot.waitUntil(lambda: not ui.controller.running, timeout=15_000)
    assert store.status == "stopped" and store.result.status == "stopped"
