"""Issue 18 item 1: the data set loads in a worker thread. A 200 MB CSV leaves the window
responsive (a 5 ms timer stays on time), shows its progress, can be cancelled (the data set
loaded before stays), and a newer request supersedes an older one."""
from __future__ import annotations

import time

import numpy as np
import pytest

from .big_csv import write_big_csv
from .training_support import edit, field, mlp_window  # noqa: F401 - fixture

_ = mlp_window
TICK_MS = 5


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    return write_big_csv(tmp_path_factory.mktemp("big") / "big.csv")


def _point_at(qtbot, ui, path) -> None:
    ui.ctx.base_dir = lambda: path.parent
    if ui.data_panel.dataset.currentData() != "csv":
        edit(qtbot, field(ui, "data_dataset"), "csv")
    ui.data_panel.path.setText(path.name)
    ui.data_panel.path.editingFinished.emit()


class Ticks:
    """A 5 ms QTimer on the GUI thread; its lateness is how long the event loop was blocked."""

    def __init__(self):
        from PySide6.QtCore import QTimer
        self.times: list[float] = []
        self.timer = QTimer(interval=TICK_MS)
        self.timer.setTimerType(self.timer.timerType().PreciseTimer)
        self.timer.timeout.connect(lambda: self.times.append(time.perf_counter()))
        self.timer.start()

    def lateness_ms(self) -> np.ndarray:
        self.timer.stop()
        return np.maximum(np.diff(np.asarray(self.times)) * 1000 - TICK_MS, 0.0)


def test_a_200_mb_csv_loads_in_the_background_and_the_window_stays_responsive(qtbot, mlp_window, big_csv):
    win, ui = mlp_window
    seen = []
    ui.ctx.loader.progress.connect(seen.append)
    t0 = time.perf_counter()
    _point_at(qtbot, ui, big_csv)
    qtbot.waitUntil(lambda: ui.ctx.loading, timeout=30_000)
    assert ui.data_panel.load_bar.isVisible() and "big.csv" in ui.data_panel.load_bar.bar.format()
    assert ui.ctx.dataset() is None and "loading" in ui.ctx.data_state()
    ticks = Ticks()
    qtbot.waitUntil(lambda: ui.ctx.dataset() is not None, timeout=120_000)
    late = ticks.lateness_ms()
    p99, worst = float(np.percentile(late, 99)), float(late.max())
    numbers = (f"UI timer lateness while loading {big_csv.stat().st_size / 1e6:.0f} MB: p99 {p99:.1f} ms, "
               f"max {worst:.1f} ms over {len(late)} ticks; load {time.perf_counter() - t0:.1f} s")
    blocked = float(late.sum()) / 1000 / max(ticks.times[-1] - ticks.times[0], 1e-9)
    numbers += f"; event loop blocked {blocked:.0%} of the load"
    print(numbers)
    assert len(ui.ctx.dataset().x_train) == 875_000 and "big.csv: 875,000 train" in ui.data_panel.info.text()
    assert seen and max(seen) > 0.5 and not ui.data_panel.load_bar.isVisible()
    # Loaded on the GUI thread, this file blocks the event loop for the whole load (11-16 s here).
    # The 16 ms p99 target is a benchmark figure (bench_gui data_load_ui_p99_ms), not asserted here:
    # on a loaded 2-core machine numpy steps that hold the GIL reach 50-130 ms.
    # The loader's thread holds the GIL up to a switch interval (5 ms) at a time, so the 5 ms timer
    # is late part of the time even with short parser calls (csv_file.CALL_BYTES): 10 % here on a
    # 2 GHz Zen 1 machine (8-26 % outside Qt). 10,000-line parser calls, 25 ms each there, measured
    # 38-41 % (p99 24 ms); a load on the GUI thread blocks it all the time.
    assert worst <= 1000, numbers
    assert blocked <= 0.35, numbers


def test_cancel_stops_promptly_and_keeps_the_previous_data(qtbot, mlp_window, big_csv):
    win, ui = mlp_window
    before, text = ui.ctx.dataset(), ui.data_panel.info.text()
    _point_at(qtbot, ui, big_csv)
    qtbot.waitUntil(lambda: ui.ctx.loading and ui.ctx.loader.job.fraction > 0.05, timeout=20_000)
    job = ui.ctx.loader.job
    t0 = time.perf_counter()
    ui.data_panel.load_bar.cancel.click()
    assert not ui.ctx.loading
    job.thread.join(1.0)
    assert not job.thread.is_alive() and job.cancelled, "the worker did not stop within 1 s"
    assert time.perf_counter() - t0 < 1.0
    assert ui.ctx._dataset is before and ui.data_panel.info.text() == text    # the spiral stays on show
    bar = ui.data_panel.load_bar
    assert bar.isVisible() and bar.note.isVisible() and bar.reload.isVisible() and not bar.cancel.isVisible()
    qtbot.wait(400)                             # the debounced reload does not restart a cancelled load
    assert not ui.ctx.loading and ui.ctx.dataset() is None and "cancelled" in ui.ctx.data_state()
    small = big_csv.parent / "small.csv"
    small.write_text("a,b,label\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(100)))
    _point_at(qtbot, ui, small)                 # a new choice loads without Reload
    qtbot.waitUntil(lambda: ui.ctx.dataset() is not None, timeout=10_000)
    assert "small.csv: 70 train" in ui.data_panel.info.text() and not bar.isVisible()


def test_a_newer_request_supersedes_the_older_one(qtbot, mlp_window, big_csv):
    win, ui = mlp_window
    _point_at(qtbot, ui, big_csv)
    qtbot.waitUntil(lambda: ui.ctx.loading, timeout=30_000)
    first = ui.ctx.loader.job
    small = big_csv.parent / "newer.csv"
    small.write_text("a,b,label\n" + "".join(f"{i},{i % 5},{i % 3}\n" for i in range(60)))
    _point_at(qtbot, ui, small)
    qtbot.waitUntil(lambda: ui.ctx.dataset() is not None, timeout=10_000)
    assert first.cancel.is_set()
    first.thread.join(1.0)
    assert not first.thread.is_alive() and first.dataset is None    # stopped, nothing produced
    ds = ui.ctx.dataset()
    qtbot.wait(300)
    assert ui.ctx.dataset() is ds and ds.name == "newer.csv" and "newer.csv: 42 train" in ui.data_panel.info.text()


def test_the_loader_reports_only_its_newest_job(qtbot, tmp_path):
    from layerlab.core.specs import DataSpec
    from layerlab.gui.panels.data_loader import DataLoader
    loader = DataLoader()
    ended = []
    loader.finished.connect(ended.append)
    a = loader.start("a", DataSpec(dataset="moons"), None)
    b = loader.start("b", DataSpec(dataset="iris"), None)
    qtbot.waitUntil(lambda: bool(ended), timeout=10_000)
    a.thread.join(5)
    qtbot.wait(3 * 40)
    assert ended == [b] and b.dataset is not None and b.dataset.name == "iris" and a.cancel.is_set()
    bad = loader.start("c", DataSpec(dataset="csv", path=str(tmp_path / "missing.csv")), None)
    qtbot.waitUntil(lambda: len(ended) == 2, timeout=10_000)
    assert ended[-1] is bad and bad.dataset is None and "missing.csv" in bad.error and "\n" not in bad.error
