"""Transfer learning in the window: the inspector's Trainable switch and LR × factor edit the
training spec through undo, frozen layers are drawn marked on the canvas, and Load Weights From…
lists matched and unmatched tensors (with why) before Apply writes the start weights."""
import torch
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox

from layerlab.core.compiler import compile_graph
from layerlab.core.export.prepared import save_weights_readable
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path
from layerlab.core.weights import read_weights
from layerlab.gui.transfer import LoadWeightsDialog

from .training_support import close_window, open_window


def _select(win, name):
    node = win.document.graph.by_name(name)
    win.scene.clearSelection()
    win.scene.nodes[node.id].setSelected(True)
    return node


def test_trainable_switch_and_lr_factor_are_undoable_and_marked(qtbot, tmp_path):
    win, ui = open_window(qtbot, "digits_cnn", tmp_path)
    try:
        node = _select(win, "conv1")
        box = win.inspector.findChild(QCheckBox, "inspectorTrainable")
        assert box is not None and box.isChecked() and box.isEnabled()
        box.setChecked(False)
        t = win.document.project.training
        assert t.frozen == [node.id] and win.scene.nodes[node.id].frozen
        assert not win.scene.nodes[win.document.graph.by_name("conv2").id].frozen
        win.document.undo_stack.undo()
        assert win.document.project.training.frozen == [] and not win.scene.nodes[node.id].frozen
        lr = win.inspector.findChild(QDoubleSpinBox, "inspectorLrMultiplier")
        lr.setValue(0.1)
        lr.editingFinished.emit()
        assert win.document.project.training.lr_multipliers == {node.id: 0.1}
        _select(win, "relu1")                                        # no weights: no switch
        assert win.inspector.findChild(QCheckBox, "inspectorTrainable") is None
        g = win.document.graph
        win.scene.select_nodes([g.by_name(n).id for n in ("conv2", "bn2", "relu2")])
        block = win.block_ui.make_block("pair")
        win.scene.clearSelection()
        win.scene.nodes[block].setSelected(True)                    # a block instance: one switch for its layers
        box = win.inspector.findChild(QCheckBox, "inspectorTrainable")
        assert box is not None and box.isChecked()
        inner = win.inspector.findChild(QCheckBox, "inspectorTrainable_pair1.conv2")
        assert inner is not None and inner.isChecked() and inner.isEnabled()
        assert win.inspector.findChild(QCheckBox, "inspectorTrainable_pair1.relu2") is None   # no weights
        inner.setChecked(False)                                      # one layer of this instance
        conv2 = g.blocks["pair"].by_name("conv2").id
        assert win.document.project.training.frozen == [f"{block}/{conv2}"]
        win.document.undo_stack.undo()
        box = win.inspector.findChild(QCheckBox, "inspectorTrainable")
        box.setChecked(False)
        assert block in win.document.project.training.frozen and win.scene.nodes[block].frozen
        assert not win.inspector.findChild(QCheckBox, "inspectorTrainable_pair1.conv2").isEnabled()
    finally:
        close_window(win, ui)


def test_load_weights_lists_matches_before_applying(qtbot, tmp_path, dialogs):
    source = load_project(template_path("digits_cnn"))
    compiled = compile_graph(source.graph)
    run = tmp_path / "runs" / "20260101-120000-digits"
    run.mkdir(parents=True)
    save_project(source, run / "project.layerlab.json")
    save_weights_readable(compiled.module, compiled.node_of_module, run / "best.safetensors")
    win, ui = open_window(qtbot, "digits_cnn", tmp_path)
    try:
        head = win.document.graph.by_name("logits")
        win.document.graph.set_param(head.id, "units", 5)           # a new 5-class head
        assert win.files.save_to(tmp_path / "five.layerlab.json")
        act = win.findChild(QAction, "actionLoadWeights")
        act.trigger()
        dlg = win.findChild(LoadWeightsDialog, "loadWeightsDialog")
        assert dlg is not None and dlg.isVisible()
        rows = {dlg.table.item(i, 0).text(): (dlg.table.item(i, 1).text(), dlg.table.item(i, 2).text())
                for i in range(dlg.table.rowCount())}
        assert rows["conv1.weight"] == ("matched", "")
        assert rows["logits.weight"] == ("not matched", "shape [5, 256] here, [10, 256] in the source")
        assert "layers matched" in dlg.summary.text()
        assert win.document.project.training.start_weights == ""     # nothing applied yet
        assert dlg.apply.isEnabled() and dlg.apply_match()
        assert win.document.project.training.start_weights == "five.start.safetensors"
        written, _ = read_weights(tmp_path / "five.start.safetensors")
        conv1 = win.document.graph.by_name("conv1").id
        assert torch.equal(written[f"{conv1}.weight"], compiled.module.conv1.weight.detach())
        assert f"{head.id}.weight" not in written
        win.document.undo_stack.undo()
        assert win.document.project.training.start_weights == ""
    finally:
        for d in win.findChildren(LoadWeightsDialog):
            d.close()
        close_window(win, ui)
