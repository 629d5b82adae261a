"""The Sweeps view: a worker process runs a real Optuna study on the spiral; the table, the
parallel-coordinates and importance plots follow the study live; seeds give mean ± std; the best
trial applies to the project as one undoable step."""
from PySide6.QtCore import Qt

from layerlab.core.project import save_project

from .training_support import mlp_window  # noqa: F401


def test_a_sweep_runs_live_and_the_best_trial_applies_as_one_undo_step(qtbot, mlp_window, tmp_path):
    win, ui = mlp_window
    doc = win.document
    path = tmp_path / "spiral.layerlab.json"
    save_project(doc.project, path)
    doc.set_path(path)
    sweeps = win.sweeps
    sweeps.action.trigger()
    view = sweeps.view
    assert sweeps.dock.isVisible() and view is not None
    view.ranges.setPlainText("training.lr=1e-3:1e-1:log\nfc1.units=4:32")
    view.trials.setValue(4)
    view.epochs.setValue(4)
    view.seeds.setValue(2)
    view.sampler.setCurrentText("random")
    view.objective.setCurrentText("val_accuracy")
    assert view.start()
    assert view.stop_button.isEnabled() and not view.start_button.isEnabled()
    qtbot.waitUntil(lambda: view.summary is not None and view.summary.finished == 4 and not view.runner.running,
                    timeout=300_000)
    qtbot.waitUntil(lambda: view.start_button.isEnabled(), timeout=10_000)
    assert (tmp_path / "spiral.sweeps.db").is_file() and len(list((tmp_path / "sweeps" / "sweep").glob("trial-*"))) == 8
    t = view.table
    heads = [t.horizontalHeaderItem(i).text() for i in range(t.columnCount())]
    assert heads[:5] == ["trial", "state", "val_accuracy", "± std", "epochs"] and heads[5:] == ["training.lr", "fc1.units"]
    assert t.rowCount() == 4 and all(t.item(i, 1).text() == "COMPLETE" for i in range(4))
    assert all(t.item(i, 3).text() != "" for i in range(4))                     # mean ± std with two seeds
    t.sortItems(2, Qt.SortOrder.DescendingOrder)
    best = view.summary.best()
    assert t.item(0, 2).data(Qt.ItemDataRole.DisplayRole) == float(f"{best.value:.4g}")
    assert len(view.parallel.lines) == 3 + 4                                   # three axes, four trials
    t.selectRow(0)
    xs, ys = view.curves.mean.getData()
    assert list(xs) == [1, 2, 3, 4] and view.curves.hi.getData()[1] is not None
    stack, before = doc.undo_stack, doc.project.to_dict()
    count = stack.count()
    assert view.apply_button.isEnabled() and view.apply_best()
    assert stack.count() == count + 1 and stack.undoText() == f"Apply best sweep trial {best.number}"
    assert doc.project.training.lr == best.params["training.lr"]
    assert doc.project.graph.by_name("fc1").params["units"] == best.params["fc1.units"]
    stack.undo()
    assert doc.project.to_dict() == before
    from layerlab.core import resources                 # watching the template opened first wrote nothing there
    assert not list(resources.template_path("mlp").parent.glob("*.sweeps.db*"))
