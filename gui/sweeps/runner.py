"""Runs a sweep worker as a child process (`layerlab sweep` on a snapshot of the project, so edits
made meanwhile do not leak into running trials) and polls the study's storage in a thread.

The storage is the source of truth: the view shows whatever any worker wrote (this process, another
terminal, another machine), so it reads the study rather than the child's output. One poll a
second while the view is visible or our worker runs, each in a thread so a slow database never stalls the GUI; a poll still in
flight is not doubled."""
from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

POLL_MS = 1000


class SweepRunner(QObject):
    polled = Signal(object, object)     # Summary or None, importances dict
    status = Signal(str)                # "running" / "idle" / a one-line failure
    _result = Signal(object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.url = self.study = ""
        self.process: QProcess | None = None
        self._busy = False
        self._result.connect(self.polled)
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def watch(self, url: str, study: str) -> None:
        self.url, self.study = url, study
        self.poll()

    def start(self, project, folder: Path, url: str, study: str, args: list[str]) -> None:
        """Write the snapshot into folder/STUDY/ and start a worker on it."""
        from ...core.experiments.study import slug
        from ...core.project import save_project
        out = Path(folder) / "sweeps" / slug(study)
        out.mkdir(parents=True, exist_ok=True)
        snapshot = out / "project.layerlab.json"
        save_project(project, snapshot)
        self.url, self.study = url, study
        p = QProcess(self)
        p.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        p.finished.connect(self._ended)
        p.start(sys.executable, ["-m", "layerlab.core.cli", "sweep", str(snapshot), "--storage", url, "--study", study,
                                 "--out", str(out), *args])
        self.process = p
        self.timer.start()
        self.status.emit("running")

    def stop(self) -> None:
        """Ctrl-C for the worker: its running trial stops and its slot goes back to the study."""
        if self.running:
            os.kill(int(self.process.processId()), signal.SIGINT)

    def _ended(self, code: int, _status) -> None:
        err = bytes(self.process.readAllStandardError()).decode("utf-8", "replace").strip().splitlines()
        fails = [line for line in err if line.startswith("layerlab sweep:")]
        self.status.emit(fails[-1] if code not in (0, 130) and fails else "idle")
        self.poll()
        parent = self.parent()
        if parent is not None and hasattr(parent, "isVisible") and not parent.isVisible():
            self.timer.stop()

    def poll(self) -> None:
        if self._busy or not self.url:
            return
        self._busy = True
        threading.Thread(target=self._read, args=(self.url, self.study), name="layerlab-sweep-poll",
                         daemon=True).start()

    def _read(self, url: str, study: str) -> None:
        from ...core.experiments.summary import load_summary, importances
        summary, imp = None, {}
        try:
            summary = load_summary(url, study)
            if summary.finished >= 3:
                import optuna
                from ...core.experiments.study import open_storage
                imp = importances(optuna.load_study(study_name=study, storage=open_storage(url, create=False)))
        except Exception:   # noqa: BLE001 - no study yet, database busy: the next poll tries again
            summary = None
        self._busy = False
        try:
            self._result.emit(summary, imp)
        except RuntimeError:     # the window closed meanwhile
            pass

    def shutdown(self) -> None:
        self.timer.stop()
        if self.running:
            self.stop()
            if not self.process.waitForFinished(30_000):
                self.process.kill()
                self.process.waitForFinished(5_000)


def args_for(trials: int, sampler: str, objective: str, repeats: int, epochs: int | None, ranges: list[str]) -> list[str]:
    out = ["--trials", str(trials), "--sampler", sampler, "--objective", objective, "--repeats", str(repeats)]
    if epochs:
        out += ["--epochs", str(epochs)]
    for r in ranges:
        out += ["--param", r]
    return out

