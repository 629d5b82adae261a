"""The trainer end to end on tiny data: events, run folder, early stopping, control from another
thread, NaN stop, resume, seed reproducibility, refusals."""
import csv
import json
import math
import threading
import time

import pytest
import torch

from layerlab.core.specs import SCHEDULES
from layerlab.core.train import Control, Trainer, lr_curve
from layerlab.core.train.events import (DiagnosisEvent, EpochEnd, Failed, Finished, Paused, Resumed, RunStarted,
                                        Step, Stopped)
from layerlab.core.weights import read_weights

from .test_train_helpers import Recorder, blobs, dataset, images, mlp, project, regression

BLOBS = blobs()


def fit(p, ds=BLOBS, tmp=None, hook=None, control=None, **kw):
    rec = Recorder(hook)
    trainer = Trainer(p, ds, run_dir=tmp, **kw)
    result = trainer.fit(rec, control or Control())
    return trainer, result, rec


def rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_events_run_folder_and_metrics(tmp_path):
    p = mlp(epochs=3, probe_every=1, lr=0.01)
    trainer, result, rec = fit(p, tmp=tmp_path / "run")
    names = rec.names()
    assert names[0] == "RunStarted" and names[-1] == "Finished"
    started = rec.of(RunStarted)[0]
    assert started.steps_per_epoch == 5 and started.total_epochs == 3 and started.n_train == 300
    assert started.metric_names == ["val_accuracy", "val_f1"] and len(started.lrs) == 3
    ends = rec.of(EpochEnd)
    assert [e.epoch for e in ends] == [1, 2, 3]
    e = ends[-1]
    assert set(e.metrics) == {"val_accuracy", "val_f1"} and e.metrics["val_accuracy"] > 0.9
    assert set(e.grad_norms) == {"fc1", "logits"} and all(v > 0 for v in e.grad_norms.values())
    assert set(e.update_ratios) == {"fc1", "logits"} and all(0 < v < 1 for v in e.update_ratios.values())
    assert e.seconds > 0 and e.best_epoch == 3 and e.patience_left is None
    assert [s.epoch for s in rec.of(Step)][0] == 1 and all(s.samples_per_s > 0 for s in rec.of(Step))
    probes = [x for x in rec.events if type(x).__name__ == "ProbeSnapshot"]
    assert probes and probes[0].epoch == 0 and probes[-1].epoch == 3
    assert result.status == "finished" and result.epochs_run == 3 and result.test_metrics["test_accuracy"] > 0.9
    run = tmp_path / "run"
    for name in ("project.layerlab.json", "config.json", "metrics.csv", "best.safetensors", "last.safetensors",
                 "last.state.safetensors", "preprocessing.json", "diagnostics.json", "result.json"):
        assert (run / name).is_file(), name
    assert (run / "metrics.csv").read_text().splitlines()[0] == "epoch,train_loss,val_loss,val_accuracy,val_f1,lr,seconds"
    assert [r["epoch"] for r in rows(run)] == ["1", "2", "3"]
    config = json.loads((run / "config.json").read_text())
    assert config["seed"] == 0 and config["resolved"]["device"] == "cpu"
    assert {"torch", "numpy", "python", "layerlab"} <= set(config["versions"])
    assert config["dataset"]["train"] == 300 and config["dataset"]["val"] == 100
    assert json.loads((run / "result.json").read_text())["test_metrics"] == result.test_metrics
    assert json.loads((run / "preprocessing.json").read_text())["kind"] == "none"
    tensors, meta = read_weights(run / "last.safetensors")
    assert sorted(tensors) == sorted(f"{n}.{k}" for n in ("n2", "n4") for k in ("weight", "bias"))


def test_regression_run_reports_mae_and_r2(tmp_path):
    p = project(("Input", {"shape": [3]}), ("Dense", {"units": 16}), "Tanh", ("Dense", {"units": 1}), "Output",
                loss="mse", epochs=15, lr=0.02)
    _, result, rec = fit(p, regression(), tmp=tmp_path / "r")
    assert (tmp_path / "r" / "metrics.csv").read_text().splitlines()[0] == \
        "epoch,train_loss,val_loss,val_mae,val_r2,lr,seconds"
    assert rec.of(EpochEnd)[-1].metrics["val_r2"] > 0.9
    assert set(result.test_metrics) == {"test_loss", "test_mae", "test_r2"}


def test_same_seed_same_metrics_other_seed_differs(tmp_path):
    def run(seed, name):
        p = project(("Input", {"shape": [2]}), ("Dense", {"units": 16}), "ReLU", ("Dropout", {"p": 0.2}),
                    ("Dense", {"units": 3}), "Output", epochs=3, seed=seed, lr=0.01)
        fit(p, tmp=tmp_path / name)
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows(tmp_path / name)], \
            read_weights(tmp_path / name / "last.safetensors")[0]
    a, wa = run(1, "a")
    b, wb = run(1, "b")
    c, _ = run(2, "c")
    assert a == b and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a != c


def test_each_schedule_steps_as_its_preview(tmp_path):
    for schedule in SCHEDULES:
        p = mlp(epochs=4, schedule=schedule, lr=0.05, step_size=1, gamma=0.5, warmup_epochs=1, restart_epochs=1)
        _, _, rec = fit(p, tmp=tmp_path / schedule)
        got = [e.lr for e in rec.of(EpochEnd)]
        if schedule == "plateau":
            assert got[0] == 0.05
            continue
        curve = lr_curve(p.training, 5)
        assert got == pytest.approx([curve[k * 5 - 1] for k in (1, 2, 3, 4)]), schedule


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.2), ("momentum", 0.05), ("nesterov", 0.05), ("rmsprop", 0.01),
                                          ("adam", 0.01), ("adamw", 0.01)])
def test_every_optimizer_learns_with_regularizers(tmp_path, optimizer, lr):
    p = mlp(epochs=4, optimizer=optimizer, lr=lr, weight_decay=1e-4, l2=1e-4, l1=1e-5, max_norm=3.0, clip="norm")
    trainer, result, _ = fit(p, tmp=tmp_path / "r")
    assert result.val_metrics["val_accuracy"] > 0.9
    for name in ("fc1", "logits"):
        assert float(getattr(trainer.model, name).weight.detach().norm(dim=1).max()) <= 3.0 + 1e-4


def test_early_stopping_restores_the_best_weights(tmp_path):
    ds = BLOBS                           # validation labels shifted: val loss rises as training fits
    bad_val = dataset(ds.x_train, ds.y_train, ds.x_val, (ds.y_val + 1) % 3, ds.x_test, ds.y_test, name="blobs")
    p = mlp(epochs=30, lr=0.05, early_stopping=True, patience=2, monitor="val_loss")
    trainer, result, rec = fit(p, bad_val, tmp=tmp_path / "r")
    ends = rec.of(EpochEnd)
    assert result.stopped_early and len(ends) < 30
    assert [e.patience_left for e in ends][-1] == 0
    best = min(ends, key=lambda e: e.val_loss)
    assert result.best_epoch == best.epoch and result.restored_epoch == best.epoch
    assert rec.of(Finished)[0].result.restored_epoch == best.epoch
    # the model now holds the best epoch's weights: its val loss is that epoch's
    from layerlab.core.train.metrics import evaluate
    s = trainer.setup
    again = evaluate(trainer.model, s.loss_fn, s.data["x_val"], s.data["y_val"], "classification", 3, s.predict)
    assert again["val_loss"] == pytest.approx(best.val_loss, rel=1e-6)
    tensors, meta = read_weights(tmp_path / "r" / "best.safetensors")
    assert meta["epoch"] == str(best.epoch)
    assert torch.equal(tensors["n2.weight"], trainer.model.fc1.weight.detach())


def test_pause_resume_and_stop_from_another_thread(tmp_path):
    p = mlp(epochs=10_000, lr=0.01)
    control = Control()
    paused = threading.Event()
    rec = Recorder(lambda e: paused.set() if isinstance(e, Paused) else None)
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("r", Trainer(p, BLOBS, run_dir=tmp_path / "r")
                                                            .fit(rec, control)))
    worker.start()
    while not rec.of(Step):
        time.sleep(0.005)
    control.pause()
    assert paused.wait(5)
    n_events = len(rec.events)
    cpu0 = time.process_time()
    time.sleep(0.3)
    assert len(rec.events) == n_events                      # nothing happens while paused
    assert time.process_time() - cpu0 < 0.1                 # and nothing spins
    control.resume()
    t = time.perf_counter()
    while len(rec.of(Step)) < len([e for e in rec.events[:n_events] if isinstance(e, Step)]) + 3:
        time.sleep(0.005)
        assert time.perf_counter() - t < 10
    control.stop()
    worker.join(10)
    assert not worker.is_alive()
    result = box["r"]
    assert result.status == "stopped" and rec.names()[-1] == "Stopped"
    assert rec.of(Resumed) and (tmp_path / "r" / "last.safetensors").is_file()
    assert (tmp_path / "r" / "result.json").is_file()


def test_stop_takes_effect_after_the_current_step(tmp_path):
    control = Control()
    seen = []

    def hook(e):
        if isinstance(e, Step) and e.step >= 2:
            seen.append(e.step)
            control.stop()
    # epochs enough that the run outlasts the 50 ms between Step events on any machine
    trainer, result, rec = fit(mlp(epochs=5000), tmp=tmp_path / "r", hook=hook, control=control)
    assert result.status == "stopped" and trainer.global_step == seen[0]


def test_stopping_while_paused(tmp_path):
    control = Control()

    def hook(e):
        if isinstance(e, Step):
            control.pause()
        if isinstance(e, Paused):
            threading.Timer(0.05, control.stop).start()
    _, result, rec = fit(mlp(epochs=50), tmp=tmp_path / "r", hook=hook, control=control)
    assert result.status == "stopped" and len(rec.of(Paused)) == 1


def test_nan_stops_at_once_names_the_layer_and_keeps_the_best_checkpoint(tmp_path):
    holder = {}

    def hook(e):
        if isinstance(e, EpochEnd) and e.epoch == 2:       # blow up from epoch 3 on
            for g in holder["t"].setup.optimizer.param_groups:
                g["lr"] = 1e6
    p = mlp(hidden=(32, 32, 32), epochs=20, optimizer="sgd", lr=0.05)
    trainer = Trainer(p, BLOBS, run_dir=tmp_path / "r")
    holder["t"] = trainer
    rec = Recorder(hook)
    result = trainer.fit(rec)
    assert result.status == "failed" and rec.names()[-1] == "Failed"
    failed = rec.of(Failed)[0]
    assert len(rec.of(EpochEnd)) == 2                           # stopped inside epoch 3
    assert failed.layer == "fc1" and "Dense 'fc1'" in failed.message and "epoch 3" in failed.message
    assert "lower the learning rate" in failed.fix and "clip" in failed.fix
    assert any(d.code == "nan" for ev in rec.of(DiagnosisEvent) for d in ev.diagnoses)
    tensors, meta = read_weights(tmp_path / "r" / "best.safetensors")
    assert meta["epoch"] in ("1", "2") and all(torch.isfinite(t).all() for t in tensors.values())
    assert json.loads((tmp_path / "r" / "result.json").read_text())["status"] == "failed"


MLP_LAYERS = (("Input", {"shape": [2]}), ("Dense", {"units": 16}), "ReLU", ("Dropout", {"p": 0.3}),
              ("Dense", {"units": 3}), "Output")
CNN_LAYERS = (("Input", {"shape": [1, 8, 8]}), ("Conv2d", {"filters": 4, "bias": False}), ("BatchNorm", {}), "ReLU",
              ("MaxPool2d", {}), "Flatten", ("Dropout", {"p": 0.2}), ("Dense", {"units": 3}), "Output")


@pytest.mark.parametrize("layers,data", [(MLP_LAYERS, BLOBS), (CNN_LAYERS, images())], ids=["mlp", "cnn"])
def test_resume_continues_exactly_where_the_run_stopped(tmp_path, layers, data):
    def proj():
        return project(*layers, epochs=5, schedule="cosine", optimizer="adamw", weight_decay=0.01, lr=0.01)
    fit(proj(), data, tmp=tmp_path / "full")
    control = Control()

    def hook(e):
        if isinstance(e, EpochEnd) and e.epoch == 2:
            control.stop()
    _, first, _ = fit(proj(), data, tmp=tmp_path / "part", hook=hook, control=control)
    assert first.status == "stopped" and first.epochs_run == 2
    _, result, rec = fit(proj(), data, resume_from=tmp_path / "part")
    assert rec.of(RunStarted)[0].start_epoch == 3 and result.epochs_run == 5
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]   # noqa: E731
    assert strip(rows(tmp_path / "part")) == strip(rows(tmp_path / "full"))
    a, _ = read_weights(tmp_path / "full" / "last.safetensors")
    b, _ = read_weights(tmp_path / "part" / "last.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_a_folder_without_state(tmp_path):
    (tmp_path / "empty").mkdir()
    _, result, rec = fit(mlp(), resume_from=tmp_path / "empty")
    assert result.status == "failed" and "cannot resume" in rec.of(Failed)[0].message


def test_preflight_errors_refuse_to_start(tmp_path):
    _, result, rec = fit(mlp(classes=5), tmp=tmp_path / "r")
    assert rec.names() == ["Failed"]
    failed = rec.of(Failed)[0]
    assert failed.message == "Dense 'logits' gives 5 outputs but blobs has 3 classes" and failed.fix == "set units to 3"
    assert failed.problems and result.status == "failed" and not (tmp_path / "r").exists()


def test_bad_data_settings_fail_with_the_data_message(tmp_path):
    from layerlab.core.specs import DataSpec
    p = mlp(data=DataSpec(dataset="csv", path="missing.csv"))
    _, result, rec = fit(p, ds=None, tmp=tmp_path / "r")
    failed = rec.of(Failed)[0]
    assert "missing.csv" in failed.message and result.status == "failed"


def test_loads_its_data_and_notes_mixed_precision_off_on_cpu(tmp_path):
    from layerlab.core.specs import DataSpec
    p = mlp(data=DataSpec(dataset="blobs"), epochs=1, mixed_precision=True, device="cpu")
    _, result, rec = fit(p, ds=None, tmp=tmp_path / "r")
    config = rec.of(RunStarted)[0].config
    assert result.status == "finished" and config["resolved"]["mixed_precision"].startswith("off")
    assert any("mixed precision" in n for n in config["notes"])


def test_steps_are_throttled(tmp_path):
    """Step events come at most every STEP_INTERVAL, and one is never more than an interval
    (plus one step) behind the training: asserted on the events' own arrival times, since how
    many steps fit in an interval depends on the machine."""
    from layerlab.core.train.loop import STEP_INTERVAL
    times = []

    def hook(e):
        if isinstance(e, (Step, Finished)):
            times.append((time.perf_counter(), type(e).__name__))
    p = mlp(epochs=30, batch_size=4, lr=0.001)
    _, _, rec = fit(p, tmp=tmp_path / "r", hook=hook)
    steps = rec.of(Step)
    at = [t for t, kind in times if kind == "Step"]
    assert len(steps) >= 2 and all(math.isfinite(s.loss) for s in steps)
    assert all(b - a >= STEP_INTERVAL * 0.9 for a, b in zip(at, at[1:])), "more than 20 Step events a second"
    assert [s.step for s in steps] == sorted(s.step for s in steps)
    assert steps[-1].step <= 30 * 75


def test_per_position_sequence_training(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 10, (400, 6), generator=g)
    ds = dataset(x, x.flip(1), x[:100], x[:100].flip(1), num_classes=10, name="reverse")
    p = project(("Input", {"shape": [6], "dtype": "int64"}), ("Embedding", {"vocab": 10, "dim": 16}),
                "Flatten", ("Dense", {"units": 60}), ("Reshape", {"shape": [6, 10]}), "Output", epochs=15, lr=0.02)
    _, result, _ = fit(p, ds, tmp=tmp_path / "r")
    assert result.status == "finished" and result.val_metrics["val_accuracy"] > 0.9


def test_an_internal_error_is_reported_as_failed_then_raised(tmp_path):
    ds = blobs()
    ds.y_train = ds.y_train.float()          # slips past preflight; cross-entropy refuses it mid-run
    rec = Recorder()
    with pytest.raises(RuntimeError):
        Trainer(mlp(), ds, run_dir=tmp_path / "r").fit(rec)
    failed = rec.of(Failed)[-1]
    assert "internal error" in failed.message and failed.result.status == "failed"
    assert (tmp_path / "r" / "result.json").is_file()


def test_resume_into_another_folder_keeps_the_history(tmp_path):
    fit(mlp(epochs=2), tmp=tmp_path / "a")
    _, result, _ = fit(mlp(epochs=3), tmp=tmp_path / "b", resume_from=tmp_path / "a")
    assert result.epochs_run == 3 and [r["epoch"] for r in rows(tmp_path / "b")] == ["1", "2", "3"]
    assert [r["epoch"] for r in rows(tmp_path / "a")] == ["1", "2"]


def test_mixed_precision_branch_of_the_loop_trains(tmp_path):
    """The CUDA autocast + GradScaler path, exercised with CPU autocast (bf16) and a CPU scaler."""
    from functools import partial

    trainer = Trainer(mlp(epochs=1, clip="norm"), BLOBS, run_dir=tmp_path / "r")
    trainer.fit()
    from layerlab.core.train.loop import LoopState, train_epoch
    s = trainer.setup
    scaler = torch.amp.GradScaler("cpu")
    s.regularizer.scaler = scaler
    state = LoopState(model=trainer.model, loss_fn=s.loss_fn, optimizer=s.optimizer, x=s.data["x_train"],
                      y=s.data["y_train"], batch_size=64, generator=torch.Generator().manual_seed(0),
                      device=s.device, emit=lambda e: None, control=Control(), regularizer=s.regularizer,
                      autocast=partial(torch.autocast, device_type="cpu", dtype=torch.bfloat16), scaler=scaler)
    losses = [train_epoch(state, e).loss_sum / 300 for e in range(1, 6)]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
