"""Inspections after a run go to the idle training process through a worker thread: the window
never waits for the answer, repeated requests collapse to the newest, and a process that stops
answering is reported in one line."""
import time

from PySide6.QtCore import QTimer

from layerlab.core.train import process
from layerlab.gui.training.controller import TrainingController

DELAY_S = 0.6


class SlowProcess:
    """Stands in for the idle training process: answers each job DELAY_S after it was sent."""

    def __init__(self, gone: bool = False):
        self.sent: list[tuple] = []
        self.at = 0.0
        self.gone = gone

    def send(self, *msg):
        self.sent.append(msg)
        self.at = time.monotonic()

    def receive(self, timeout):
        if self.gone:
            raise process.ProcessGone("the training process was killed (SIGKILL)")
        if time.monotonic() - self.at < DELAY_S:
            time.sleep(timeout)
            return None
        _, key, params = self.sent[-1]
        return ("job", key, {"key": key, **params}, "", 0.01)


def _controller(monkeypatch, proc):
    monkeypatch.setattr(process, "spare", lambda start=True: proc)
    c = TrainingController()
    c.model_process = proc
    got = []
    c.job_done.connect(lambda key, value, error: got.append((key, value, error)))
    return c, got


def test_an_inspection_after_the_run_never_blocks_the_window(qtbot, monkeypatch):
    proc = SlowProcess()
    c, got = _controller(monkeypatch, proc)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    t0 = time.monotonic()
    assert c.submit("confusion", {})
    for i in (1, 2, 3):                          # a slider dragged while the first job is out
        assert c.submit("saliency", {"index": i})
    assert time.monotonic() - t0 < 0.2          # the answer takes DELAY_S: nothing waited for it here
    qtbot.waitUntil(lambda: len(got) == 2, timeout=10_000)
    timer.stop()
    assert got == [("confusion", {"key": "confusion"}, ""), ("saliency", {"key": "saliency", "index": 3}, "")]
    assert [m[1:] for m in proc.sent] == [("confusion", {}), ("saliency", {"index": 3})]   # 1 and 2 never sent
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert ticks[-1] - ticks[0] > DELAY_S and max(gaps) < 0.25   # the event loop kept turning meanwhile
    c.shutdown()


def test_a_process_that_stops_answering_is_reported_and_forgotten(qtbot, monkeypatch):
    proc = SlowProcess(gone=True)
    c, got = _controller(monkeypatch, proc)
    assert c.submit("boundary", {"resolution": 90})
    qtbot.waitUntil(lambda: bool(got), timeout=10_000)
    key, value, error = got[0]
    assert key == "boundary" and value is None
    assert error.startswith("the training process holding the run's model stopped answering")
    assert c.model_process is None
    assert not c.submit("boundary", {"resolution": 90})     # nothing left to ask
    c.shutdown()
