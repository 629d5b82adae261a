"""The training process's protocol: messages are plain data both ends own (every event type in
an explicit table, arrays as raw bytes, nothing unpickled), and the child server turns an
exception in the trainer into a report instead of dying."""
from __future__ import annotations

import dataclasses
import inspect
import multiprocessing
import threading

import numpy as np
import pytest

from layerlab.core.train import events, wire
from layerlab.core.train.diagnosis import Diagnosis
from layerlab.core.train.probes import LayerStats, ProbeSnapshot


def _dataclasses(module) -> set[type]:
    return {c for _, c in inspect.getmembers(module, inspect.isclass)
            if dataclasses.is_dataclass(c) and c.__module__ == module.__name__}


def test_every_event_dataclass_can_cross_the_process_boundary():
    from layerlab.core.train import diagnosis, probes
    needed = _dataclasses(events) | _dataclasses(probes) | _dataclasses(diagnosis)
    assert needed <= set(wire.TYPES.values()), needed - set(wire.TYPES.values())


def test_events_round_trip_with_arrays_nan_and_nested_dataclasses():
    stats = LayerStats("fc1", "n2", "Dense", 0.1, 1.0, np.arange(5, dtype=np.int64), np.linspace(-1, 1, 6),
                       weight_hist=np.ones((2, 3), np.float32))
    msg = ("events", [[1.5, events.Step(3, 1, 3, 7, float("nan"), 0.01, 1e4)],
                      [2.0, ProbeSnapshot(1, [stats])],
                      [2.5, events.DiagnosisEvent(1, [Diagnosis("dead_relu", "warning", "fc1", "m", "f",
                                                                  (("training", "lr", 0.01),))])],
                      [3.0, events.Finished(events.RunResult("finished", val_metrics={"val_loss": 0.5}))],
                      [3.5, events.EpochEnd(1, 0.5, 0.4, {"val_accuracy": 0.9}, 0.01, {"fc1": 1.0}, {}, 0.1, 1, True)]])
    back = wire.decode(wire.encode(msg))
    assert back[0] == "events"
    (t0, step), (_, snap), (_, diag), (_, fin), (_, end) = back[1]
    assert t0 == 1.5 and isinstance(step, events.Step) and np.isnan(step.loss) and step.batches == 7
    got = snap.layers[0]
    assert isinstance(got, LayerStats) and got.act_hist.dtype == np.int64
    np.testing.assert_array_equal(got.act_edges, stats.act_edges)
    assert got.weight_hist.shape == (2, 3) and got.weight_hist.dtype == np.float32
    assert diag.diagnoses[0] == Diagnosis("dead_relu", "warning", "fc1", "m", "f", (("training", "lr", 0.01),))
    hash(diag.diagnoses[0])
    assert fin.result.val_metrics == {"val_loss": 0.5} and end.metrics == {"val_accuracy": 0.9}


def test_what_is_not_plain_data_is_refused_at_both_ends():
    with pytest.raises(TypeError, match="wire.TYPES"):
        wire.encode(("job", object()))
    with pytest.raises(TypeError, match="dtype"):
        wire.encode(("job", np.array([object()])))
    good = wire.encode(("x", np.zeros(4)))
    forged = b'{"$t":"system","f":{}}'
    forged = len(forged).to_bytes(4, "little") + forged + b"\x02\x00\x00\x00[]"
    assert wire.decode(wire.encode({"$t": "system"})) == {"$t": "system"}   # a dict stays a dict
    for bad in (b"", good[:-3], b"\x05\x00\x00\x00{\"$t\"", forged):
        with pytest.raises(wire.WireError):
            wire.decode(bad)


def _serve_in_thread():
    from layerlab.core.train.child import Server
    parent, child = multiprocessing.Pipe()
    server = Server(child)
    threads = [threading.Thread(target=server.read, daemon=True), threading.Thread(target=server.loop, daemon=True)]
    for t in threads:
        t.start()
    return parent, threads


def _until(conn, kind: str) -> list:
    seen = []
    while True:
        assert conn.poll(60), f"no {kind!r} message; got {[m[0] for m in seen]}"
        msg = wire.decode(conn.recv_bytes())
        seen.append(msg)
        if msg[0] == kind:
            return seen


def test_an_exception_in_the_trainer_is_reported_and_the_server_keeps_serving(monkeypatch, tmp_path):
    from layerlab.core import resources
    from layerlab.core.project import load_project
    from layerlab.core.train import trainer as trainer_mod

    def boom(self, on_event=None, control=None):
        raise RuntimeError("boom: a bug in the engine")
    monkeypatch.setattr(trainer_mod.Trainer, "fit", boom)
    conn, threads = _serve_in_thread()
    project = load_project(resources.template_path("mlp"))
    conn.send_bytes(wire.encode(("train", {"project": project.to_dict(), "run_dir": str(tmp_path / "r")})))
    seen = _until(conn, "ended")
    crashed = [m for m in seen if m[0] == "crashed"]
    assert crashed and crashed[0][1] == "RuntimeError: boom: a bug in the engine"
    assert "Traceback" in crashed[0][2] and seen[-1] == ["ended", "failed"]
    conn.send_bytes(wire.encode(("inspect", "confusion", {})))   # still answering
    job = _until(conn, "job")[-1]
    assert job[1] == "confusion" and job[2] is None and "no model yet" in job[3]
    conn.send_bytes(wire.encode(("quit",)))
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)


def test_the_warm_process_has_done_the_first_optimizer_step_costs_before_train_is_pressed():
    """torch imports its compiler package (seconds) the first time an optimizer is built: the
    warm-up does it while the app idles, so a run started afterwards imports nothing more."""
    import subprocess
    import sys
    code = (
        "import sys, dataclasses, torch\n"
        "from layerlab.core.train import child\n"
        "child.warm_up()\n"
        "from layerlab.core.specs import OPTIMIZERS, TrainSpec\n"
        "from layerlab.core.train.optim import build_optimizer\n"
        "before = set(sys.modules)\n"
        "m = torch.nn.Linear(3, 2)\n"
        "for name in OPTIMIZERS:\n"
        "    opt = build_optimizer(dataclasses.replace(TrainSpec(), optimizer=name), m)\n"
        "    m(torch.ones(1, 3)).sum().backward(); opt.step()\n"
        "print(sorted(set(sys.modules) - before))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", f"imported after the warm-up: {out.stdout.strip()[:500]}"


def test_the_warm_step_leaves_torch_global_random_state_alone():
    import torch

    from layerlab.core.train.child import warm_step
    before = torch.get_rng_state()
    warm_step()
    assert torch.equal(before, torch.get_rng_state())
