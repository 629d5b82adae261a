"""The confusion tab's per-class table: precision, recall, F1 and support of each class, computed
from the confusion matrix shown (core.train.metrics.class_report), with macro-F1 and balanced
accuracy in its summary line. Recall is what a small class loses first on an imbalanced set."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

COLUMNS = ("class", "precision", "recall", "F1", "support")


class ClassTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("classReportTable")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setMaximumHeight(220)
        self.report: dict | None = None

    def show_matrix(self, cm, names) -> dict:
        """Fill the table from `cm` (rows true class); returns the report."""
        from ...core.train.metrics import class_report
        self.report = r = class_report(cm, names)
        self.setRowCount(len(r["classes"]))
        for i, name in enumerate(r["classes"]):
            cells = [name, f"{r['precision'][i]:.3f}", f"{r['recall'][i]:.3f}", f"{r['f1'][i]:.3f}",
                     f"{r['support'][i]:,}"]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(i, j, item)
        return r

    def rows(self) -> tuple[list[str], list[list]]:
        """(header, rows) for copying / saving."""
        r = self.report
        if r is None:
            return [], []
        return list(COLUMNS), [[r["classes"][i], r["precision"][i], r["recall"][i], r["f1"][i], r["support"][i]]
                               for i in range(len(r["classes"]))]
