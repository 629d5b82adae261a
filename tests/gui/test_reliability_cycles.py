"""Hardening of training from the GUI: many start / pause / resume / stop cycles through the
tool-bar actions (actionTrain, actionPause, actionStop) on the mlp template, without deadlock,
leaked threads or growing memory.

`run_cycles(qtbot, ui, n)` is the body; tests/bench/bench_reliability.py runs it too and
reports the figures."""
from __future__ import annotations

import os
import threading
import time

from .training_support import mlp_window  # noqa: F401 - fixture

_ = mlp_window
CYCLES = 100
RSS_LIMIT_MB = 150.0
STEP_MS = 15_000    # every wait is bounded: a deadlock fails the test instead of hanging it


def rss_mb() -> float:
    """Resident set size from /proc/self/statm (pages)."""
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 2**20


def cheap_setup(ui) -> None:
    """Tiny spiral, small batches, an endless run: every cycle is interrupted mid-run by Stop."""
    ui.ctx.set_many([("data", "options", {"n_samples": 90}), ("training", "epochs", 100_000),
                     ("training", "batch_size", 8)], "reliability cycles")


def one_cycle(qtbot, ui) -> None:
    ctl = ui.controller
    assert ui.action_train.isEnabled()
    ui.action_train.trigger()
    store = ctl.store
    qtbot.waitUntil(lambda: store.status == "running" and len(store.steps) >= 1, timeout=STEP_MS)
    assert ui.action_pause.isEnabled()
    ui.action_pause.trigger()                                 # pause
    qtbot.waitUntil(lambda: store.status == "paused", timeout=STEP_MS)
    seen = store.version
    ui.action_pause.trigger()                                 # resume
    qtbot.waitUntil(lambda: store.status == "running" and store.version != seen, timeout=STEP_MS)
    ui.action_stop.trigger()
    qtbot.waitUntil(lambda: ctl.thread is None, timeout=STEP_MS)
    assert store.status == "stopped", (store.status, store.failure)
    assert store.result is not None and store.result.status == "stopped"
    assert store.result.epochs_run < store.result.total_epochs   # interrupted mid-run


def run_cycles(qtbot, ui, n: int, budget_s: float | None = None) -> dict:
    """n cycles (fewer if budget_s runs out); returns the figures."""
    import gc
    cheap_setup(ui)
    one_cycle(qtbot, ui)                    # warm-up: first imports, first dashboard draw
    gc.collect()
    threads0, rss0 = threading.active_count(), rss_mb()
    t0 = time.perf_counter()
    done = 0
    for _ in range(n):
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            break
        one_cycle(qtbot, ui)
        done += 1
    seconds = time.perf_counter() - t0
    qtbot.waitUntil(lambda: threading.active_count() <= threads0, timeout=STEP_MS)
    gc.collect()
    return {"cycles": done, "seconds": seconds, "threads_before": threads0,
            "threads_after": threading.active_count(), "rss_before_mb": rss0, "rss_after_mb": rss_mb()}


def test_100_start_pause_resume_stop_cycles_no_deadlock_no_leaks(qtbot, mlp_window):
    from .conftest import dangling_threads
    win, ui = mlp_window
    fig = run_cycles(qtbot, ui, CYCLES)
    growth = fig["rss_after_mb"] - fig["rss_before_mb"]
    print(f"\n{fig['cycles']} cycles in {fig['seconds']:.1f} s; threads {fig['threads_before']} -> "
          f"{fig['threads_after']}; RSS {fig['rss_before_mb']:.1f} -> {fig['rss_after_mb']:.1f} MB "
          f"(+{growth:.1f} MB)")
    assert fig["cycles"] == CYCLES
    assert ui.controller.thread is None and not dangling_threads()
    assert fig["threads_after"] <= fig["threads_before"]
    assert growth < RSS_LIMIT_MB
    assert ui.action_train.isEnabled() and not ui.action_stop.isEnabled()
