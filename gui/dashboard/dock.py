"""The `trainingDashboard` dock: live curves, layer statistics, inspection views, diagnostics,
run history and the init explorer, in tabs.

While a run trains, a ≤ 30 Hz timer refreshes one card per tick (or one slice of a costly card),
only cards on screen (a hidden tab catches up when shown), each at most every `min_interval` s
and within a CPU budget: the trainer runs in its own process, so the cost of drawing is the
GUI's own, and Qt paints the changed viewports after each refresh. Inspection views recompute
in the training process every few seconds while training, and once more when the run ends.
"""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from .calibration_view import CalibrationCard
from .curves import LossCard, MetricCard
from .diagnostics import DiagnosticsCard
from .gradients import GradientsCard
from .histograms import HistogramCard
from .history import HistoryCard
from .init_explorer import InitExplorer
from .inspect_views import BoundaryCard, ConfusionCard, FeatureMapsCard
from .roc_view import RocCard
from .sample_view import SampleCard
from .saliency_view import SaliencyCard

INSPECT_EVERY_S = 2.0
REDRAW_MS = 34          # ≤ 30 refresh slices a second
INSPECT_BUDGET = 0.02   # share of the training process's time inspection jobs may take
GUI_BUDGET = 0.25       # share of one core the dashboard may use for redraws while a run trains


def _splitter(orientation, widgets, stretch=()) -> QSplitter:
    """Splitters, not a grid: each row gets its own proportions and the user can drag them."""
    sp = QSplitter(orientation)
    for w in widgets:
        sp.addWidget(w)
    for i, f in enumerate(stretch):
        sp.setStretchFactor(i, f)
    sp.setChildrenCollapsible(False)
    sp.setHandleWidth(6)
    return sp


def _scrolling(page: QWidget) -> QScrollArea:
    """A tab page that scrolls below its cards' minimum size instead of imposing it on the dock:
    at 1366x768 the Live tab's ~960x370 px minimum left the canvas 255 px tall while training."""
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setMinimumSize(240, 160)
    return area


class _Tabs(QTabWidget):
    """Tabs whose pages sit in scroll areas; a page is still shown by passing the page itself."""

    def setCurrentWidget(self, page: QWidget) -> None:
        for i in range(self.count()):
            w = self.widget(i)
            if w is page or (isinstance(w, QScrollArea) and w.widget() is page):
                self.setCurrentIndex(i)
                return
        super().setCurrentWidget(page)


def explain(error: str) -> str:
    """A view that does not apply raises ValueError with a sentence for the user: show the
    sentence, not the exception's type name."""
    if error.startswith("ValueError: "):
        text = error[len("ValueError: "):]
        return "Not shown: " + text[:1].lower() + text[1:]
    return error


class TrainingDashboard(QWidget):
    """The content of the `trainingDashboard` dock (the dock itself exists from start-up so the
    saved window layout can place it; this widget is built once the heavy imports are in)."""

    def __init__(self, controller, ctx, parent=None):
        super().__init__(parent)
        self.setObjectName("dashboardContent")
        self.controller = controller
        self.store = None
        self._make_cards(ctx)
        self._lay_out()
        self._drawn: dict[int, tuple] = {}   # id(card) -> (version drawn, when)
        self._last_inspect = 0.0
        self._cpu_mark = None
        self._duty = 0.0
        self._job = None
        self._job_cost = 0.0
        self._inspected_epoch = -1
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._work)
        controller.run_started.connect(self.follow)
        controller.tick.connect(self.on_tick)
        controller.job_done.connect(self.on_job)
        controller.job_cost.connect(lambda s: setattr(self, "_job_cost", 0.5 * self._job_cost + 0.5 * s))
        controller.run_ended.connect(self.on_run_ended)
        ctx.replaced.connect(self.clear)   # another project: nothing of the last one stays on screen

    def _make_cards(self, ctx) -> None:
        request = self._request
        self.loss = LossCard()
        self.metric_card = MetricCard()
        self.gradients = GradientsCard()
        self.activations = HistogramCard(weights=False)
        self.weights = HistogramCard(weights=True)
        self.diagnostics = DiagnosticsCard(apply=ctx.set_many if ctx is not None else None)
        self.saliency = SaliencyCard(request)
        self.features = FeatureMapsCard(request)
        self.boundary = BoundaryCard(request)
        self.confusion = ConfusionCard(request)
        self.history = HistoryCard()
        self.calibration = CalibrationCard()
        self.init_explorer = InitExplorer(ctx)
        self.roc = RocCard()
        self.sample = SampleCard(request)
        self.cards = [self.loss, self.metric_card, self.gradients, self.activations, self.weights, self.diagnostics,
                      self.calibration, self.roc, self.sample]
        self.inspectors = {c.key(): c for c in (self.saliency, self.features, self.boundary, self.confusion)}
        self.inspectors["generate"] = self.sample    # asked by its Generate button only

    def _lay_out(self) -> None:
        self.inspect_tabs = QTabWidget(objectName="inspectTabs")
        self.inspect_tabs.setDocumentMode(True)
        for card, label in ((self.saliency, "Saliency"), (self.features, "Feature maps"),
                            (self.boundary, "Boundary"), (self.confusion, "Confusion")):
            self.inspect_tabs.addTab(card, label)
        self.inspect_tabs.currentChanged.connect(lambda _i: self._inspect(force=True))
        H, V = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        top = _splitter(H, (self.loss, self.metric_card, self.gradients), (4, 3, 3))
        bottom = _splitter(H, (self.activations, self.inspect_tabs), (3, 2))
        live = _splitter(V, (top, bottom))
        layers = _splitter(H, (self.weights, self.diagnostics))
        self.tabs = _Tabs(objectName="dashboardTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(_scrolling(live), "Live")
        self.tabs.addTab(_scrolling(layers), "Weights && diagnostics")
        self.tabs.addTab(_scrolling(self.history), "Runs")
        self.tabs.addTab(_scrolling(self.init_explorer), "Init explorer")
        self.tabs.addTab(_scrolling(self.calibration), "Calibration")
        self.tabs.addTab(_scrolling(self.roc), "ROC / PR")
        self.tabs.addTab(_scrolling(self.sample), "Sample")
        self.tabs.currentChanged.connect(lambda _i: self.redraw())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)

    # ------------------------------------------------------------ following a run
    def follow(self, store) -> None:
        self.store = store
        self._drawn.clear()
        self._job = None
        self._inspected_epoch = -1
        self.redraw(force=True)
        self._timer.start()

    def on_tick(self, store) -> None:
        if store is not self.store:
            self.follow(store)
        if not self._timer.isActive():   # resumed after a pause
            self._timer.start()
        self._inspect()

    def redraw(self, force: bool = False) -> None:
        """Bring every visible card up to date now (no run going on, a tab shown, a run ended)."""
        st = self.store
        if st is None:
            return
        if st.status == "running" and not force:
            self._timer.start()          # while training the timer does it, in slices
            return
        self._job = None
        now = time.monotonic()
        for card in self.cards:
            if card.isVisible():
                card.refresh(st)
                self._drawn[id(card)] = (st.version if card.per_step else st.epoch_version, now)
        self._tab_text()

    def _work(self) -> None:
        """One slice of refreshing per timer tick while a run is active: a card's refresh, or a
        part of a costly one, so the GUI thread never blocks for long."""
        st = self.store
        if st is None or st.status != "running":   # paused or ended: everything, at once
            self._timer.stop()
            if st is not None:
                self.redraw(force=True)
            return
        now = time.monotonic()
        if self._job is None:
            # the budget starts once the loss card shows the run: the first point is never rationed
            if not self._within_budget(now) and self.loss.has_points():
                return
            self._job = self._most_overdue(st, now)
            if self._job is None:
                return
        card, version = self._job
        if card.step(st):
            self._drawn[id(card)] = (version, now)
            self._job = None
        self._tab_text()

    def _most_overdue(self, st, now: float):
        due = []
        for card in self.cards:
            if not card.isVisible():   # hidden tab: catches up when it is shown
                continue
            version = st.version if card.per_step else st.epoch_version
            drawn, when = self._drawn.get(id(card), (None, 0.0))
            if drawn != version and now - when >= card.min_interval:
                due.append((when, id(card), card, version))
        if not due:
            return None
        _, _, card, version = min(due)     # the longest-waiting card
        return [card, version]

    def _tab_text(self) -> None:
        n = len(self.store.diagnoses) if self.store is not None else 0
        text = f"Weights && diagnostics ({n})" if n else "Weights && diagnostics"
        if self.tabs.tabText(1) != text:
            self.tabs.setTabText(1, text)

    def _within_budget(self, now: float) -> bool:
        """Keep this thread's CPU share under GUI_BUDGET while training: on a machine with few
        cores the GUI's drawing takes CPU time from the training process."""
        cpu = time.thread_time()
        last = self._cpu_mark
        self._cpu_mark = (now, cpu)
        if last is None or now <= last[0]:
            return True
        duty = (cpu - last[1]) / (now - last[0])
        self._duty = 0.7 * self._duty + 0.3 * duty
        return self._duty <= GUI_BUDGET

    def current_inspector(self):
        w = self.inspect_tabs.currentWidget()
        return w if w.isVisible() else None

    def _inspect(self, force: bool = False) -> None:
        page = self.current_inspector()
        st = self.store
        if page is None or st is None or st.status not in ("running", "paused", "finished", "stopped"):
            return
        now = time.monotonic()
        fresh = st.epoch_version != self._inspected_epoch
        # a job runs in the training process: keep it to ~2% of the run (a 50 ms saliency: every 2.5 s)
        wait = max(INSPECT_EVERY_S, self._job_cost / INSPECT_BUDGET) if st.active else 0.0
        if force or (fresh and now - self._last_inspect >= wait):
            if page.update_now():
                self._last_inspect = now
                self._inspected_epoch = st.epoch_version

    def on_job(self, key: str, value, error: str) -> None:
        page = self.inspectors.get(key)
        if page is not None:
            page.show_result(value, explain(error))

    def clear(self) -> None:
        """Forget the shown run (another project was opened); a run still going keeps its view."""
        if self.controller.running:
            return
        from ..training.store import MetricsStore
        self._timer.stop()
        self.store = MetricsStore()
        self._drawn.clear()
        self._job = None
        for card in self.cards:
            card.refresh(self.store)
        for page in self.inspectors.values():
            page.result = None
            for item in ("image", "points"):
                if hasattr(page, item):
                    getattr(page, item).clear()
            for t in getattr(page, "texts", []):
                page.plot_widget.removeItem(t)
            if hasattr(page, "texts"):
                page.texts = []
            if hasattr(page, "empty"):
                page.stack.setCurrentWidget(page.empty)
            page.caption.setText("No run of this project yet: press Train.")
        self._tab_text()

    def on_run_ended(self, store) -> None:
        if store.status == "failed":   # the cause and the fix are in the diagnostics panel
            self.tabs.setCurrentIndex(1)
        self.redraw(force=True)
        if store.status in ("finished", "stopped"):
            self._inspect(force=True)
        self.history.stale = True
        if self.history.isVisible():
            self.history.reload()

    def _request(self, key: str, params: dict) -> bool:
        return self.controller.submit(key, params)
