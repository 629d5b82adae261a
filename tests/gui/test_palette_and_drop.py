"""Palette contents and filter; adding layers by a real drop event and by double-click."""
from PySide6.QtCore import QPointF, Qt

from layerlab.core import layers

from .helpers import LAYER_MIME, drop_layer, node_named, settle


def test_palette_lists_every_layer_by_category_with_icon_and_help(window):
    pal = window.palette
    # a project's blocks are listed by name (tests/gui/test_blocks.py), not the generic Block type
    assert set(pal.items) == {n for n, s in layers.REGISTRY.items() if not s.block}
    for name, item in pal.items.items():
        spec = layers.get(name)
        assert item.parent().text(0) == spec.category.upper()
        assert not item.icon(0).isNull()
        assert spec.help in item.toolTip(0)


def test_palette_filter_hides_non_matching_layers(window, qtbot):
    pal = window.palette
    qtbot.keyClicks(pal.filter, "conv")
    assert set(pal.visible_layers()) == {"Conv1d", "Conv2d"} | {
        n for n, s in layers.REGISTRY.items() if s.category == "Convolution"}
    pal.filter.clear()
    qtbot.keyClicks(pal.filter, "norm")
    assert {"BatchNorm", "LayerNorm", "GroupNorm", "RMSNorm"} <= set(pal.visible_layers())
    assert "Dense" not in pal.visible_layers()
    pal.filter.clear()
    qtbot.keyClicks(pal.filter, "residual")  # no name matches: the help text is searched
    assert pal.visible_layers() == ["Add"]
    pal.filter.clear()
    assert len(pal.visible_layers()) == len([s for s in layers.REGISTRY.values() if not s.block])


def test_palette_drag_carries_layer_mime(window):
    mime = window.palette.tree.mimeData([window.palette.items["Conv2d"]])
    assert mime.hasFormat(LAYER_MIME)
    assert bytes(mime.data(LAYER_MIME)).decode() == "Conv2d"


def test_drop_adds_layer_where_dropped_and_undo_redo(window, qtbot):
    g = window.document.graph
    window.scene.clearSelection()
    before = g.to_dict()
    where = window.view.mapToScene(window.view.viewport().rect().center())
    assert drop_layer(window.view, "Dense", where)
    new = [n for n in g.nodes.values() if n.type == "Dense" and n.name != "logits"]
    assert len(new) == 1
    node = new[0]
    item = window.scene.nodes[node.id]
    assert item.sceneBoundingRect().contains(where)
    assert window.document.undo_stack.count() == 1
    window.actions.undo.trigger()
    assert g.to_dict() == before and node.id not in window.scene.nodes
    window.actions.redo.trigger()
    assert node.id in g.nodes and node.id in window.scene.nodes
    settle(qtbot, window)


def test_drop_with_one_selected_node_appends_and_connects(blank, qtbot):
    win = blank
    g = win.document.graph
    inp = node_named(win, "x")
    win.scene.select_nodes([inp.id])
    assert drop_layer(win.view, "Dense", QPointF(250, 0))
    dense = next(n for n in g.nodes.values() if n.type == "Dense")
    assert any(e.src == inp.id and e.dst == dense.id for e in g.edges)
    settle(qtbot, win)
    assert win.scene.nodes[dense.id].shape_text == "[B, 64]"


def test_drop_ignores_foreign_mime(window):
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication
    mime = QMimeData()
    mime.setText("Dense")
    ev = QDragEnterEvent(window.view.viewport().rect().center(), Qt.DropAction.CopyAction, mime,
                         Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.view.viewport(), ev)
    assert not ev.isAccepted()


def test_double_click_appends_chain_after_selection(blank, qtbot):
    win = blank
    g = win.document.graph
    win.scene.select_nodes([node_named(win, "x").id])
    tree = win.palette.tree
    for name in ("Dense", "ReLU"):
        item = win.palette.items[name]
        tree.scrollToItem(item)
        rect = tree.visualItemRect(item)
        # a real double-click: the first click's press, then the double-click event
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    dense = next(n for n in g.nodes.values() if n.type == "Dense")
    relu = next(n for n in g.nodes.values() if n.type == "ReLU")
    assert [(e.src, e.dst) for e in g.edges] == [(node_named(win, "x").id, dense.id), (dense.id, relu.id)]
    assert win.scene.selected_node_ids() == [relu.id]
    assert relu.pos[0] > dense.pos[0] > node_named(win, "x").pos[0]
