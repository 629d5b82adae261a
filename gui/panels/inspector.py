"""The inspector: a form generated from the selected node's LayerSpec.

Every committed edit is one undo command (SetParam / Rename); when the graph changes
under it (undo, redo) the form follows without emitting edits of its own.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFormLayout, QLabel, QLineEdit, QScrollArea, QVBoxLayout, QWidget)

from ...core.graph import GraphError, check_name
from ..commands import Rename, SetParam
from ..undo_keys import pass_undo_keys
from .param_editors import make_editor


class Inspector(QScrollArea):
    def __init__(self, document, scene, parent=None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setWidgetResizable(True)
        self.document = document
        self.scene = scene
        self.node_id: str | None = None
        self.row_hooks: list = []     # hook(layout, node): extra rows after the form (gui/transfer.py)
        self.editors: dict[str, QWidget] = {}
        self.name_edit: QLineEdit | None = None
        self._graph = None
        self._body = QWidget()
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(10, 10, 10, 10)
        self._layout.setSpacing(8)
        self.setWidget(self._body)
        scene.selectionChanged.connect(self._on_selection)
        document.graph_replaced.connect(self._follow)
        document.analyzed.connect(self._show_analysis)
        self._follow(document.graph)

    # ------------------------------------------------------------ following graph + selection
    def _follow(self, graph) -> None:
        self.detach()
        self._graph = graph
        graph.param_changed.connect(self._on_param_changed)
        graph.node_renamed.connect(self._on_renamed)
        graph.node_removed.connect(self._on_removed)
        self.show_node(None)

    def detach(self) -> None:
        if self._graph is not None:
            self._graph.param_changed.disconnect(self._on_param_changed)
            self._graph.node_renamed.disconnect(self._on_renamed)
            self._graph.node_removed.disconnect(self._on_removed)
            self._graph = None

    def _on_selection(self) -> None:
        try:
            ids = self.scene.selected_node_ids()
        except RuntimeError:  # scene already deleted at shutdown
            return
        self.show_node(ids[0] if len(ids) == 1 else None, count=len(ids))

    def _on_param_changed(self, node_id: str, key: str, value) -> None:
        if node_id == self.node_id and key in self.editors:
            self.editors[key].set_value(value)

    def _on_renamed(self, node_id: str, name: str) -> None:
        if node_id == self.node_id and self.name_edit is not None:
            self.name_edit.setText(name)
            self.title.setText(self.document.graph.nodes[node_id].label)

    def _on_removed(self, node) -> None:
        if node.id == self.node_id:
            self.show_node(None)

    # ------------------------------------------------------------ building the form
    def _clear(self) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            w = item.widget()
            if w is not None:
                w.setParent(None)  # gone now: deleteLater waits for the event loop
                w.deleteLater()
            elif item.layout() is not None:
                _delete_layout(item.layout())
        self.editors = {}
        self.name_edit = None

    def show_node(self, node_id: str | None, count: int = 0) -> None:
        if node_id is not None and node_id == self.node_id and self.editors is not None and self.name_edit:
            return
        self._clear()
        self.node_id = node_id
        graph = self.document.graph
        if node_id is None or node_id not in graph.nodes:
            self.node_id = None
            text = (f"{count} layers selected." if count > 1 else
                    "Select a layer on the canvas to edit its settings.\n\n"
                    "Drag layers from the palette, or double-click one to append it after the selected layer.")
            hint = QLabel(text)
            hint.setObjectName("inspectorHelp")
            hint.setWordWrap(True)
            self._layout.addWidget(hint)
            self._layout.addStretch(1)
            return
        node = graph.nodes[node_id]
        spec = node.spec
        self.title = QLabel(node.label)
        self.title.setObjectName("inspectorTitle")
        self.title.setWordWrap(True)
        help_label = QLabel(spec.help)
        help_label.setObjectName("inspectorHelp")
        help_label.setWordWrap(True)
        self.shape_label = QLabel()
        self.shape_label.setObjectName("inspectorShape")
        self.shape_label.setTextFormat(Qt.TextFormat.RichText)
        self.problems_label = QLabel()
        self.problems_label.setObjectName("inspectorProblems")
        self.problems_label.setWordWrap(True)
        for w in (self.title, help_label, self.shape_label, self.problems_label):
            self._layout.addWidget(w)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(4)
        self.name_edit = QLineEdit(node.name)
        self.name_edit.setObjectName("inspectorName")
        self.name_edit.setToolTip("The layer's name: a Python identifier used in generated code.")
        self.name_edit.editingFinished.connect(self._commit_name)
        self.name_error = _small("", "inspectorError")
        self.name_error.hide()
        form.addRow(_field_label("name"), _with_help(self.name_edit, "", self.name_error))
        for param in spec.params:
            editor = make_editor(param, node.params.get(param.name, param.default))
            editor.setObjectName(f"param_{param.name}")
            editor.setToolTip(param.help)
            editor.committed.connect(lambda value, key=param.name: self._commit(key, value))
            form.addRow(_field_label(param.name), _with_help(editor, param.help))
            self.editors[param.name] = editor
        if not spec.params:
            form.addRow("", _small(f"{node.type} has no parameters.", "paramHelp"))
        self._layout.addLayout(form)
        for hook in self.row_hooks:
            hook(self._layout, node)
        self._layout.addStretch(1)
        pass_undo_keys(self)     # Ctrl+Z / Ctrl+Y undo the graph unless a field holds new typing
        self._show_analysis(self.document.analysis)

    def _show_analysis(self, analysis) -> None:
        if self.node_id is None or self.node_id not in self.document.graph.nodes:
            return
        t = analysis.shapes.get(self.node_id)
        count = analysis.param_counts.get(self.node_id)
        parts = [f"output <span style='font-family:monospace;color:#9fd3ff'>{t if t is not None else '?'}</span>"]
        if count:
            parts.append(f"{count:,} parameters")
        self.shape_label.setText(" · ".join(parts))
        problems = analysis.problems_for(self.node_id)
        self.problems_label.setText("\n".join(f"⚠ {p}" for p in problems))
        self.problems_label.setVisible(bool(problems))

    # ------------------------------------------------------------ edits -> commands
    def _commit(self, key: str, value) -> None:
        graph = self.document.graph
        if self.node_id is None or self.node_id not in graph.nodes:
            return
        if graph.nodes[self.node_id].params.get(key) == value:
            return
        self.document.push(SetParam(graph, self.node_id, key, value))

    def _commit_name(self) -> None:
        graph = self.document.graph
        if self.node_id is None or self.name_edit is None:
            return
        name = self.name_edit.text().strip()
        node = graph.nodes.get(self.node_id)
        if node is None:  # focus left the field because its layer was just deleted
            return
        if name == node.name:
            self._name_problem("")
            return
        try:
            check_name(name)
            if graph.by_name(name) is not None:
                raise GraphError(f"a layer named {name!r} already exists", "pick another name")
        except GraphError as e:
            self._name_problem(str(e))
            return
        self._name_problem("")
        self.document.push(Rename(graph, self.node_id, name))

    def _name_problem(self, message: str) -> None:
        self.name_error.setText(message)
        self.name_error.setVisible(bool(message))
        self.name_edit.setProperty("invalid", bool(message))
        self.name_edit.style().unpolish(self.name_edit)
        self.name_edit.style().polish(self.name_edit)


def _field_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
    label.setContentsMargins(0, 4, 0, 0)  # level with the editor's text
    return label


def _with_help(editor: QWidget, help_text: str, extra: QWidget | None = None) -> QWidget:
    """The editor with its help text underneath, as one form field."""
    box = QWidget()
    col = QVBoxLayout(box)
    col.setContentsMargins(0, 0, 0, 6)
    col.setSpacing(2)
    col.addWidget(editor, 0, Qt.AlignmentFlag.AlignLeft if editor.sizePolicy().horizontalPolicy()
                  == editor.sizePolicy().Policy.Fixed else Qt.AlignmentFlag(0))
    if help_text:
        col.addWidget(_small(help_text, "paramHelp"))
    if extra is not None:
        col.addWidget(extra)
    return box


def _small(text: str, cls: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setProperty("class", cls)
    label.setObjectName(cls)
    f = label.font()
    f.setPointSizeF(f.pointSizeF() * 0.9)
    label.setFont(f)
    return label


def _delete_layout(layout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        w = item.widget()
        if w is not None:
            w.setParent(None)
            w.deleteLater()
        elif item.layout() is not None:
            _delete_layout(item.layout())
    layout.deleteLater()
