"""MetricsStore: bounded memory whatever the run length, faithful summaries, events in order."""
from __future__ import annotations

import math

import numpy as np

from layerlab.core.train.probes import ProbeSnapshot
from layerlab.core.train.events import EpochEnd, Finished, Paused, Resumed, RunResult, RunStarted, Step
from layerlab.gui.dashboard.plot_style import ema
from layerlab.gui.training.store import MetricsStore, Series


def test_series_stays_bounded_and_keeps_an_even_summary():
    s = Series(["x", "y"], cap=64)
    n = 100_000
    for i in range(n):
        s.append((i, i % 10))
    assert len(s) <= 64 and s.stride >= n // 64 // 2
    assert len(s.buf) == 64                       # grew to the cap, never beyond
    x = s.col("x")
    assert np.all(np.diff(x) > 0)                 # still ordered
    assert abs(s.col("y").mean() - 4.5) < 0.5     # averaging keeps the level
    assert x[-1] > 0.9 * n                        # and reaches the end of the run


def test_store_applies_events_and_bounds_probes():
    st = MetricsStore("t", step_cap=32, probe_cap=8)
    st.apply([RunStarted("r", {"training": {"early_stopping": True, "patience": 4}}, 10, 3, metric_names=["val_accuracy", "val_f1"])])
    assert st.status == "running" and st.patience == 4
    for k in range(1, 200):
        st.apply([Step(k, 1 + k // 10, k % 10 + 1, 10, 1.0 / k, 0.01, 1000.0)])
    assert len(st.steps) <= 32
    st.apply([EpochEnd(1, 0.9, 0.8, {"val_accuracy": 0.5, "val_f1": 0.4}, 0.01, {"fc1": 0.1}, {"fc1": 1e-3}, 0.2, 1,
                       True, patience_left=4)])
    for e in range(20):
        st.apply([ProbeSnapshot(e)])
    assert len(st.probes) <= 8 and st.probes[0].epoch == 0 and st.probes[-1].epoch == 19
    st.apply([Paused(1, 5)])
    assert st.status == "paused"
    st.apply([Resumed(1, 5)])
    st.apply([Finished(RunResult("finished", best_epoch=1, restored_epoch=1))])
    assert st.status == "finished" and st.restored_epoch == 1 and st.best_epoch == 1
    cols, rows = st.epoch_table()
    assert cols == ["epoch", "train_loss", "val_loss", "val_accuracy", "val_f1", "lr", "seconds"]
    assert rows == [[1.0, 0.9, 0.8, 0.5, 0.4, 0.01, 0.2]]
    assert st.progress.fraction > 0


def test_ema_is_bias_corrected_and_respects_decimation():
    y = np.array([2.0, 2.0, 2.0, 2.0])
    assert np.allclose(ema(y, 0.9), y)            # a constant stays constant from the first point
    noisy = 1 + np.random.default_rng(0).normal(0, 0.3, 1000)
    assert ema(noisy, 0.95).std() < 0.5 * noisy.std()
    assert np.array_equal(ema(noisy, 0.0), noisy)
    # two steps per stored point: the same smoothing as weight² per point
    assert math.isclose(ema(noisy, 0.9, stride=2)[-1], ema(noisy, 0.81)[-1])


def test_every_event_the_store_can_receive_has_a_handler():
    import dataclasses
    import inspect

    from layerlab.core.train import events
    from layerlab.core.train.probes import ProbeSnapshot
    from layerlab.gui.training import store as store_mod
    sent = {c for _, c in inspect.getmembers(events, inspect.isclass)
            if dataclasses.is_dataclass(c) and c.__module__ == events.__name__ and c is not events.RunResult}
    sent |= {ProbeSnapshot, store_mod.Crashed, store_mod.ProcessDied}
    assert set(store_mod.HANDLERS) == sent
    st = store_mod.MetricsStore("x", status="running")
    st.apply([store_mod.ProcessDied("the training process was killed", "Press Train to start again")])
    assert st.status == "failed" and st.failure == ("the training process was killed", "Press Train to start again")
