"""Canvas gestures with real mouse events: connect ports, refuse cycles, move (one undo
step), delete and undo exactly, copy/paste and duplicate with inner edges, auto-layout."""
import pytest
from PySide6.QtCore import QPointF

from layerlab.core.graph import Edge

from .helpers import drag, drop_layer, item_named, node_named, settle


def _chain(win, *types):
    """Drop layers left to right, each appended after the previous (select then drop)."""
    ids = []
    for i, t in enumerate(types):
        drop_layer(win.view, t, QPointF(230 * (i + 1) + 90, 40))
        ids.append(win.scene.selected_node_ids()[0])
    return ids


def test_connect_ports_by_mouse_drag_and_undo_redo(blank, qtbot):
    win = blank
    g = win.document.graph
    x, out = item_named(win, "x"), item_named(win, "out")
    drag(win.view, x.out_port.scenePos(), out.in_ports[0].scenePos())
    assert g.edges == [Edge(x.node_id, out.node_id, 0)]
    assert x.out_port.connected and out.in_ports[0].connected
    assert len(win.scene.edge_items) == 1
    settle(qtbot, win)
    assert win.status_problems.text().startswith("✔")
    win.actions.undo.trigger()
    assert g.edges == [] and not win.scene.edge_items and not out.in_ports[0].connected
    win.actions.redo.trigger()
    assert g.edges == [Edge(x.node_id, out.node_id, 0)] and len(win.scene.edge_items) == 1


def test_connect_by_dragging_from_input_port_backwards(blank):
    win = blank
    x, out = item_named(win, "x"), item_named(win, "out")
    drag(win.view, out.in_ports[0].scenePos(), x.out_port.scenePos())
    assert win.document.graph.edges == [Edge(x.node_id, out.node_id, 0)]


def test_cycle_is_refused_with_a_tooltip_and_leaves_no_trace(blank, qtbot):
    win = blank
    win.view.zoom_out()
    g = win.document.graph
    a, b = _chain(win, "Dense", "ReLU")
    before, steps = g.to_dict(), win.document.undo_stack.count()
    ia, ib = win.scene.nodes[a], win.scene.nodes[b]
    drag(win.view, ib.out_port.scenePos(), ia.in_ports[0].scenePos())
    assert "cycle" in win.editor.last_refusal
    assert "cycle" in win.statusBar().currentMessage()
    assert g.to_dict() == before and win.document.undo_stack.count() == steps


def test_drag_to_move_is_one_undo_step(window, qtbot):
    win = window
    item = item_named(win, "conv1")
    node = node_named(win, "conv1")
    start_pos = node.pos
    steps = win.document.undo_stack.count()
    grab = item.scenePos() + QPointF(90, 50)
    drag(win.view, grab, grab + QPointF(60, 140), steps=8)
    assert win.document.undo_stack.count() == steps + 1
    # mouse events land on whole pixels: at a fit zoom below 1 a scene unit is under a pixel
    tol = 1.0 / win.view.transform().m11()
    moved = node.pos
    assert moved == pytest.approx((start_pos[0] + 60, start_pos[1] + 140), abs=tol)
    assert (item.pos().x(), item.pos().y()) == moved
    win.actions.undo.trigger()
    assert node.pos == start_pos and (item.pos().x(), item.pos().y()) == start_pos
    win.actions.redo.trigger()
    assert node.pos == moved


def test_rubber_band_select_then_delete_and_undo_restores_exactly(window, qtbot):
    win = window
    g = win.document.graph
    before = g.to_dict()
    r = win.scene.nodes_rect({node_named(win, n).id for n in ("bn1", "relu1")})
    drag(win.view, r.topLeft() + QPointF(-20, -20), r.bottomRight() + QPointF(10, 10))
    assert {g.nodes[i].name for i in win.scene.selected_node_ids()} == {"bn1", "relu1"}
    win.actions.delete.trigger()
    assert g.by_name("bn1") is None and len(g.edges) == len(before["edges"]) - 3
    settle(qtbot, win)
    assert "problem" in win.status_problems.text()
    win.actions.undo.trigger()
    assert g.to_dict() == before
    assert set(win.scene.nodes) == set(g.nodes) and len(win.scene.edge_items) == len(g.edges)
    settle(qtbot, win)
    assert win.status_problems.text().startswith("✔")


def test_copy_paste_and_duplicate_keep_inner_edges(window, qtbot):
    win = window
    g = win.document.graph
    ids = [node_named(win, n).id for n in ("conv2", "bn2", "relu2")]
    win.scene.select_nodes(ids)
    win.actions.copy.trigger()
    n_nodes, n_edges = len(g.nodes), len(g.edges)
    win.actions.paste.trigger()
    new = win.scene.selected_node_ids()
    assert len(new) == 3 and not set(new) & set(ids)
    assert len(g.nodes) == n_nodes + 3
    inner = [e for e in g.edges if e.src in new and e.dst in new]
    assert len(inner) == 2 and len(g.edges) == n_edges + 2
    names = {g.nodes[i].name for i in new}
    assert len(names) == 3 and not names & {"conv2", "bn2", "relu2"}
    assert {g.nodes[i].type for i in new} == {"Conv2d", "BatchNorm", "ReLU"}
    win.actions.undo.trigger()
    assert len(g.nodes) == n_nodes and len(g.edges) == n_edges
    win.scene.select_nodes(ids[:2])
    win.actions.duplicate.trigger()
    dup = win.scene.selected_node_ids()
    assert len(dup) == 2 and len([e for e in g.edges if e.src in dup and e.dst in dup]) == 1
    original = g.nodes[ids[0]].pos
    assert g.nodes[dup[0]].pos != original


def test_cut_removes_and_paste_brings_back(window):
    win = window
    g = win.document.graph
    drop = node_named(win, "drop")
    win.scene.select_nodes([drop.id])
    win.actions.cut.trigger()
    assert g.by_name("drop") is None
    win.actions.paste.trigger()
    assert g.by_name("drop") is not None  # the name was free again


def test_auto_layout_is_one_step_and_undoable(window):
    win = window
    g = win.document.graph
    before = {nid: n.pos for nid, n in g.nodes.items()}
    win.view.zoom_out()
    win.scene.select_nodes([node_named(win, "conv1").id])
    drag(win.view, win.scene.nodes[node_named(win, "conv1").id].scenePos() + QPointF(60, 40),
         win.scene.nodes[node_named(win, "conv1").id].scenePos() + QPointF(60, 400))
    moved = {nid: n.pos for nid, n in g.nodes.items()}
    assert moved != before
    win.actions.layout.trigger()
    assert {nid: n.pos for nid, n in g.nodes.items()} == before  # the template is laid out already
    win.actions.undo.trigger()
    assert {nid: n.pos for nid, n in g.nodes.items()} == moved


def test_select_all(window):
    window.actions.select_all.trigger()
    assert set(window.scene.selected_node_ids()) == set(window.document.graph.nodes)


def test_wheel_zooms_around_the_cursor(window):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication
    view = window.view
    vp = view.viewport()
    at = QPoint(vp.width() // 4, vp.height() // 3)
    before_zoom, before = view.zoom(), view.mapToScene(at)
    ev = QWheelEvent(QPointF(at), QPointF(vp.mapToGlobal(at)), QPoint(0, 0), QPoint(0, 240),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, ev)
    assert view.zoom() > before_zoom * 1.3
    after = view.mapToScene(at)
    assert abs(after.x() - before.x()) < 3 and abs(after.y() - before.y()) < 3  # the point under the cursor stays


def test_middle_button_drag_pans(window):
    from PySide6.QtCore import QEvent, Qt
    from .helpers import _mouse
    view = window.view
    center = view.mapToScene(view.viewport().rect().center())
    mid, none = Qt.MouseButton.MiddleButton, Qt.MouseButton.NoButton
    start = center
    _mouse(view, QEvent.Type.MouseButtonPress, start, mid, mid)
    # move the mouse 100 px left on screen: the view follows the hand
    target = view.mapToScene(view.mapFromScene(start) + QPointF(-100, 0).toPoint())
    _mouse(view, QEvent.Type.MouseMove, target, none, mid)
    _mouse(view, QEvent.Type.MouseButtonRelease, target, mid, none)
    moved = view.mapToScene(view.viewport().rect().center())
    assert moved.x() > center.x() + 50 and window.document.undo_stack.count() == 0


def test_edge_tooltip_names_the_tensor_shape(window):
    edge = next(e for e in window.document.graph.edges if window.document.graph.nodes[e.src].name == "pool2")
    assert window.scene.edge_tooltip(edge) == "pool2 → flatten: [B, 64, 2, 2]"


def test_click_an_edge_then_delete_key_and_ctrl_z(window, qtbot):
    from PySide6.QtCore import Qt
    from .helpers import click
    win = window
    g = win.document.graph
    before = g.to_dict()
    edge = next(e for e in g.edges if g.nodes[e.src].name == "relu1")
    item = win.scene.edge_items[edge][0]
    click(win.view, item.path().pointAtPercent(0.5))
    assert win.scene.selected_edges() == [edge]
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)  # key shortcuts reach only the active window
    win.view.setFocus()
    qtbot.keyClick(win.view, Qt.Key.Key_Delete)
    assert edge not in g.edges and edge not in win.scene.edge_items
    qtbot.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert g.to_dict() == before and len(win.scene.edge_items[edge]) == 1
