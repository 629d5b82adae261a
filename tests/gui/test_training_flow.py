"""Train through the GUI: set up on spiral with the mlp template, run, pause / resume / stop,
a failing run's dialog, and the run history of an A/B pair."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QMessageBox, QToolBar

from .training_support import edit, field, mlp_window, train  # noqa: F401 - fixture

_ = mlp_window


def test_set_up_and_train_two_epochs_on_spiral_through_the_gui(qtbot, mlp_window):
    win, ui = mlp_window
    edit(qtbot, field(ui, "data_dataset"), "spiral")
    edit(qtbot, field(ui, "training_epochs"), 2)
    edit(qtbot, field(ui, "training_batch_size"), 32)
    assert win.document.project.training.epochs == 2
    assert win.document.project.training.batch_size == 32
    assert ui.action_train in win.findChild(QToolBar, "mainToolBar").actions()

    store = train(qtbot, ui)
    assert store.status == "finished", store.failure
    assert store.epochs.col("epoch").tolist() == [1.0, 2.0]
    assert ui.controller.thread is None
    d = ui.dashboard
    assert len(d.loss.smooth.xData) == len(store.steps) >= 1   # Step events come every 50 ms
    assert len(d.loss.val.xData) == 2
    assert len(d.metric_card.curves["val_accuracy"].xData) == 2
    assert set(d.gradients.curves) == {"fc1", "fc2", "logits"}
    assert d.activations.slider.maximum() == len(store.probes) - 1 >= 1
    assert store.probes[0].epoch == 0 and store.probes[-1].epoch == 2
    assert "finished" in ui.progress.label.text()
    qtbot.waitUntil(lambda: d.saliency.result is not None, timeout=10_000)  # refreshed after the run
    assert d.saliency.result["attr"].shape == (2,)
    run = Path(store.run_dir)
    assert run.parent == ui.runs_root() and (run / "metrics.csv").is_file()
    assert ui.action_train.isEnabled() and not ui.action_stop.isEnabled()


def test_pause_resume_stop_and_the_thread_is_gone(qtbot, mlp_window):
    win, ui = mlp_window
    ui.ctx.set("training", "epochs", 5000)      # far longer than the test
    ui.ctx.set("training", "batch_size", 8)
    ui.action_train.trigger()
    store = ui.controller.store
    qtbot.waitUntil(lambda: len(store.steps) >= 3, timeout=30_000)
    assert not ui.action_train.isEnabled()
    ui.action_pause.trigger()
    qtbot.waitUntil(lambda: store.status == "paused", timeout=10_000)
    assert ui.action_pause.text() == "&Resume"
    assert "Paused" in ui.progress.label.text()
    seen = len(store.steps)
    ui.action_pause.trigger()                    # resume
    qtbot.waitUntil(lambda: store.status == "running" and len(store.steps) > seen, timeout=10_000)
    thread = ui.controller.thread
    assert isinstance(thread, QThread) and thread.isRunning()
    assert thread.proc.pid != os.getpid() and thread.proc.alive()   # the run trains in its own process
    ui.action_stop.trigger()
    qtbot.waitUntil(lambda: ui.controller.thread is None, timeout=15_000)
    assert store.status == "stopped"
    assert store.result is not None and store.result.status == "stopped"
    assert not ui.action_stop.isEnabled() and ui.action_train.isEnabled()


def test_a_failing_run_shows_its_dialog_and_the_app_stays_usable(qtbot, mlp_window, dialogs):
    win, ui = mlp_window
    # a preflight mismatch: a regression loss on class labels refuses to start
    edit(qtbot, field(ui, "training_loss"), "mse")
    store = train(qtbot, ui)
    assert store.status == "failed"
    kind, title, text = dialogs.calls[-1]
    assert kind == "critical" and title == "Training failed"
    assert "regression loss" in text and "Fix:" in text
    assert ui.dashboard.diagnostics.state.text().count("Failed") == 1

    # a divergence: momentum SGD at lr 1000 from a large init goes NaN within an epoch
    win.document.undo_stack.undo()
    assert win.document.project.training.loss == "cross_entropy"
    ui.ctx.set("training", "epochs", 3)
    edit(qtbot, field(ui, "training_optimizer"), "momentum")
    edit(qtbot, field(ui, "training_lr"), 1000.0)
    edit(qtbot, field(ui, "training_init"), "large_normal")
    assert win.document.project.training.lr == 1000.0
    store = train(qtbot, ui)
    assert store.status == "failed"
    assert "NaN" in dialogs.calls[-1][2] and "learning rate" in dialogs.calls[-1][2]
    assert ui.controller.thread is None

    # still usable: undo the bad set-up and train fine
    for _ in range(3):
        win.document.undo_stack.undo()
    assert win.document.project.training.lr == 0.01 and field(ui, "training_lr").value() == 0.01
    ui.ctx.set("training", "epochs", 1)
    store = train(qtbot, ui)
    assert store.status == "finished"
    assert len(dialogs.calls) == 2


def test_run_history_lists_both_runs_of_an_ab_pair_and_overlays_them(qtbot, mlp_window):
    win, ui = mlp_window
    ui.ctx.set("training", "epochs", 2)
    a = train(qtbot, ui)
    edit(qtbot, field(ui, "training_lr"), 0.001)
    b = train(qtbot, ui)
    assert a.status == b.status == "finished"
    hist = ui.dashboard.history
    ui.dashboard.tabs.setCurrentWidget(hist)
    tree = hist.tree
    assert tree.topLevelItemCount() == 2
    names = {tree.topLevelItem(i).text(0) for i in range(2)}
    assert names == {Path(a.run_dir).name, Path(b.run_dir).name}
    lrs = sorted(tree.topLevelItem(i).text(4) for i in range(2))
    assert lrs == ["0.001", "0.01"]
    tree.selectAll()
    assert len(hist.overlaid) == 2
    curves = [c for c in hist.plot.listDataItems() if c.xData is not None and len(c.xData)]
    assert len(curves) == 2
    assert sorted(len(c.xData) for c in curves) == [2, 2]
    assert "training.lr: 0.01 → 0.001" in hist.diff.text()


def test_closing_the_window_mid_run_asks_then_stops_the_thread(qtbot, mlp_window, dialogs):
    win, ui = mlp_window
    ui.ctx.set_many([("training", "epochs", 5000), ("training", "batch_size", 8)], "long")
    ui.action_train.trigger()
    qtbot.waitUntil(lambda: ui.controller.status == "running", timeout=30_000)
    dialogs.answers["question"] = QMessageBox.StandardButton.No
    win.document.undo_stack.setClean()
    assert not win.close()                      # "No": the run and the window stay
    assert ui.controller.running and dialogs.calls[-1][1] == "Training in progress"
    dialogs.answers["question"] = QMessageBox.StandardButton.Yes
    assert win.close()
    assert ui.controller.thread is None and ui.controller.store.status == "stopped"


def test_a_segfault_in_the_training_process_is_reported_and_the_app_trains_again(qtbot, mlp_window, dialogs):
    win, ui = mlp_window
    ui.ctx.set_many([("training", "epochs", 5000), ("training", "batch_size", 8)], "long")
    ui.action_train.trigger()
    store = ui.controller.store
    qtbot.waitUntil(lambda: len(store.steps) >= 2, timeout=60_000)
    os.kill(ui.controller.thread.proc.pid, signal.SIGSEGV)
    qtbot.waitUntil(lambda: ui.controller.thread is None, timeout=30_000)
    assert store.status == "failed"
    kind, title, text = dialogs.calls[-1]
    assert kind == "critical" and "segmentation fault" in text.splitlines()[0]
    assert "Press Train to start again" in text and "Traceback" not in text
    ui.ctx.set("training", "epochs", 1)
    assert train(qtbot, ui).status == "finished"
