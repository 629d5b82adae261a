"""File ▸ Export…: the dialog lists the project's runs, exports in a worker thread, reports the
files and the measured difference, shows core's refusal of a pickle, and refuses a broken graph."""
import json
import pickle
import shutil
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QDialog

from layerlab.core import resources
from layerlab.core.export import FORMATS as CORE_FORMATS
from layerlab.gui.export_dialog import ExportDialog
from layerlab.gui.export_support import FORMATS, list_runs, runs_root

EXPORT_MS = 60_000   # the first ONNX export in a process imports the exporter: seconds
PRE = {"kind": "standardize", "input_shape": [2], "shift": [0.1, -0.2], "scale": [2.0, 0.5]}


def make_run(root, name, metrics=True, result=True):
    """A run folder as the trainer leaves it, without training: the mlp's initial weights."""
    from layerlab.core.compiler import compile_graph
    from layerlab.core.export.prepared import save_weights_readable
    from layerlab.core.project import load_project

    run = root / name
    run.mkdir(parents=True)
    compiled = compile_graph(load_project(resources.template_path("mlp")).graph)
    for which in ("best", "last"):
        save_weights_readable(compiled.module, compiled.node_of_module, run / f"{which}.safetensors")
    (run / "preprocessing.json").write_text(json.dumps(PRE))
    if metrics:
        (run / "metrics.csv").write_text("epoch,train_loss,val_loss,val_accuracy,val_f1,lr,seconds\n"
                                         "1,1.1,0.61,0.5,0.5,0.01,0.1\n2,0.9,0.5234,0.6,0.6,0.01,0.1\n")
    if result:
        (run / "result.json").write_text(json.dumps({"status": "finished", "monitor": "val_loss",
                                                     "best_epoch": 2, "best_value": 0.5234}))
    return run


@pytest.fixture
def win(qtbot, tmp_path):
    """The builder on a saved copy of the mlp template (runs go to tmp_path/runs), with two runs."""
    from layerlab.gui.app import create_window
    project = tmp_path / "spiral.layerlab.json"
    shutil.copy(resources.template_path("mlp"), project)
    make_run(tmp_path / "runs", "20240102-090000-spiral-mlp", result=False)
    make_run(tmp_path / "runs", "20240305-141500-spiral-mlp")
    w = create_window(project)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.document.undo_stack.setClean()
    w.close()
    w.deleteLater()


def open_dialog(win) -> ExportDialog:
    act = win.findChild(QAction, "actionExport")
    assert act.isEnabled() and act.shortcut().toString() == "Ctrl+E"
    act.trigger()
    dlg = win.findChild(QDialog, "exportDialog")
    assert isinstance(dlg, ExportDialog) and dlg.isVisible()
    return dlg


def pick_format(dlg, fmt):
    dlg.format.setCurrentIndex(dlg.format.findData(fmt))


def export(qtbot, dlg, fmt, out):
    """Choose the format and output, press Export, wait for the worker; returns (ok, worker)."""
    pick_format(dlg, fmt)
    dlg.path.setText(str(out))
    with qtbot.waitSignal(dlg.export_finished, timeout=EXPORT_MS) as blocker:
        qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
        worker = dlg.worker
        assert worker is not None and dlg.busy and not dlg.busy_row.isHidden()
        assert not dlg.export_button.isEnabled() and not dlg.format.isEnabled()
    assert worker.isFinished() and dlg.worker is None and dlg.busy_row.isHidden()
    return blocker.args[0], worker


def test_dialog_lists_runs_newest_first_and_explains_formats(win, tmp_path):
    assert set(FORMATS) == set(CORE_FORMATS)
    dlg = open_dialog(win)
    labels = [dlg.source.itemText(i) for i in range(dlg.source.count())]
    assert labels[0] == "spiral-mlp  ·  2024-03-05 14:15  ·  best val_loss 0.5234 (epoch 2)"
    assert labels[1] == "spiral-mlp  ·  2024-01-02 09:00  ·  best val_loss 0.5234"   # from metrics.csv
    assert labels[2] == "Choose file…"
    assert dlg.weights_path() == tmp_path / "runs" / "20240305-141500-spiral-mlp" / "best.safetensors"
    assert dlg.weights_hint.text() == "Uses the run's best.safetensors and its preprocessing.json"
    dlg.last.setChecked(True)
    assert dlg.weights_path().name == "last.safetensors"

    assert dlg.format_help.text() == "ONNX — runs in onnxruntime, C++, browsers; preprocessing included"
    assert dlg.path.text() == str(tmp_path / "spiral_mlp.onnx")       # beside the project
    pick_format(dlg, "source")
    assert dlg.path.text() == str(tmp_path / "spiral_mlp.py") and "PyTorch source" in dlg.format_help.text()
    pick_format(dlg, "native")
    assert dlg.path.text() == str(tmp_path / "spiral_mlp-layerlab")
    dlg.path.setText(str(tmp_path / "mine"))
    pick_format(dlg, "card")
    assert dlg.path.text() == str(tmp_path / "mine.md")                 # a typed name keeps its stem

    win.training_ui = SimpleNamespace(runs_root=lambda: tmp_path / "elsewhere")  # the training UI decides
    assert runs_root(win) == tmp_path / "elsewhere" and list_runs(runs_root(win)) == []
    dlg.close()


def test_exports_onnx_and_source_in_a_worker_and_reports(win, tmp_path, qtbot, monkeypatch, dialogs):
    dlg = open_dialog(win)
    ok, worker = export(qtbot, dlg, "onnx", tmp_path / "out" / "model.onnx")
    assert ok, dlg.message.text()
    assert (tmp_path / "out" / "model.onnx").is_file()
    assert worker.job["weights_path"].name == "best.safetensors"
    text = dlg.result_text.text()
    assert dlg.result.isVisible() and dlg.message.isHidden()
    assert "model.onnx" in text and "Max difference vs LayerLab's outputs: <b>" in text and "opset" in text
    assert worker.result.info["max_abs_diff"] < 1e-4

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    qtbot.mouseClick(dlg.open_folder, Qt.MouseButton.LeftButton)
    assert [u.toLocalFile() for u in opened] == [str(tmp_path / "out")]

    dlg.last.setChecked(True)
    ok, worker = export(qtbot, dlg, "source", tmp_path / "out" / "model")   # the suffix is added
    assert ok, dlg.message.text()
    assert worker.job["weights_path"].name == "last.safetensors"
    assert (tmp_path / "out" / "model.py").is_file() and (tmp_path / "out" / "model.safetensors").is_file()
    assert "Max difference vs LayerLab's outputs: <b>0.00e+00</b>" in dlg.result_text.text()
    assert dlg.path.text() == str(tmp_path / "out" / "model.py")
    assert dlg.start() is False and dlg.worker is None           # "Replace?" answered No
    assert dialogs.calls[-1][:2] == ("question", "Replace?")
    asked = " ".join(str(part) for part in dialogs.calls[-1])     # every file it would replace, by name
    assert str(tmp_path / "out" / "model.py") in asked and str(tmp_path / "out" / "model.safetensors") in asked
    dlg.close()
    assert not dlg.isVisible()


def test_pickle_weights_show_cores_refusal_and_dialog_stays_usable(win, tmp_path, qtbot, dialogs):
    bad = tmp_path / "model.pt"
    bad.write_bytes(pickle.dumps({"fc1.weight": [1.0]}, protocol=4))
    dlg = open_dialog(win)
    choose = dlg.source.count() - 1
    dlg.source.setCurrentIndex(choose)                 # cancelled: back to the run
    assert dlg.source.currentIndex() == 0 and dialogs.kinds() == ["getOpenFileName"]
    dialogs.files = [bad]
    dlg.source.setCurrentIndex(choose)
    assert dlg.source.currentText() == "File: model.pt" and dlg.weights_path() == bad
    assert "no preprocessing.json" in dlg.weights_hint.text()

    ok, _ = export(qtbot, dlg, "onnx", tmp_path / "x.onnx")
    assert not ok and dlg.message.isVisible() and dlg.result.isHidden()
    assert "pickle" in dlg.message.text() and "safetensors" in dlg.message.text()
    assert dlg.message.text().startswith("Export failed: ")
    assert not (tmp_path / "x.onnx").exists()
    assert dlg.export_button.isEnabled()

    dlg.source.setCurrentIndex(0)                      # usable again: a run exports
    ok, _ = export(qtbot, dlg, "source", tmp_path / "y.py")
    assert ok and dlg.message.isHidden() and (tmp_path / "y.py").is_file()
    dlg.close()


def test_invalid_graph_disables_and_refuses_export(win, tmp_path, qtbot):
    graph = win.document.graph
    edge = graph.edges[0]
    graph.disconnect(edge)
    win.document.flush()
    first = win.document.analysis.errors[0]
    act = win.findChild(QAction, "actionExport")
    assert not act.isEnabled()

    dlg = win.export()                                 # the menu is disabled; the dialog refuses too
    assert not dlg.export_button.isEnabled()
    assert dlg.message.isVisible() and str(first) in dlg.message.text() and "problem" in dlg.message.text()
    assert dlg.start() is False and dlg.worker is None

    graph.connect(edge.src, edge.dst, edge.slot)
    win.document.flush()
    assert act.isEnabled() and dlg.export_button.isEnabled() and dlg.message.isHidden()
    dlg.close()


def test_an_earlier_run_exports_with_its_own_project_after_the_graph_changed(win, tmp_path, qtbot):
    """Issue 18 item 2: after a Dense's units changed, the run's weights no longer fit the current
    graph; the dialog says the run's own project is used, and the export is the run's network."""
    import torch

    from layerlab.core.compiler import compile_graph
    from layerlab.core.export import load_native
    from layerlab.core.project import load_project
    from layerlab.core.train import Trainer
    from layerlab.core.weights import load_weights
    from layerlab.gui.commands import SetParam

    project = load_project(win.document.path)
    project.training.epochs = 1
    run = tmp_path / "runs" / "20250101-000000-spiral-mlp"
    Trainer(project, run_dir=run).fit()
    fc1 = win.document.graph.by_name("fc1")
    win.document.push(SetParam(win.document.graph, fc1.id, "units", fc1.params["units"] + 5))
    win.document.flush()

    dlg = open_dialog(win)
    assert dlg.weights_path() == run / "best.safetensors"
    assert dlg.weights_hint.text() == ("Uses the run's best.safetensors with the run's own project: the graph has "
                                       "changed since it trained")
    ok, worker = export(qtbot, dlg, "native", tmp_path / "out" / "model")
    assert ok, dlg.message.text()
    import html
    assert f"Used the run's own project ({run / 'project.layerlab.json'})" in html.unescape(dlg.result_text.text())
    trained = compile_graph(load_project(run / "project.layerlab.json").graph)
    load_weights(trained.module, trained.node_of_module, run / "best.safetensors")
    x = torch.randn(16, 2)
    with torch.no_grad():
        assert torch.equal(load_native(tmp_path / "out" / "model")[1].module(x), trained.module.eval()(x))

    dlg.source.setCurrentIndex(1)            # a run without a project of its own: the current one, as before
    assert dlg.weights_hint.text() == "Uses the run's best.safetensors and its preprocessing.json"
    dlg.close()
