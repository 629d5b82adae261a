"""Status-bar progress of a run: a progress bar and "epoch 3/20 · step 45/88 · 12k samples/s ·
ETA 0:42", updated from the controller's tick; the last run's outcome stays until the next."""
from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget


def duration(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "–"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def rate(v: float) -> str:
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


class Bar(QWidget):
    """A flat progress bar. QProgressBar repaints synchronously on every change (7 ms each in
    the styled status bar); this one schedules an ordinary update. value: 0..1000, -1 = busy."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("trainingProgressBar")
        self.setFixedSize(160, 10)
        self._value = 0

    def value(self) -> int:
        return self._value

    def setValue(self, v: int) -> None:
        if v != self._value:
            self._value = v
            self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QColor("#3a3d44"))
        p.setBrush(QColor("#1b1d21"))
        p.drawRoundedRect(r, 3, 3)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#4c8dff"))
        if self._value < 0:     # busy: a dim full bar
            p.setOpacity(0.35)
            p.drawRoundedRect(r, 3, 3)
        elif self._value:
            p.drawRoundedRect(QRectF(r.x(), r.y(), r.width() * self._value / 1000, r.height()), 3, 3)
        p.end()


class RunProgress(QWidget):
    """The status bar's run progress; the owner calls show_store at most a few times a second."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("trainingProgress")
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.bar = Bar()
        self.label = QLabel(objectName="trainingProgressLabel")
        h.addWidget(self.label)
        h.addWidget(self.bar)
        self.hide()

    def show_store(self, store) -> None:
        """Cheap to call often: the widgets change only when what they show changes."""
        p = store.progress
        self.show()
        status = store.status
        if status == "starting":
            self._set("Preparing: loading data and building the model…")
            self.bar.setValue(-1)        # busy until the first step
            return
        self.bar.setValue(int(p.fraction * 1000))
        if status in ("running", "paused"):
            text = (f"epoch {p.epoch}/{p.total_epochs} · step {p.batch}/{p.batches} · "
                    f"{rate(p.samples_per_s)} samples/s · ETA {duration(p.eta_s())}")
            self._set(("Paused · " if status == "paused" else "") + text)
        elif status == "finished":
            r = store.result
            self.bar.setValue(1000)
            best = f" · best epoch {r.best_epoch}" if r is not None and r.best_epoch else ""
            secs = f" in {duration(r.seconds)}" if r is not None else ""
            self.label.setText(f"✔ finished{secs}{best}")
        elif status == "stopped":
            self.label.setText(f"■ stopped after epoch {store.result.epochs_run if store.result else p.epoch}")
        elif status == "failed":
            self.label.setText("✘ failed: see the dialog and the Diagnostics tab")

    def _set(self, text: str) -> None:
        if text != self.label.text():
            self.label.setText(text)
