"""Blocks in the window: Make Block from 3 selected nodes is one undo step that restores the exact
graph; the palette lists the block and a drop adds an instance; double-click opens the block's
editor, whose edits (undoable) change every instance; export / import of a block file."""
from PySide6.QtCore import QEvent, QPointF, Qt

from layerlab.core.graph import Graph
from layerlab.core.project import Project

from .helpers import _mouse, drop_layer, settle


def _mlp() -> Project:
    g = Graph()
    names = [("x", "Input", {"shape": [4]}), ("d1", "Dense", {"units": 8}), ("r1", "ReLU", {}),
             ("d2", "Dense", {"units": 6}), ("r2", "ReLU", {}), ("head", "Dense", {"units": 3}), ("y", "Output", {})]
    prev = None
    for i, (name, type_, params) in enumerate(names):
        n = g.add_node(type_, params, (230.0 * i, 40.0), name=name)
        if prev is not None:
            g.connect(prev, n.id)
        prev = n.id
    return Project(graph=g, name="mlp")


def test_make_block_undo_restores_the_exact_graph_and_redo_again(blank, qtbot):
    win = blank
    win.document.set_project(_mlp())
    g = win.document.graph
    before = g.to_dict()
    total = win.document.reanalyze().total_params
    win.scene.select_nodes([g.by_name(n).id for n in ("d1", "r1", "d2")])
    block_id = win.block_ui.make_block("mlp_block")
    settle(qtbot, win)
    after = g.to_dict()
    assert list(g.blocks) == ["mlp_block"] and g.nodes[block_id].params == {"block": "mlp_block", "inputs": 1}
    assert len(g.nodes) == 5 and win.document.analysis.ok and win.document.analysis.total_params == total
    assert block_id in win.scene.nodes and "Block:mlp_block" in win.palette.items
    assert win.document.undo_stack.count() == 1
    win.actions.undo.trigger()
    settle(qtbot, win)
    assert g.to_dict() == before and g.blocks == {} and "Block:mlp_block" not in win.palette.items
    assert set(win.scene.nodes) == set(g.nodes)
    win.actions.redo.trigger()
    settle(qtbot, win)
    assert g.to_dict() == after and list(g.blocks) == ["mlp_block"] and win.document.analysis.ok


def test_instances_from_the_palette_and_editing_the_block(blank, qtbot, tmp_path):
    win = blank
    win.document.set_project(_mlp())
    g = win.document.graph
    win.scene.select_nodes([g.by_name(n).id for n in ("d1", "r1", "d2")])
    first = win.block_ui.make_block("blk")
    win.scene.clearSelection()
    assert drop_layer(win.view, "Block:blk", QPointF(300, 400))
    second = next(i for i, n in g.nodes.items() if n.spec.block and i != first)
    assert g.nodes[second].params == {"block": "blk", "inputs": 1}
    assert win.editor.connect_nodes(g.by_name("x").id, second, 0)
    win.scene.select_nodes([first])
    assert win.inspector.editors["block"].value_() == "blk"    # the inspector shows which block
    # double-click the first instance: its block opens in an editor on the same undo stack
    center = win.scene.nodes[first].sceneBoundingRect().center()
    left = Qt.MouseButton.LeftButton
    _mouse(win.view, QEvent.Type.MouseButtonDblClick, center, left, left)
    editor = win.block_ui.editors["blk"]
    assert editor.isVisible() and editor.document.graph is g.blocks["blk"]
    inner = g.blocks["blk"].by_name("d2")
    assert set(editor.scene.nodes) == set(g.blocks["blk"].nodes)
    editor.scene.select_nodes([inner.id])                   # the editor's inspector edits inner layers
    units = editor.inspector.editors["units"]
    units.setValue(5)
    assert win.document.undo_stack.undoText() == "Set d2.units" and inner.params["units"] == 5
    settle(qtbot, win)
    a = win.document.analysis
    assert a.shapes[first].shape == (5,) and a.shapes[second].shape == (5,)
    win.actions.undo.trigger()
    settle(qtbot, win)
    assert win.document.analysis.shapes[first].shape == (6,)
    # export, then import into another project: a new definition, one undo step
    path = win.block_ui.export_block("blk", str(tmp_path / "blk.layerlab-block.json"))
    editor.close()
    win.document.set_project(_mlp())
    name = win.block_ui.import_block(str(path))
    settle(qtbot, win)
    assert name == "blk" and "Block:blk" in win.palette.items
    assert win.document.graph.blocks["blk"].to_dict() == g.blocks["blk"].to_dict()
    win.actions.undo.trigger()
    assert win.document.graph.blocks == {}


def test_a_block_of_blocks_opens_the_inner_block_from_its_editor(blank, qtbot, tmp_path):
    """Blocks nest: a selection holding a block instance becomes a block; in its editor the inner
    instance shows its shape and double-clicking it opens the inner block; export and import carry
    both definitions in one undo step."""
    win = blank
    win.document.set_project(_mlp())
    g = win.document.graph
    win.scene.select_nodes([g.by_name(n).id for n in ("d1", "r1")])
    inner_id = win.block_ui.make_block("pair")
    win.scene.select_nodes([inner_id, g.by_name("d2").id])
    outer_id = win.block_ui.make_block("trunk")
    settle(qtbot, win)
    assert outer_id and win.document.analysis.ok and win.document.analysis.shapes[outer_id].shape == (6,)
    left = Qt.MouseButton.LeftButton
    _mouse(win.view, QEvent.Type.MouseButtonDblClick, win.scene.nodes[outer_id].sceneBoundingRect().center(), left, left)
    outer = win.block_ui.editors["trunk"]
    assert outer.document.analysis.ok and outer.document.analysis.shapes[inner_id].shape == (8,)
    _mouse(outer.view, QEvent.Type.MouseButtonDblClick, outer.scene.nodes[inner_id].sceneBoundingRect().center(),
           left, left)
    inner = win.block_ui.editors["pair"]
    assert inner.isVisible() and inner.document.graph is g.blocks["pair"]
    assert inner.document.analysis.ok and inner.document.analysis.shapes[g.blocks["pair"].by_name("d1").id].shape == (8,)
    path = win.block_ui.export_block("trunk", str(tmp_path / "trunk.layerlab-block.json"))
    inner.close(), outer.close()
    win.document.set_project(_mlp())
    assert win.block_ui.import_block(str(path)) == "trunk"
    assert sorted(win.document.graph.blocks) == ["pair", "trunk"]
    win.actions.undo.trigger()
    assert win.document.graph.blocks == {}
