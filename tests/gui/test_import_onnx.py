"""File ▸ Import ONNX…: the action sits in the File menu before Export…, imports in a worker
thread and opens the imported project (weights and all written to the chosen folder); a model with
an unmapped operator is one dialog naming it, and nothing is written."""
import onnx
import pytest
from onnx import TensorProto, helper
from PySide6.QtGui import QAction

from layerlab.core.compiler import compile_graph
from layerlab.core.export import export
from layerlab.core.export.prepared import save_weights_readable
from layerlab.core.project import load_project
from layerlab.core.resources import template_path

from .conftest import close

IMPORT_MS = 60_000


@pytest.fixture
def win(qtbot):
    from layerlab.gui.app import create_window
    w = create_window()
    w.show()
    qtbot.waitExposed(w)
    yield w
    close(w)


def _digits_onnx(tmp_path):
    project = load_project(template_path("digits_cnn"))
    compiled = compile_graph(project.graph)
    save_weights_readable(compiled.module, compiled.node_of_module, tmp_path / "w.safetensors")
    return export(project, tmp_path / "w.safetensors", "onnx", tmp_path / "digits.onnx")[0]


def test_import_from_the_file_menu_opens_the_imported_graph(win, qtbot, tmp_path, dialogs):
    act = win.findChild(QAction, "actionImportOnnx")
    file_menu = win.menuBar().actions()[0].menu()
    names = [a.objectName() for a in file_menu.actions()]
    assert names.index("actionImportOnnx") < names.index("actionLoadWeights") < names.index("actionExport")
    model = _digits_onnx(tmp_path)
    dialogs.files[:] = [model, tmp_path / "digits-project"]
    importer = win.onnx_importer
    act.trigger()
    assert importer.worker is not None and not act.isEnabled()
    qtbot.waitUntil(lambda: importer.worker is None, timeout=IMPORT_MS)
    assert act.isEnabled() and "critical" not in dialogs.kinds()
    assert win.document.path == (tmp_path / "digits-project" / "project.layerlab.json").resolve()
    types = [n.type for n in win.document.project.graph.nodes.values()]
    assert types.count("Conv2d") == 3 and types.count("Dense") == 1
    assert (tmp_path / "digits-project" / "weights.safetensors").is_file()
    assert "Imported digits.onnx" in win.statusBar().currentMessage()
    assert win.document.analysis.ok


def test_unmapped_operator_is_one_dialog_and_nothing_is_written(win, qtbot, tmp_path, dialogs):
    graph = helper.make_graph([helper.make_node("Sin", ["x"], ["y"], name="wave")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(tmp_path / "sin.onnx"))
    before = win.document.project.to_dict()
    assert win.onnx_importer.start(tmp_path / "sin.onnx", tmp_path / "out")
    qtbot.waitUntil(lambda: win.onnx_importer.worker is None, timeout=IMPORT_MS)
    kind, title, text = dialogs.calls[-1]
    assert kind == "critical" and "Sin node 'wave'" in text and "\n" not in text
    assert not (tmp_path / "out").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["sin.onnx"]
    assert win.document.project.to_dict() == before
