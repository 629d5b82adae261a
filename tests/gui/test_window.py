"""The window as it opens: docks, canvas, example project labelled with types and shapes."""
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QGraphicsView, QWidget

from layerlab.core.analysis import analyze
from layerlab.core.project import load_project
from layerlab.core.resources import example_project, template_names


def test_create_window_shows_example_nodes_with_type_and_output_shape(window):
    assert window.objectName() == "mainWindow"
    expected = load_project(example_project()).graph
    shapes = analyze(expected).shapes
    assert set(window.scene.nodes) == set(expected.nodes)
    for nid, item in window.scene.nodes.items():
        node = expected.nodes[nid]
        assert node.type in item.type_text
        assert item.name_text == node.name
        assert item.shape_text == str(shapes[nid])
    conv = next(i for i in window.scene.nodes.values() if i.name_text == "conv1")
    assert conv.shape_text == "[B, 32, 8, 8]"
    assert "filters 32" in conv.params_text
    assert len(window.scene.edge_items) == len(expected.edges)


def test_widgets_carry_stable_object_names_and_docks(window):
    canvas = window.findChild(QGraphicsView, "graphCanvas")
    assert canvas is window.centralWidget()
    for name in ("layerPalette", "inspector"):
        widget = window.findChild(QWidget, name)
        assert widget is not None and isinstance(widget.parentWidget(), QDockWidget)
    assert {d.objectName() for d in window.findChildren(QDockWidget)} >= {
        "layerPaletteDock", "inspectorDock", "codeDock"}


def test_status_bar_shows_parameter_count_of_valid_network(window):
    total = analyze(load_project(example_project()).graph).total_params
    assert f"{total:,} parameters" in window.status_problems.text()
    assert "16 layers" in window.status_layers.text()


def test_menus_offer_every_template_and_standard_actions(window):
    titles = [a.data() for a in window.findChild(QWidget, "menuTemplates").actions()]
    assert titles == template_names()
    for name in ("actionNew", "actionOpen", "actionSave", "actionSaveAs", "actionUndo", "actionRedo",
                 "actionCut", "actionCopy", "actionPaste", "actionDuplicate", "actionDelete",
                 "actionSelectAll", "actionZoomIn", "actionZoomOut", "actionFit", "actionAutoLayout",
                 "actionValidate", "actionCode"):
        assert window.findChild(QAction, name) is not None, name
    assert window.actions.undo.shortcut().toString() == "Ctrl+Z"
    assert window.actions.save.shortcut().toString() == "Ctrl+S"
    assert window.actions.copy.shortcut().toString() == "Ctrl+C"


def test_new_from_template_loads_it_untitled(window, dialogs):
    menu = window.findChild(QWidget, "menuTemplates")
    act = next(a for a in menu.actions() if a.data() == "mlp")
    act.trigger()
    assert window.document.path is None
    assert {n.type for n in window.document.graph.nodes.values()} >= {"Input", "Dense", "Output"}
    assert set(window.scene.nodes) == set(window.document.graph.nodes)
    assert dialogs.calls == []


def test_zoom_and_fit(window):
    view = window.view
    z = view.zoom()
    window.actions.zoom_in.trigger()
    assert view.zoom() > z
    window.actions.zoom_out.trigger()
    window.actions.zoom_out.trigger()
    assert view.zoom() < z
    window.actions.fit.trigger()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.nodes_rect())
