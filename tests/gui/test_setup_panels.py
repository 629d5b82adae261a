"""Set-up panels: every edit goes through the widgets, is one undo step, and the widgets follow
undo; ill-suited choices are flagged with a one-click fix."""
from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QWidget

from layerlab.core.graph import Edge
from layerlab.gui.commands import AddNodes, Connect, RemoveItems

from .training_support import edit, field, mlp_window, open_window, close_window  # noqa: F401

_ = mlp_window


def test_an_edit_is_one_undo_step_and_the_widget_follows_undo(qtbot, mlp_window):
    win, ui = mlp_window
    stack, t = win.document.undo_stack, win.document.project.training
    lr = field(ui, "training_lr")
    before = stack.count()
    edit(qtbot, lr, 0.003)
    assert t.lr == 0.003 and stack.count() == before + 1
    assert stack.undoText() == "Set training.lr" and win.document.dirty
    edit(qtbot, lr, 0.004)                      # same focus session: merged into the same step
    assert stack.count() == before + 1
    stack.undo()
    assert t.lr == 0.01 and lr.value() == 0.01
    stack.redo()
    assert t.lr == 0.004 and lr.value() == 0.004
    edit(qtbot, field(ui, "training_optimizer"), "nesterov")
    assert t.optimizer == "nesterov" and stack.count() == before + 2
    stack.undo()
    assert field(ui, "training_optimizer").currentData() == "adam"


def test_data_panel_loads_previews_and_shows_train_only_statistics(qtbot, mlp_window):
    win, ui = mlp_window
    panel, d = ui.data_panel, win.document.project.data
    assert panel.preview.currentWidget() is panel.scatter
    assert "fitted on the training split only" in panel.info.text()
    edit(qtbot, field(ui, "data_dataset"), "moons")
    assert d.dataset == "moons" and set(panel.option_editors) == {"n_samples", "noise"}
    edit(qtbot, panel.option_editors["n_samples"], 300)
    assert d.options == {"n_samples": 300}
    qtbot.waitUntil(lambda: "moons: 210 train" in panel.info.text(), timeout=30_000)
    edit(qtbot, field(ui, "data_dataset"), "iris")
    qtbot.waitUntil(lambda: panel.preview.currentWidget() is panel.table, timeout=30_000)
    assert panel.table.horizontalHeaderItem(panel.table.columnCount() - 1).text() == "target"
    edit(qtbot, field(ui, "data_dataset"), "digits")
    qtbot.waitUntil(lambda: panel.preview.currentWidget() is panel.images, timeout=10_000)
    assert panel.image_item.image.shape[0] > 8
    edit(qtbot, field(ui, "data_preprocessing"), "minmax")
    qtbot.waitUntil(lambda: "minmax: min/max of" in panel.info.text(), timeout=10_000)
    assert not panel.form.isRowVisible(panel.path_row)
    edit(qtbot, field(ui, "data_dataset"), "csv")
    assert panel.form.isRowVisible(panel.path_row)
    qtbot.waitUntil(lambda: "data.path is empty" in panel.info.text(), timeout=30_000)


def test_lr_preview_follows_the_schedule_and_hides_unused_fields(qtbot, mlp_window):
    win, ui = mlp_window
    op, t = ui.optim_panel, win.document.project.training
    spe = ui.ctx.steps_per_epoch()
    assert spe == -(-len(ui.ctx.dataset().x_train) // t.batch_size)
    edit(qtbot, field(ui, "training_schedule"), "warmup_cosine")
    qtbot.waitUntil(lambda: op.curve.yData[0] < t.lr, timeout=3000)   # warm-up starts at 1% of the LR
    y = op.curve.yData
    assert len(y) == t.epochs * spe and abs(y.max() - t.lr) < 1e-9
    assert y[-1] < 0.01 * t.lr
    assert op.sched_form.isRowVisible(op.sched_rows["warmup_epochs"][0])
    assert not op.sched_form.isRowVisible(op.sched_rows["step_size"][0])
    edit(qtbot, field(ui, "training_schedule"), "step")
    assert op.sched_form.isRowVisible(op.sched_rows["step_size"][0])
    assert not op.opt_form.isRowVisible(op.momentum)
    edit(qtbot, field(ui, "training_optimizer"), "momentum")
    assert op.opt_form.isRowVisible(op.momentum) and not op.opt_form.isRowVisible(op.beta1)


def test_training_panel_devices_and_early_stopping(qtbot, mlp_window):
    win, ui = mlp_window
    dev = field(ui, "training_device")
    assert [dev.itemData(i) for i in range(dev.count())][:2] == ["auto", "cpu"]
    tp = ui.training_panel
    assert not tp.es_form.isRowVisible(tp.es_rows[0])
    field(ui, "training_early_stopping").click()
    assert win.document.project.training.early_stopping
    assert tp.es_form.isRowVisible(tp.es_rows[0])
    edit(qtbot, field(ui, "training_patience"), 3)
    assert win.document.project.training.patience == 3
    comp = field(ui, "training_compile")
    assert [comp.itemData(i) for i in range(comp.count())] == ["auto", "on", "off"] and comp.currentData() == "auto"
    edit(qtbot, comp, "off")
    assert win.document.project.training.compile == "off"
    win.document.undo_stack.undo()
    assert win.document.project.training.compile == "auto" and comp.currentData() == "auto"


def test_per_layer_init_override_and_dropout_rates(qtbot, tmp_path):
    win, ui = open_window(qtbot, "digits_cnn", tmp_path)
    try:
        t, g = win.document.project.training, win.document.graph
        combo = ui.init_panel.widget.findChild(QWidget, "init_override_conv1")
        i = combo.findData("orthogonal")
        combo.setCurrentIndex(i)
        combo.activated.emit(i)
        conv1 = g.by_name("conv1").id
        assert t.init_overrides == {conv1: "orthogonal"}
        qtbot.waitUntil(lambda: ui.init_panel.table.item(0, 2).text().startswith("orthogonal"), timeout=3000)
        win.document.undo_stack.undo()
        assert t.init_overrides == {}
        win.scene.select_nodes([g.by_name(n).id for n in ("conv2", "bn2", "relu2")])
        block = win.block_ui.make_block("pair")                   # a block instance's layers get rows too
        qtbot.waitUntil(lambda: ui.init_panel.widget.findChild(QWidget, "init_override_pair1.conv2") is not None,
                        timeout=3000)
        combo = ui.init_panel.widget.findChild(QWidget, "init_override_pair1.conv2")
        i = combo.findData("zeros")
        combo.setCurrentIndex(i)
        combo.activated.emit(i)
        assert t.init_overrides == {f"{block}/{g.blocks['pair'].by_name('conv2').id}": "zeros"}
        rp = ui.reg_panel
        assert rp.widget.findChild(QWidget, "dropout_drop").value() == 0.3
        rp.all_rate.setValue(0.5)
        rp.all_btn.click()
        assert g.by_name("drop").params["p"] == 0.5
        win.document.undo_stack.undo()
        assert g.by_name("drop").params["p"] == 0.3
    finally:
        close_window(win, ui)


def _fix_button(ui, panel: str, needle: str) -> QPushButton:
    box = next(p.checks for p in ui.panels if p.checks.panel == panel)
    assert box.isVisibleTo(box.parentWidget())
    items = [a for a in box.items if needle in a.message]
    assert items, [a.message for a in box.items]
    buttons = box.findChildren(QPushButton)
    return buttons[box.items.index(items[0])]


def test_xavier_in_a_deep_relu_net_is_flagged_with_a_one_click_fix(qtbot, tmp_path):
    win, ui = open_window(qtbot, "deep_mlp", tmp_path)
    try:
        t = win.document.project.training
        edit(qtbot, field(ui, "training_init"), "xavier_normal")
        qtbot.waitUntil(lambda: any("Xavier" in a.message for a in ui.init_panel.checks.items), timeout=30_000)
        _fix_button(ui, "init", "Xavier").click()
        assert t.init == "auto"
        assert field(ui, "training_init").currentData() == "auto"
        qtbot.waitUntil(lambda: not ui.init_panel.checks.items, timeout=30_000)
        win.document.undo_stack.undo()
        assert t.init == "xavier_normal"
    finally:
        close_window(win, ui)


def test_softmax_before_cross_entropy_is_deleted_by_its_fix(qtbot, mlp_window):
    win, ui = mlp_window
    doc, g = win.document, win.document.graph
    logits, out = g.by_name("logits").id, g.by_name("out").id
    edge = next(e for e in g.edges if e.src == logits and e.dst == out)
    stack = doc.undo_stack
    stack.beginMacro("insert softmax")
    doc.push(RemoveItems(g, [], [edge]))
    add = AddNodes(g, [g.nodes[logits].__class__("tmp", "Softmax", "softmax", {}, (0.0, 0.0))], [], fresh=True)
    doc.push(add)
    sm = add.node_ids[0]
    doc.push(Connect(g, Edge(logits, sm, 0)))
    doc.push(Connect(g, Edge(sm, out, 0)))
    stack.endMacro()
    count = len(g.nodes)
    qtbot.waitUntil(lambda: any("Softmax" in a.message for a in ui.optim_panel.checks.items), timeout=30_000)
    _fix_button(ui, "optim", "Softmax").click()
    assert len(g.nodes) == count - 1 and g.by_name("softmax") is None
    assert any(e.src == logits and e.dst == out for e in g.edges)
    stack.undo()
    assert g.by_name("softmax") is not None


def test_a_csv_file_previews_its_rows_and_offers_its_columns_as_target(qtbot, mlp_window, tmp_path):
    win, ui = mlp_window
    csv = tmp_path / "flowers.csv"
    csv.write_text("petal,sepal,stem,kind\n" + "1.0,2.0,3.0,a\n1.5,2.5,3.5,b\n" * 20)
    ui.ctx.base_dir = lambda: tmp_path
    edit(qtbot, field(ui, "data_dataset"), "csv")
    panel = ui.data_panel
    panel.path.setText("flowers.csv")
    panel.path.editingFinished.emit()
    assert win.document.project.data.path == "flowers.csv"
    target = field(ui, "data_target")
    assert [target.itemData(i) for i in range(target.count())] == ["", "petal", "sepal", "stem", "kind"]
    edit(qtbot, target, "kind")
    assert win.document.project.data.target == "kind"
    qtbot.waitUntil(lambda: "flowers.csv: 28 train" in panel.info.text(), timeout=10_000)
    assert panel.preview.currentWidget() is panel.table
    assert panel.table.horizontalHeaderItem(panel.table.columnCount() - 1).text() == "target"


def test_data_outside_the_project_folder_is_read_only_after_asking(qtbot, mlp_window, tmp_path, dialogs):
    """Issue 13 item 15: a project's ../ data path is not followed without the user's yes."""
    from PySide6.QtWidgets import QMessageBox
    win, ui = mlp_window
    (tmp_path / "proj").mkdir()
    (tmp_path / "secret.csv").write_text("a,b,kind\n" + "1.0,2.0,x\n1.5,2.5,y\n" * 20)
    ui.ctx.base_dir = lambda: tmp_path / "proj"
    edit(qtbot, field(ui, "data_dataset"), "csv")
    ui.data_panel.path.setText("../secret.csv")
    ui.data_panel.path.editingFinished.emit()
    qtbot.waitUntil(lambda: any(c[1] == "Read data outside the project?" for c in dialogs.calls), timeout=10_000)
    asked = [c for c in dialogs.calls if c[1] == "Read data outside the project?"][-1]
    assert str(tmp_path / "secret.csv") in asked[2]
    assert ui.ctx.dataset() is None and "outside the project's folder" in ui.ctx.dataset_error
    dialogs.answers["question"] = QMessageBox.StandardButton.Yes
    ui.ctx.project_replaced()                  # any later load asks again; yes reads the file
    qtbot.waitUntil(lambda: ui.ctx.dataset() is not None, timeout=10_000)
    count = len(dialogs.calls)
    assert ui.ctx.dataset() is not None and len(dialogs.calls) == count       # asked once per set of paths


def test_a_fifo_as_csv_path_never_blocks_the_window(qtbot, mlp_window, tmp_path):
    import os
    win, ui = mlp_window
    os.mkfifo(tmp_path / "pipe.csv")
    ui.ctx.base_dir = lambda: tmp_path
    edit(qtbot, field(ui, "data_dataset"), "csv")
    ui.data_panel.path.setText("pipe.csv")
    ui.data_panel.path.editingFinished.emit()      # column list and preview would block on open()
    qtbot.waitUntil(lambda: "not a regular file" in ui.data_panel.info.text(), timeout=10_000)
