"""What every set-up panel shares: the context (project, undo stack, notifier, loaded data set)
and a binder that ties a widget to one spec field in both directions.

The project object can be replaced (File ▸ Open), so nothing here keeps a spec: fields are
addressed as ("data" | "training", name) and looked up on the current project every time.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QLabel,
                               QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from .data_loader import DataLoader
from .param_editors import FloatSpinBox
from .spec_commands import SetSpecField, SetSpecFields, SpecNotifier


class SetupContext(QObject):
    """The panels' view of the open document.

    get_project / push / base_dir are callables so the context follows a replaced project;
    `project_replaced()` must be called (install.py wires it) when that happens."""
    replaced = Signal()               # a different Project object is open
    dataset_changed = Signal(object)  # the loaded Dataset, or None with `dataset_error` set
    load_cancelled = Signal()         # Cancel: the data set loaded before stays

    def __init__(self, get_project: Callable, push: Callable, base_dir: Callable[[], Path | None],
                 undo_stack=None, parent=None):
        super().__init__(parent)
        self.get_project = get_project
        self.push = push
        self.base_dir = base_dir
        self.undo_stack = undo_stack
        self.notifier = SpecNotifier(self)
        self._dataset = None
        self._dataset_key = None
        self._cancelled_key = None        # the spec whose load was cancelled: not restarted by itself
        self.dataset_error = ""
        self.loader = DataLoader(self)    # loads in a worker thread (a 200 MB CSV must not freeze)
        self.loader.finished.connect(self._loaded)
        self._approved: set[tuple[str, ...]] = set()   # outside-the-folder paths the user allowed
        self._asking = False
        self.notifier.changed.connect(self._spec_changed)
        self._reload = QTimer(self, singleShot=True, interval=250)  # a burst of edits loads once
        self._reload.timeout.connect(self.dataset)

    @property
    def project(self):
        return self.get_project()

    def spec(self, section: str):
        return getattr(self.project, section)

    def set(self, section: str, field: str, value: Any, merge_key: Any = None) -> None:
        spec = self.spec(section)
        if getattr(spec, field) == value:
            return
        self.push(SetSpecField(self.notifier, spec, field, value, merge_key))

    def set_many(self, changes: list[tuple[str, str, Any]], text: str) -> None:
        self.push(SetSpecFields(self.notifier, [(self.spec(s), f, v) for s, f, v in changes], text))

    def project_replaced(self) -> None:
        self._dataset_key = self._cancelled_key = None
        self.replaced.emit()
        self._reload.start()

    # ------------------------------------------------------------ the data set, loaded lazily
    def _spec_changed(self, spec, _field: str) -> None:
        if spec is self.project.data:
            self._reload.start()

    def _key(self) -> str:
        from ...core.specs import spec_to_dict
        return json.dumps([spec_to_dict(self.project.data), str(self.base_dir() or "")], sort_keys=True)

    @property
    def loading(self) -> bool:
        return self.loader.busy

    def dataset(self):
        """The current DataSpec's data set once loaded (cached until it changes). None while it
        loads in the background (`loading`; `dataset_changed` follows), after Cancel, or when it
        cannot load (`dataset_error`). `data_state()` says which, in words."""
        key = self._key()
        if key == self._dataset_key:
            return self._dataset
        job = self.loader.job
        if (job is not None and job.key == key) or key == self._cancelled_key:
            return None
        allowed = self._may_read()
        if allowed is None:          # the question is on screen: the answer decides
            return self._dataset
        if not allowed:
            self.loader.cancel()
            self._dataset_key = key
            self._dataset, self.dataset_error = None, ("not reading data from outside the project's folder "
                                                       "(declined): change data.path, or reopen and allow it")
            self.dataset_changed.emit(None)
            return None
        self.loader.start(key, copy.deepcopy(self.project.data), self.base_dir())
        return None

    def _loaded(self, job) -> None:
        """The newest load ended (older ones were superseded and are never read)."""
        if job.cancelled:
            self._cancelled_key = job.key
            self.load_cancelled.emit()
            return
        self._dataset_key = job.key
        self._dataset, self.dataset_error = job.dataset, job.error
        self.dataset_changed.emit(job.dataset)

    def reload(self) -> None:
        """Load the current spec again (after Cancel)."""
        self._cancelled_key = None
        self.dataset()

    def data_state(self) -> str:
        """Why `dataset()` is None, for whoever needs the data."""
        if self.loading:
            return f"the data set is loading… ({self.loader.job.fraction:.0%})"
        if self._cancelled_key is not None and self._cancelled_key == self._key():
            return "loading the data set was cancelled: press Reload in the Data panel"
        return self.dataset_error

    def can_peek(self, path: Path) -> bool:
        """Whether a preview may open `path` now: a regular file (a FIFO would block, /dev/zero never
        end) inside the project's folder or already allowed; previews never ask."""
        from ...core.data.paths import outside_project
        if not path.is_file():
            return False
        base = self.base_dir()
        outside = tuple(str(p) for p in outside_project(self.project.data, base)) if base is not None else ()
        return not outside or outside in self._approved

    def _may_read(self) -> bool | None:
        """A saved project that reads files outside its folder (someone else's file may point at
        ../../etc/passwd) asks first, once per set of paths. None while the question is open."""
        from PySide6.QtWidgets import QMessageBox

        from ...core.data.paths import outside_project
        base = self.base_dir()
        outside = tuple(str(p) for p in outside_project(self.project.data, base)) if base is not None else ()
        if not outside or outside in self._approved:
            return True
        if self._asking:
            return None
        self._asking = True
        try:
            yes = QMessageBox.StandardButton.Yes
            answer = QMessageBox.question(None, "Read data outside the project?",
                                          "This project reads data from outside its folder:\n"
                                          + "\n".join(outside[:10]) + ("\n…" if len(outside) > 10 else "")
                                          + "\n\nRead these files?", yes | QMessageBox.StandardButton.No,
                                          QMessageBox.StandardButton.No)
        finally:
            self._asking = False
        if answer == yes:
            self._approved.add(outside)
        return answer == yes

    def steps_per_epoch(self) -> int:
        ds = self._dataset if self._dataset_key == self._key() else None
        n = len(ds.x_train) if ds is not None else 0
        return max(1, -(-n // max(1, self.project.training.batch_size))) if n else 1


class LazyRefresh(QObject):
    """Deferred rebuild of a panel's per-layer rows, run only while the panel is on screen.
    With hundreds of layers a rebuild costs tens of ms, which must not sit inside every canvas
    edit; a hidden panel is rebuilt when it is shown. Deferral also keeps a rebuild out of a
    combo box's own signal (it would delete the combo mid-call)."""

    def __init__(self, widget: QWidget, refresh: Callable[[], None], delay_ms: int = 0):
        super().__init__(widget)
        self.widget, self.refresh, self.stale = widget, refresh, False
        self.timer = QTimer(self, singleShot=True, interval=delay_ms)
        self.timer.timeout.connect(self._run)
        widget.installEventFilter(self)

    def start(self) -> None:
        self.stale = True
        if self.widget.isVisible():
            self.timer.start()

    def _run(self) -> None:
        if self.stale and self.widget.isVisible():
            self.stale = False
            self.refresh()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Show and self.stale:
            self.timer.start()
        return False


class SciSpinBox(FloatSpinBox):
    """Learning rates and penalties: shown as 0.001 / 1e-05 (not 0.00); adaptive decimal steps
    move 0.001 to 0.0011, so the arrows stay useful at every scale."""

    def __init__(self, lo: float = 0.0, hi: float = 1e6, parent=None):
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(lo, hi)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)


class Binder(QObject):
    """Two-way binding of widgets to spec fields. A widget edit pushes one SetSpecField (edits
    during one focus session merge into one undo step); spec changes (undo, fixes, other
    panels) update the widget without emitting edits."""

    def __init__(self, ctx: SetupContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.fields: dict[tuple[str, str], QWidget] = {}
        self._session: dict[int, int] = {}
        ctx.notifier.changed.connect(self._on_changed)
        ctx.replaced.connect(self.refresh)

    def eventFilter(self, obj, event) -> bool:  # a new focus session: the next edit is a new undo step
        if event.type() == QEvent.Type.FocusOut:
            self._session[id(obj)] = self._session.get(id(obj), 0) + 1
        return False

    def _commit(self, section: str, field: str, w: QWidget, value: Any) -> None:
        self.ctx.set(section, field, value, merge_key=(id(w), self._session.get(id(w), 0)))

    def combo(self, section: str, field: str, choices, labels: dict[str, str] | None = None) -> QComboBox:
        w = QComboBox()
        for c in choices:
            w.addItem((labels or {}).get(c, c.replace("_", " ")), c)
        w.setObjectName(f"{section}_{field}")
        w.activated.connect(lambda i: self.ctx.set(section, field, w.itemData(i)))
        return self._add(section, field, w)

    def int_spin(self, section: str, field: str, lo: int = 0, hi: int = 1_000_000) -> QSpinBox:
        w = QSpinBox()
        w.setRange(lo, hi)
        w.setKeyboardTracking(False)
        w.setAccelerated(True)
        w.valueChanged.connect(lambda v: self._commit(section, field, w, int(v)))
        return self._add(section, field, w)

    def float_spin(self, section: str, field: str, lo: float = 0.0, hi: float = 1e6,
                   step: float | None = None) -> QDoubleSpinBox:
        w = SciSpinBox(lo, hi)
        if step is not None:
            w.setStepType(QAbstractSpinBox.StepType.DefaultStepType)
            w.setSingleStep(step)
        w.setKeyboardTracking(False)
        w.valueChanged.connect(lambda v: self._commit(section, field, w, float(v)))
        return self._add(section, field, w)

    def check(self, section: str, field: str, text: str) -> QCheckBox:
        w = QCheckBox(text)
        w.toggled.connect(lambda v: self.ctx.set(section, field, bool(v)))
        return self._add(section, field, w)

    def _add(self, section: str, field: str, w: QWidget) -> QWidget:
        if not w.objectName():
            w.setObjectName(f"{section}_{field}")
        w.installEventFilter(self)
        self.fields[(section, field)] = w
        self._show(w, getattr(self.ctx.spec(section), field))
        return w

    @staticmethod
    def _show(w: QWidget, value: Any) -> None:
        w.blockSignals(True)
        try:
            if isinstance(w, QComboBox):
                i = w.findData(value)
                if i < 0:  # a value this list lacks (an unavailable device): show it, so nothing is hidden
                    w.addItem(str(value), value)
                    i = w.count() - 1
                w.setCurrentIndex(i)
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                w.setValue(value)
        finally:
            w.blockSignals(False)

    def _on_changed(self, spec, field: str) -> None:
        for (section, f), w in self.fields.items():
            if self.ctx.spec(section) is spec and (f == field or not field):
                self._show(w, getattr(spec, f))

    def refresh(self) -> None:
        for (section, f), w in self.fields.items():
            self._show(w, getattr(self.ctx.spec(section), f))


def scroll_panel(object_name: str) -> tuple[QScrollArea, QVBoxLayout]:
    """A scrollable page: docks get narrow, and a clipped form is worse than a scroll bar."""
    area = QScrollArea()
    area.setObjectName(object_name)
    area.setWidgetResizable(True)
    body = QWidget()
    lay = QVBoxLayout(body)
    lay.setContentsMargins(8, 8, 8, 8)
    lay.setSpacing(8)
    area.setWidget(body)
    return area, lay


def form() -> QFormLayout:
    f = QFormLayout()
    f.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    f.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return f


def dim_label(text: str = "") -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(True)
    lab.setProperty("class", "paramHelp")
    lab.setStyleSheet("color: #9aa0a8;")
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return lab
