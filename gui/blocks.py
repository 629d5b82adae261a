"""Blocks in the window: Edit ▸ Make Block (the selected nodes become one Block node, one undo
step), File ▸ Export Block… / Import Block…, the palette's Blocks section (one entry per block
of the project), and a double-click on a Block node opening its sub-graph in an editor window
whose edits are undo steps on the same stack (they edit the block's definition, so every
instance follows). Commands touch only the core graph and its `blocks`."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QUndoCommand
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox, QVBoxLayout

from ..core import blocks as core_blocks
from ..core.analysis import Analysis, analyze
from ..core.graph import Graph, GraphError
from .commands import clone



class MakeBlock(QUndoCommand):
    """Selected nodes → one Block node and a new block definition; undo puts every node and edge
    back at its old index (Graph.restore) and drops the definition."""

    def __init__(self, graph: Graph, plan: core_blocks.BlockPlan):
        super().__init__(f"Make block {plan.name}")
        self.graph = graph
        self.plan = plan
        self.saved_nodes: list = []
        self.saved_edges: list = []

    def redo(self) -> None:
        g, ids = self.graph, set(self.plan.removed)
        self.saved_nodes = [(i, clone(n)) for i, n in enumerate(g.nodes.values()) if n.id in ids]
        self.saved_edges = [(i, e) for i, e in enumerate(g.edges) if e.src in ids or e.dst in ids]
        core_blocks.apply_block(g, self.plan)

    def undo(self) -> None:
        g = self.graph
        g.remove_node(self.plan.node.id)
        del g.blocks[self.plan.name]
        g.restore([(i, clone(n)) for i, n in self.saved_nodes], self.saved_edges)


class AddBlock(QUndoCommand):
    """Imported block definitions (a block and the blocks it holds; no node yet): undo removes
    them again."""

    def __init__(self, graph: Graph, entries: list[tuple[str, Graph]]):
        super().__init__(f"Import block {entries[-1][0]}")
        self.graph, self.entries = graph, list(entries)

    def redo(self) -> None:
        for name, sub in self.entries:
            self.graph.blocks[name] = sub
        self.graph.changed.emit()

    def undo(self) -> None:
        for name, _ in self.entries:
            del self.graph.blocks[name]
        self.graph.changed.emit()


class BlockDocument(QObject):
    """What the canvas, editor and inspector need of a document, for one block's sub-graph:
    edits go on the window's undo stack; its analysis is the one of the block's first instance
    in the window's latest analysis (shapes follow the instance's inputs)."""

    analyzed = Signal(object)
    graph_replaced = Signal(object)
    path_changed = Signal(object)

    def __init__(self, document, name: str, parent=None):
        super().__init__(parent)
        self.main, self.name = document, name
        self.graph = document.graph.blocks[name]
        self.undo_stack = document.undo_stack
        self.project = document.project
        self.analysis = self._inner(document.analysis)
        self.graph.changed.connect(document._on_changed)   # instances change with the block
        document.analyzed.connect(self._follow)

    def push(self, command) -> None:
        self.main.push(command)

    def flush(self) -> None:
        self.main.flush()

    def _inner(self, analysis: Analysis) -> Analysis:
        defs = self.main.graph.blocks
        found = _first_instance(analysis, self.main.graph, defs, self.name)
        if found is not None:
            return found
        return analyze(self.graph, ports=(), defs=defs)     # no instance: structure problems only

    def _follow(self, analysis: Analysis) -> None:
        if self.main.graph.blocks.get(self.name) is not self.graph:
            return                                # the block went away (undo): the editor closes
        self.analysis = self._inner(analysis)
        self.analyzed.emit(self.analysis)

    def detach(self) -> None:
        self.graph.changed.disconnect(self.main._on_changed)
        self.main.analyzed.disconnect(self._follow)


def _first_instance(analysis: Analysis, graph: Graph | None, defs: dict, name: str) -> Analysis | None:
    """The analysis of the first instance of block `name`, looking inside blocks too (blocks nest)."""
    for nid, inner in analysis.blocks.items():
        node = graph.nodes.get(nid) if graph is not None else None
        if node is None:
            continue
        if node.params.get("block") == name:
            return inner
        found = _first_instance(inner, defs.get(node.params.get("block")), defs, name)
        if found is not None:
            return found
    return None


class BlockEditor(QDialog):
    """A block's sub-graph on a canvas of its own, with the window's palette and undo stack."""

    def __init__(self, window, name: str):
        super().__init__(window)
        from .canvas.scene import GraphScene
        from .canvas.view import GraphView
        from .editing import Editor

        self.setObjectName("blockEditor")
        self.setWindowTitle(f"Block '{name}' — edits change every instance")
        self.document = BlockDocument(window.document, name, self)
        self.scene = GraphScene(self.document, self)
        self.view = GraphView(self.scene, self)
        from PySide6.QtWidgets import QSplitter

        from .panels.inspector import Inspector
        self.editor = Editor(self.document, self.scene, self.view, self)
        self.inspector = Inspector(self.document, self.scene, self)     # the inner layers' parameters
        split = QSplitter(self)
        split.addWidget(self.view)
        split.addWidget(self.inspector)
        split.setSizes([700, 280])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.resize(1000, 540)
        window.document.analyzed.connect(self._close_if_gone)

    def _close_if_gone(self, *_):
        if self.document.main.graph.blocks.get(self.document.name) is not self.document.graph:
            self.close()

    def closeEvent(self, event) -> None:
        self.document.detach()
        self.inspector.detach()
        self.scene.detach()
        super().closeEvent(event)


class BlockUI(QObject):
    """The block actions of a window and what keeps the palette's Blocks section current."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.editors: dict[str, BlockEditor] = {}
        self.make_action = self._action("Make &Block…", self.make_block, "actionMakeBlock", "Ctrl+G",
                                        "Turn the selected layers into a reusable block")
        self.export_action = self._action("Export B&lock…", self.export_block, "actionExportBlock")
        self.import_action = self._action("Import Bl&ock…", self.import_block, "actionImportBlock")
        window.document.analyzed.connect(self._sync_palette)
        window.view.viewport().installEventFilter(self)
        self._sync_palette()

    def _action(self, text, slot, name, keys=None, tip=None) -> QAction:
        act = QAction(text, self.window)
        act.setObjectName(name)
        act.triggered.connect(lambda *_: slot())
        if keys:
            act.setShortcut(keys)
        if tip:
            act.setStatusTip(tip)
        return act

    @property
    def graph(self) -> Graph:
        return self.window.document.graph

    def _sync_palette(self, *_) -> None:
        self.window.palette.set_blocks(sorted(self.graph.blocks))

    # ------------------------------------------------------------ make, export, import
    def make_block(self, name: str | None = None) -> str | None:
        """The selected nodes become one block node (one undo step); returns its id."""
        ids = self.window.scene.selected_node_ids()
        if name is None:
            k = 1
            while f"block{k}" in self.graph.blocks:
                k += 1
            name, ok = QInputDialog.getText(self.window, "Make Block", "Block name:", text=f"block{k}")
            if not ok:
                return None
        try:
            plan = core_blocks.plan_block(self.graph, ids, name)
        except (core_blocks.BlockError, GraphError) as e:
            self.window.editor.refuse(str(e))
            return None
        self.window.document.push(MakeBlock(self.graph, plan))
        self.window.scene.select_nodes([plan.node.id])
        return plan.node.id

    def _chosen_block(self) -> str | None:
        sel = [self.graph.nodes[i] for i in self.window.scene.selected_node_ids()]
        names = [n.params["block"] for n in sel if n.spec.block and n.params.get("block") in self.graph.blocks]
        if names:
            return names[0]
        if not self.graph.blocks:
            self.window.editor.refuse("the project has no blocks: select layers and use Edit ▸ Make Block")
            return None
        name, ok = QInputDialog.getItem(self.window, "Export Block", "Block:", sorted(self.graph.blocks), 0, False)
        return name if ok else None

    def export_block(self, name: str | None = None, path: str | None = None) -> Path | None:
        name = name or self._chosen_block()
        if name is None:
            return None
        if path is None:
            start = QSettings().value("lastFolder", "", str)
            path, _ = QFileDialog.getSaveFileName(self.window, "Export Block", str(Path(start or ".") / (name + core_blocks.SUFFIX)),
                                                  f"LayerLab blocks (*{core_blocks.SUFFIX})")
            if not path:
                return None
        core_blocks.save_block(name, self.graph.blocks[name], path, self.graph.blocks)
        self.window.statusBar().showMessage(f"Block {name} exported to {path}", 10000)
        return Path(path)

    def import_block(self, path: str | None = None) -> str | None:
        if path is None:
            start = QSettings().value("lastFolder", "", str)
            path, _ = QFileDialog.getOpenFileName(self.window, "Import Block", start or "",
                                                  f"LayerLab blocks (*{core_blocks.SUFFIX});;All files (*)")
            if not path:
                return None
        try:
            name, sub, carried = core_blocks.read_block(path)
        except core_blocks.BlockError as e:
            QMessageBox.warning(self.window, "Import Block", str(e))
            return None
        entries = core_blocks.plan_import(self.graph, name, sub, carried)
        final = entries[-1][0]
        self.window.document.push(AddBlock(self.graph, entries))
        self.window.statusBar().showMessage(f"Block {final} imported: drag it from the palette's Blocks", 10000)
        return final

    # ------------------------------------------------------------ editing a block
    def open_editor(self, name: str) -> BlockEditor | None:
        if name not in self.graph.blocks:
            return None
        editor = self.editors.get(name)
        if editor is None or editor.document.graph is not self.graph.blocks[name] or not editor.isVisible():
            editor = self.editors[name] = BlockEditor(self.window, name)
            editor.view.viewport().installEventFilter(self)          # a block inside opens its own editor
        editor.show()
        editor.raise_()
        return editor

    def eventFilter(self, obj, event) -> bool:
        from PySide6.QtCore import QEvent
        if event.type() == QEvent.Type.MouseButtonDblClick:
            from .canvas.node_item import NodeItem
            view, graph = self.window.view, self.graph
            for editor in self.editors.values():
                if obj is editor.view.viewport():
                    view, graph = editor.view, editor.document.graph
            item = view.itemAt(event.position().toPoint())
            while item is not None and not isinstance(item, NodeItem):
                item = item.parentItem()
            node = graph.nodes.get(item.node_id) if item is not None else None
            if node is not None and node.spec.block:
                self.open_editor(node.params.get("block"))
                return True
        return False


def install_blocks(window) -> BlockUI:
    """Edit ▸ Make Block, File ▸ Export / Import Block (before Export…), the palette's blocks."""
    from .actions import insert_before

    ui = BlockUI(window)
    insert_before(window, window.actions.export, ui.import_action)
    insert_before(window, window.actions.export, ui.export_action)
    insert_before(window, window.actions.select_all, ui.make_action)
    window.block_ui = ui
    return ui
