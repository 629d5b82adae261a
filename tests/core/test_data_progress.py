"""Issue 18 item 1: `load` reports progress and stops on its cancel flag (the GUI loads in a thread)."""
import threading

import numpy as np
import pytest

from layerlab.core.data import LoadCancelled, load
from layerlab.core.specs import DataSpec


def _csv(path, rows=20_000):
    x = np.random.default_rng(0).standard_normal((rows, 4))
    y = np.arange(rows) % 3
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", fmt="%.5f", header="a,b,c,d,label", comments="")
    return DataSpec(dataset="csv", path=str(path))


def test_progress_rises_to_one_and_the_result_is_unchanged(tmp_path):
    spec = _csv(tmp_path / "t.csv")
    seen = []
    ds = load(spec, progress=seen.append)
    plain = load(spec)
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) > 3
    assert all(bool((getattr(ds, k) == getattr(plain, k)).all()) for k in ("x_train", "y_train", "x_val", "x_test"))


@pytest.mark.parametrize("at", [0.01, 0.5, 0.9])
def test_a_set_cancel_flag_stops_the_load_cleanly(tmp_path, at):
    spec = _csv(tmp_path / "t.csv")
    stop = threading.Event()
    with pytest.raises(LoadCancelled):
        load(spec, progress=lambda f: f >= at and stop.set(), cancel=stop)
    with pytest.raises(LoadCancelled):
        load(DataSpec(dataset="moons"), cancel=lambda: True)
