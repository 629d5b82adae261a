"""Diagnostics panel: what the engine's diagnostics found, in plain words, each with its fix;
plus the run's state in one line (a failure with its cause, early stopping, restored weights)."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem

from .card import Card
from .curves import patience_text

ICON = {"error": "⛔", "warning": "⚠", "info": "ℹ"}
ORDER = {"error": 0, "warning": 1, "info": 2}
FIXED = "<b>Ready</b> · the set-up checks pass since the last run failed: train again"


class DiagnosticsCard(Card):
    def __init__(self, parent=None, apply=None):
        super().__init__("Diagnostics", "diagnosticsPanel", parent)
        self.apply = apply      # apply(changes [(section, field, value)], undo text): one undoable edit
        self.state = QLabel(objectName="runState")
        self.state.setWordWrap(True)
        self.state.setTextFormat(Qt.TextFormat.RichText)
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.addWidget(self.state)
        self.tree = QTreeWidget(objectName="diagnosticsList")
        self.tree.setHeaderLabels(["", "epoch", "layer", "finding", "fix"])
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        h = self.tree.header()
        for col in (0, 1, 2):
            h.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        h.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.body.addWidget(self.tree, 1)
        # the selected finding in full: a narrow column elides it with "…", this never does
        self.details = QLabel(objectName="diagnosticDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setVisible(False)
        self.body.addWidget(self.details)
        self.tree.currentItemChanged.connect(lambda it, _prev: self.show_details(it))
        self.fix_button = QPushButton("Apply fix", objectName="applyFix")
        self.fix_button.setToolTip("Make the setting changes this finding suggests (one undo step); train again")
        self.fix_button.setEnabled(False)
        self.fix_button.clicked.connect(self.apply_selected)
        self.tree.currentItemChanged.connect(lambda *_: self.fix_button.setEnabled(bool(self._selected_actions())))
        self.body.addWidget(self.fix_button)
        self._store = None
        self._shown = None
        self._fixed = None      # the failed store whose "Failed: …" a later passing check cleared

    def refresh(self, store) -> None:
        self.show_state(store)
        key = (id(store), tuple(store.diagnoses))
        if key == self._shown:
            return
        self._shown = key
        self.tree.clear()
        items = sorted(store.diagnoses.values(), key=lambda ed: (ORDER.get(getattr(ed[1], "severity", ""), 3), ed[0]))
        for epoch, d in items:
            sev = getattr(d, "severity", "info")
            it = QTreeWidgetItem([ICON.get(sev, "•"), "init" if epoch == 0 else str(epoch),
                                  getattr(d, "layer", None) or "—", getattr(d, "message", str(d)),
                                  getattr(d, "fix", "")])
            for col in (3, 4):       # the whole text on hover, and below the list when selected
                it.setToolTip(col, it.text(col))
            it.setData(0, Qt.ItemDataRole.UserRole, list(getattr(d, "actions", ()) or ()))
            self.tree.addTopLevelItem(it)
        self.title.setText(f"Diagnostics ({len(items)})" if items else "Diagnostics")

    def show_details(self, item) -> None:
        """The whole finding and fix of the selected row, selectable for copying."""
        if item is None:
            self.details.clear()
            self.details.setVisible(False)
            return
        e = html.escape
        text = f"<b>{e(item.text(3))}</b>"
        if item.text(4):
            text += f"<br><b>Fix:</b> {e(item.text(4))}"
        self.details.setText(text)
        self.details.setVisible(True)

    def show_state(self, store) -> None:
        """The run-state line alone: cheap, so a new run replaces an old failure's line at once,
        also while this card is on a hidden tab (hidden cards are not refreshed)."""
        self._store = store
        self.state.setText(FIXED if store is self._fixed and store.status == "failed" else self._state_text(store))

    def failure_fixed(self) -> None:
        """The set-up checks pass after an edit made since the shown run failed: the failure's
        message would now mislead, so the line says the set-up is ready instead."""
        if self._store is not None and self._store.status == "failed":
            self._fixed = self._store
            self.show_state(self._store)

    def _selected_actions(self) -> list:
        it = self.tree.currentItem()
        return (it.data(0, Qt.ItemDataRole.UserRole) or []) if it is not None and self.apply else []

    def apply_selected(self) -> None:
        actions = self._selected_actions()
        if actions:
            fields = ", ".join(f"{sec}.{name} = {value:g}" if isinstance(value, float) else f"{sec}.{name} = {value}"
                               for sec, name, value in actions)
            self.apply([tuple(a) for a in actions], f"Apply fix: {fields}")
            self.fix_button.setEnabled(False)

    @staticmethod
    def _state_text(store) -> str:
        e = html.escape
        if store.status == "failed" and store.failure:
            msg, fix = store.failure
            text = f"<b style='color:#ff8a8a'>Failed:</b> {e(msg)}"
            if fix:
                text += f"<br><b>Fix:</b> {e(fix)}"
            return text
        parts = [f"<b>{store.status.capitalize()}</b>"]
        if store.result is not None and store.result.test_metrics:
            tm = store.result.test_metrics
            parts.append("test " + ", ".join(f"{k.removeprefix('test_')} {v:.4g}" for k, v in tm.items()))
        extra = patience_text(store)
        if extra:
            parts.append(e(extra))
        if not store.diagnoses and store.status in ("finished", "stopped"):
            parts.append("no problems found")
        return " · ".join(parts)

    def table(self):
        st = self._store
        if st is None:
            return [], []
        return (["epoch", "severity", "code", "layer", "message", "fix"],
                [[ep, getattr(d, "severity", ""), getattr(d, "code", ""), getattr(d, "layer", "") or "",
                  getattr(d, "message", str(d)), getattr(d, "fix", "")] for ep, d in st.diagnoses.values()])
