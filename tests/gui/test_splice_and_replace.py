"""Issue 11 item 9: a palette layer dropped on an edge goes into it (src → new → dst) as one undo
step, with the edge highlighted while the drag hovers; a wire dropped on an occupied input
replaces the old connection (one undo step, said in the status bar)."""
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent

from .helpers import LAYER_MIME, _mouse, drag, drop_layer, item_named, settle


def _chain(win, qtbot):
    """x → out connected by a mouse drag; returns the edge item, undo history cleared."""
    x, out = item_named(win, "x"), item_named(win, "out")
    drag(win.view, x.out_port.scenePos(), out.in_ports[0].scenePos())
    settle(qtbot, win)
    win.document.undo_stack.clear()
    win.scene.clearSelection()
    (item,) = [i for items in win.scene.edge_items.values() for i in items]
    return item


def _hover(view, layer: str, scene_pos: QPointF) -> None:
    """A palette drag entering the canvas and moving to `scene_pos` (no drop)."""
    local = view.mapFromScene(scene_pos)
    mime = QMimeData()
    mime.setData(LAYER_MIME, layer.encode())
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    from PySide6.QtWidgets import QApplication
    QApplication.sendEvent(view.viewport(), QDragEnterEvent(local, *args))
    QApplication.sendEvent(view.viewport(), QDragMoveEvent(local, *args))


def test_a_layer_dropped_on_an_edge_goes_into_it_and_undo_restores_the_edge(blank, qtbot):
    win = blank
    g = win.document.graph
    edge_item = _chain(win, qtbot)
    x, out = edge_item.edge.src, edge_item.edge.dst
    before = g.to_dict()
    mid = edge_item.path().pointAtPercent(0.5)
    _hover(win.view, "Dense", mid)
    assert edge_item.mark == "insert"                    # the user sees where it lands
    assert drop_layer(win.view, "Dense", mid)
    assert edge_item.mark is None
    dense = next(n for n in g.nodes.values() if n.type == "Dense")
    assert [(e.src, e.dst, e.slot) for e in g.edges] == [(x, dense.id, 0), (dense.id, out, 0)]
    assert win.document.undo_stack.count() == 1
    settle(qtbot, win)
    items = win.scene.nodes
    for a, b in ((x, dense.id), (dense.id, out)):        # room was made: nothing overlaps
        assert not items[a].sceneBoundingRect().intersects(items[b].sceneBoundingRect())
    after = g.to_dict()
    win.actions.undo.trigger()
    assert g.to_dict() == before
    assert dense.id not in win.scene.nodes and len(win.scene.edge_items) == 1
    win.actions.redo.trigger()
    assert g.to_dict() == after
    win.actions.undo.trigger()
    assert g.to_dict() == before


@pytest.mark.parametrize("layer", ["Input", "Output"])
def test_a_layer_without_an_input_or_an_output_is_not_spliced(blank, qtbot, layer):
    win = blank
    g = win.document.graph
    edge_item = _chain(win, qtbot)
    edges = list(g.edges)
    mid = edge_item.path().pointAtPercent(0.5)
    _hover(win.view, layer, mid)
    assert edge_item.mark is None                        # no promise of a splice
    drop_layer(win.view, layer, mid)
    assert g.edges == edges                              # the edge is untouched
    assert all(e.src != n.id and e.dst != n.id for n in g.nodes.values() if n.id not in
               (edge_item.edge.src, edge_item.edge.dst) for e in g.edges)


def test_a_drop_beside_an_edge_does_not_splice(blank, qtbot):
    win = blank
    g = win.document.graph
    edge_item = _chain(win, qtbot)
    far = edge_item.path().pointAtPercent(0.5) + QPointF(0, 300)
    drop_layer(win.view, "Dense", far)
    assert g.edges == [edge_item.edge]


def test_a_wire_onto_an_occupied_input_replaces_the_old_one_and_undo_puts_it_back(blank, qtbot):
    win = blank
    g = win.document.graph
    old_item = _chain(win, qtbot)
    drop_layer(win.view, "Dense", QPointF(250, 300))
    dense = win.scene.nodes[win.scene.selected_node_ids()[0]]
    out = item_named(win, "out")
    before = g.to_dict()
    steps = win.document.undo_stack.count()
    # while the wire hovers over the taken input, the connection it would replace is marked
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    _mouse(win.view, QEvent.Type.MouseButtonPress, dense.out_port.scenePos(), left, left)
    _mouse(win.view, QEvent.Type.MouseMove, out.in_ports[0].scenePos() + QPointF(-30, 0), none, left)
    _mouse(win.view, QEvent.Type.MouseMove, out.in_ports[0].scenePos(), none, left)
    assert old_item.mark == "replace"
    _mouse(win.view, QEvent.Type.MouseButtonRelease, out.in_ports[0].scenePos(), left, none)
    assert old_item.mark is None
    assert [(e.src, e.dst) for e in g.edges] == [(dense.node_id, out.node_id)]
    assert win.document.undo_stack.count() == steps + 1
    assert "Replaced x → out with" in win.statusBar().currentMessage()
    assert not win.editor.last_refusal
    win.actions.undo.trigger()
    assert g.to_dict() == before
    win.actions.redo.trigger()
    assert [(e.src, e.dst) for e in g.edges] == [(dense.node_id, out.node_id)]


def test_a_replacement_that_would_make_a_cycle_is_refused_and_changes_nothing(blank, qtbot):
    win = blank
    g = win.document.graph
    edge_item = _chain(win, qtbot)
    assert drop_layer(win.view, "Dense", edge_item.path().pointAtPercent(0.5))   # x → dense1 → out
    d1 = win.scene.nodes[win.scene.selected_node_ids()[0]]
    d1_edge = next(i for i in d1.edges if i.edge.src == d1.node_id)
    assert drop_layer(win.view, "Dense", d1_edge.path().pointAtPercent(0.5))       # x → d1 → d2 → out
    d2 = win.scene.nodes[win.scene.selected_node_ids()[0]]
    before, steps = g.to_dict(), win.document.undo_stack.count()
    drag(win.view, d2.out_port.scenePos(), d1.in_ports[0].scenePos())
    assert "cycle" in win.editor.last_refusal
    assert g.to_dict() == before and win.document.undo_stack.count() == steps
