"""`layerlab train`: progress and final metrics, --json lines, bad input exits 2, Ctrl-C exits 130
and keeps the run folder, --resume continues."""
import json
import math
import os
import signal
import threading
import time

import pytest

from layerlab.core.cli import main
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path


def spiral_project(tmp_path, epochs=2, **training):
    p = load_project(template_path("mlp"))
    p.training.epochs = epochs
    p.training.probe_every = 0
    for k, v in training.items():
        setattr(p.training, k, v)
    path = tmp_path / "spiral.layerlab.json"
    save_project(p, path)
    return path


def test_train_prints_progress_and_final_metrics(tmp_path, capsys):
    path = spiral_project(tmp_path)
    assert main(["train", str(path), "--epochs", "3", "--seed", "1"]) == 0
    out, err = capsys.readouterr()
    assert "epoch 3/3: train_loss" in err and "ETA" in err
    first = err.splitlines()[0]     # the loss at init, next to ln 3, on the first line
    assert first.startswith("training ") and "loss at init" in first and "ln 3 = 1.099 expected" in first
    assert "test_accuracy" in out and "finished after 3 epoch(s)" in out
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "metrics.csv").read_text().count("\n") == 4
    assert json.loads((runs[0] / "config.json").read_text())["seed"] == 1


def test_json_lines(tmp_path, capsys):
    path = spiral_project(tmp_path, init="auto")
    assert main(["train", str(path), "--json", "--out", str(tmp_path / "run")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["event"] for x in lines] == ["start", "epoch", "epoch", "finished"]
    assert lines[0]["expected_loss_at_init"] == pytest.approx(math.log(3))
    assert abs(lines[0]["loss_at_init"] / math.log(3) - 1) < 0.02      # auto init: small logits
    assert lines[-1]["loss_at_init"] == lines[0]["loss_at_init"]
    assert {"train_loss", "val_loss", "val_accuracy", "val_f1", "lr"} <= set(lines[1])
    assert lines[-1]["test_metrics"]["test_accuracy"] > 0 and lines[-1]["run_dir"] == str(tmp_path / "run")


def test_bad_project_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["train", str(tmp_path / "missing.layerlab.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_setup_problems_exit_2(tmp_path, capsys):
    path = spiral_project(tmp_path, loss="mse")
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert "error: training.loss mse is a regression loss but spiral has class labels" in err
    assert not (tmp_path / "runs").exists()


def test_out_folder_holding_a_run_is_refused(tmp_path, capsys):
    path = spiral_project(tmp_path, epochs=1)
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 0
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_resume_continues_to_more_epochs(tmp_path, capsys):
    path = spiral_project(tmp_path, epochs=2)
    run = tmp_path / "run"
    assert main(["train", str(path), "--out", str(run)]) == 0
    assert main(["train", str(path), "--resume", str(run), "--epochs", "4", "--json"]) == 0
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["epochs_run"] == 4
    assert [line.split(",")[0] for line in (run / "metrics.csv").read_text().splitlines()[1:]] == ["1", "2", "3", "4"]


def test_ctrl_c_stops_cleanly_and_keeps_the_run(tmp_path, capsys):
    """SIGINT as a terminal sends it, in process (a subprocess would spend seconds importing)."""
    path = spiral_project(tmp_path, epochs=100_000)
    run = tmp_path / "run"

    def interrupt():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            metrics = run / "metrics.csv"
            if metrics.is_file() and metrics.read_text().count("\n") >= 2:   # one epoch done
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.01)
    before = signal.getsignal(signal.SIGINT)     # default_int_handler, or SIG_IGN in a background job
    threading.Thread(target=interrupt, daemon=True).start()
    assert main(["train", str(path), "--json", "--out", str(run)]) == 130
    out, err = capsys.readouterr()
    assert json.loads(out.splitlines()[-1])["event"] == "stopped" and "stopping after this step" in err
    for name in ("last.safetensors", "last.state.safetensors", "result.json", "metrics.csv"):
        assert (run / name).is_file(), name
    assert signal.getsignal(signal.SIGINT) is before      # the handler it found is restored


def test_progress_line_updates_in_place_on_a_terminal():
    import io

    from layerlab.core.cmd_train import Progress
    from layerlab.core.train.events import EpochEnd, RunStarted, Step

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    term = Terminal()
    progress = Progress(term)
    progress.start(RunStarted(run_dir="r", config={}, steps_per_epoch=10, total_epochs=2))
    progress.step(Step(step=5, epoch=1, batch=5, batches=10, loss=0.5, lr=0.1, samples_per_s=1000.0))
    line = term.getvalue()
    assert line.startswith("\r\x1b[K") and "epoch 1/2" in line and " 25% " in line and "ETA 0:" in line
    progress.epoch(EpochEnd(epoch=1, train_loss=0.5, val_loss=0.6, metrics={"val_accuracy": 0.9}, lr=0.1,
                            grad_norms={}, update_ratios={}, seconds=0.1, best_epoch=1, improved=True))
    assert term.getvalue().endswith("\n") and "val_accuracy 0.9000" in term.getvalue()
