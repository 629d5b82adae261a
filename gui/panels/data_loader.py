"""Loading the data set in a worker thread, so a 200 MB CSV or a large image folder never
freezes the window (issue 18 item 1).

The worker is a plain `threading.Thread` running a module-level function on a plain-Python
`LoadJob`: it touches no Qt object, so it never holds the last reference to one (Python's GC
runs only on the GUI thread, gui/gc_guard.py). The GUI thread polls the current job with a timer
for its progress and its end. A new request cancels the one in flight, and only the newest
job's result is ever taken: a stale load cannot overwrite a newer one."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

POLL_MS = 40


class LoadJob:
    def __init__(self, key: str, spec, base_dir):
        self.key, self.spec, self.base_dir = key, spec, base_dir
        self.cancel = threading.Event()
        self.fraction = 0.0
        self.dataset = None
        self.error = ""
        self.cancelled = False
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def report(self, fraction: float) -> None:
        self.fraction = fraction


def _run(job: LoadJob) -> None:
    from ...core.data import LoadCancelled, load
    try:
        job.dataset = load(job.spec, job.base_dir, progress=job.report, cancel=job.cancel)
    except LoadCancelled:
        job.cancelled = True
    except Exception as e:  # DataError, or anything a user file can provoke: shown, never raised
        job.error = str(e)
    finally:
        job.done.set()


class DataLoader(QObject):
    """One load at a time from the GUI's point of view; `finished(job)` for the newest only."""
    started = Signal(object)     # LoadJob
    progress = Signal(float)     # 0..1 of the current job
    finished = Signal(object)    # LoadJob: dataset, error, or cancelled

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job: LoadJob | None = None
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self._poll)

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, key: str, spec, base_dir) -> LoadJob:
        if self.job is not None:       # superseded: stop it; its result is never read
            self.job.cancel.set()
        job = self.job = LoadJob(key, spec, base_dir)
        job.thread = threading.Thread(target=_run, args=(job,), name="layerlab-data-load", daemon=True)
        job.thread.start()
        self.timer.start()
        self.started.emit(job)
        return job

    def cancel(self) -> None:
        """Stop the load in flight; the window hears `finished` with `cancelled` at once."""
        job = self.job
        if job is None:
            return
        job.cancel.set()
        job.cancelled = True
        self._end(job)

    def _poll(self) -> None:
        job = self.job
        if job is None:
            self.timer.stop()
        elif job.done.is_set():
            self._end(job)
        else:
            self.progress.emit(job.fraction)

    def _end(self, job: LoadJob) -> None:
        self.job = None
        self.timer.stop()
        self.finished.emit(job)


class LoadBar(QWidget):
    """While a load is in flight: percent loaded and Cancel. After Cancel: a note that the data
    set loaded before is still shown, and Reload."""

    def __init__(self, loader: DataLoader, reload, parent=None):
        super().__init__(parent)
        self.setObjectName("dataLoadBar")
        self.bar = QProgressBar(objectName="dataLoadProgress")
        self.bar.setRange(0, 1000)
        self.cancel = QPushButton("Cancel", objectName="dataLoadCancel")
        self.cancel.setToolTip("Stop loading; the data set loaded before stays")
        self.cancel.clicked.connect(loader.cancel)
        self.note = QLabel("Loading cancelled: the data set loaded before is still shown", objectName="dataLoadNote")
        self.note.setWordWrap(True)
        self.reload = QPushButton("Reload", objectName="dataReload")
        self.reload.clicked.connect(reload)
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        for w, stretch in ((self.bar, 1), (self.cancel, 0), (self.note, 1), (self.reload, 0)):
            h.addWidget(w, stretch)
        loader.started.connect(self._started)
        loader.progress.connect(self._progress)
        loader.finished.connect(self._finished)
        self._show(loading=False, cancelled=False)

    def _show(self, loading: bool, cancelled: bool) -> None:
        for w in (self.bar, self.cancel):
            w.setVisible(loading)
        for w in (self.note, self.reload):
            w.setVisible(cancelled)
        self.setVisible(loading or cancelled)

    def _started(self, job: LoadJob) -> None:
        name = str(getattr(job.spec, "path", "") or getattr(job.spec, "dataset", ""))
        self.bar.setFormat(f"Loading {name.replace(chr(92), '/').split('/')[-1]}… %p%")
        self._progress(0.0)
        self._show(loading=True, cancelled=False)

    def _progress(self, fraction: float) -> None:
        self.bar.setValue(int(fraction * 1000))

    def _finished(self, job: LoadJob) -> None:
        self._show(loading=False, cancelled=job.cancelled)
