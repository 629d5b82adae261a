"""The end of a run (core/train/end_report.py): the trainer and rank 0 of `layerlab train --nproc N`
write the same result.json fields (per-class report with class names, val/test ECE and
reliability, a binary run's ROC / PR, a next-token run's perplexity); `--calibrate` and the
imbalance flags work with --nproc; the trainer reuses its final test pass's outputs and writes the
same numbers as separate forward passes would."""
import json
import math

import pytest
import torch

from layerlab.core.cli import main
from layerlab.core.data import load as load_data
from layerlab.core.distributed import worker_args
from layerlab.core.distributed.worker import main as worker_main
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path
from layerlab.core.train import Trainer
from layerlab.core.train.calibration import outputs, reliability
from layerlab.core.train.curves import curves, scores_of
from layerlab.core.train.end_report import end_report
from layerlab.core.train.generate import perplexity
from layerlab.core.train.metrics import evaluate
from layerlab.core.train.run_files import read_project
from layerlab.core.train.setup import build
from layerlab.core.weights import load_weights

KEYS = ("val_ece", "test_ece", "val_roc_auc", "test_roc_auc", "val_pr_auc", "test_pr_auc")


def moons_project(path, epochs=3, **training):
    """The mlp template on moons with two logits: a binary run (ROC / PR) in a few seconds."""
    p = load_project(template_path("mlp"))
    p.data.dataset = "moons"
    p.graph.by_name("logits").params["units"] = 2
    p.training.epochs, p.training.device = epochs, "cpu"
    for k, v in training.items():
        setattr(p.training, k, v)
    save_project(p, path)
    return p


def single_process_report(run, weights="last.safetensors"):
    """end_report as one process computes it on the run's own project, data and final weights."""
    project = read_project(run)
    ds = load_data(project.data)
    s = build(project, ds)
    load_weights(s.compiled.module, s.compiled.node_of_module, run / weights)
    confusions = {}
    for split in ("val", "test"):
        evaluate(s.compiled.module, s.loss_fn, s.data[f"x_{split}"], s.data[f"y_{split}"], ds.task, ds.num_classes,
                 s.predict, s.transform, prefix=f"{split}_", confusions=confusions)
    return end_report(project, ds, s, confusions)


def test_two_process_run_writes_the_trainers_end_of_run_fields_calibrates_and_takes_the_imbalance_flags(
        tmp_path, capfd):
    path = tmp_path / "moons.layerlab.json"
    moons_project(path)
    run = tmp_path / "run"
    code = main(["train", str(path), "--nproc", "2", "--out", str(run), "--calibrate", "--class-weights", "1,2",
                 "--sampler", "balanced", "--json"])
    out = capfd.readouterr().out.strip().splitlines()
    assert code == 0, out
    assert json.loads(out[-2])["event"] == "finished" and json.loads(out[-1])["event"] == "calibrated"
    got = json.loads((run / "result.json").read_text())
    want = json.loads(json.dumps(single_process_report(run)))
    for key in KEYS:
        assert got[key] == pytest.approx(want[key], rel=1e-6, abs=1e-9), key
    for split in ("val", "test"):
        assert got["class_report"][split] == want["class_report"][split]
        assert got["class_report"][split]["classes"] == ["upper moon", "lower moon"]     # names, not 0 / 1
        assert got["reliability"][split]["count"] == want["reliability"][split]["count"]
        assert got["curves"][split]["by_threshold"] == want["curves"][split]["by_threshold"]
    # --class-weights and --sampler reached both workers' set-up (rank 0 wrote what it trained with)
    assert read_project(run).training.custom_class_weights == [1.0, 2.0]
    assert read_project(run).training.sampler == "balanced"
    assert json.loads((run / "config.json").read_text())["resolved"]["class_weights"] == [1.0, 2.0]
    # --calibrate fitted T on the weights the run ended with, after the workers were done
    cal = json.loads((run / "calibration.json").read_text())
    assert cal["weights"] == "last.safetensors" and cal["temperature"] > 0
    assert cal["val"]["ece_before"] == pytest.approx(got["val_ece"], rel=1e-6)


def test_a_ddp_worker_of_a_next_token_run_reports_its_perplexity(tmp_path):
    """Rank 0's closing code on the tiny transformer (one worker, in this process): the same
    perplexity as generate.perplexity on the weights it wrote."""
    p = load_project(template_path("tiny_transformer"))
    p.training.epochs, p.training.device = 1, "cpu"
    path, run = tmp_path / "tt.layerlab.json", tmp_path / "run"
    save_project(p, path)
    threads = torch.get_num_threads()
    try:
        assert worker_main([str(path), "--out", str(run), "--quiet"]) == 0
    finally:
        torch.set_num_threads(threads)
    got = json.loads((run / "result.json").read_text())
    ds = load_data(p.data)
    s = build(p, ds)
    load_weights(s.compiled.module, s.compiled.node_of_module, run / "last.safetensors")
    for split in ("val", "test"):
        want = perplexity(s.compiled.module, getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}"))
        assert got[f"{split}_perplexity"] == pytest.approx(want, rel=1e-6)
        assert got[f"{split}_ece"] > 0 and got["class_report"][split]["support"]
    assert math.log(got["val_perplexity"]) < math.log(ds.num_classes)


def test_the_trainers_end_of_run_fields_equal_separate_forward_passes(tmp_path):
    """The final test evaluation's outputs, and the last epoch's validation outputs when the weights
    are still those (not when an earlier epoch was restored), serve ECE, ROC / PR and perplexity:
    the same numbers, to the bit, as a forward pass of their own (what the trainer did before)."""
    restored = []
    for name, training in (("last", dict(epochs=4)),
                           ("restored", dict(epochs=15, lr=0.1, early_stopping=True, patience=10))):
        p = moons_project(tmp_path / f"{name}.layerlab.json", **training)
        trainer = Trainer(p, run_dir=tmp_path / name)
        r = trainer.fit()
        restored.append(r.restored_epoch not in (None, r.epochs_run))
        got = json.loads((tmp_path / name / "result.json").read_text())
        s = trainer.setup
        for split in ("val", "test"):
            rows, y = outputs(s.compiled.module, s.data[f"x_{split}"], s.data[f"y_{split}"], "softmax", s.eval_batch)
            rep = reliability(rows, y, "softmax")
            c = curves(scores_of(rows, "softmax"), y.numpy())
            assert got[f"{split}_ece"] == rep["ece"] and got["reliability"][split] == json.loads(json.dumps(rep))
            assert got[f"{split}_roc_auc"] == c["roc_auc"] and got[f"{split}_pr_auc"] == c["pr_auc"]
        test = evaluate(s.compiled.module, s.loss_fn, s.data["x_test"], s.data["y_test"], "classification", 2,
                        s.predict, batch=s.eval_batch, prefix="test_")
        assert r.test_metrics == test
    assert restored == [False, True]       # both ways were taken: reused validation outputs, and a new pass
    # a next-token run: perplexity from the reused outputs equals generate.perplexity's own pass
    t = load_project(template_path("tiny_transformer"))
    t.training.epochs, t.training.device = 1, "cpu"
    trainer = Trainer(t, run_dir=tmp_path / "text")
    r = trainer.fit()
    s = trainer.setup
    for split in ("val", "test"):
        assert getattr(r, f"{split}_perplexity") == perplexity(s.compiled.module, s.data[f"x_{split}"],
                                                               s.data[f"y_{split}"])


def test_imbalance_flags_override_the_project_and_bad_values_are_refused_in_one_line(tmp_path, capfd):
    path = tmp_path / "moons.layerlab.json"
    moons_project(path, epochs=1)
    for flags, says in ((["--class-weights", "1,-2"], "every weight must be a finite number above 0 (got -2)"),
                        (["--class-weights=-1,2"], "above 0 (got -1)"),
                        (["--class-weights", "1,x"], "give none, balanced, or one weight per class"),
                        (["--class-weights", "1,2,3"], "has 3 weights but moons has 2 classes"),
                        (["--class-weights", "nan,1"], "above 0 (got nan)")):
        assert main(["train", str(path), "--out", str(tmp_path / "no"), *flags]) == 2, flags
        err = capfd.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], (flags, err)
    # a worker refuses the same way before training
    assert worker_main([str(path), "--class-weights=1,-2"]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "(got -2)" in err[0], err
    # honoured: the run trains with them, the launcher hands them to its workers
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--class-weights", "balanced",
                 "--sampler", "balanced"]) == 0
    t = read_project(tmp_path / "run").training
    assert (t.class_weights, t.sampler) == ("balanced", "balanced")
    p = moons_project(path, class_weights="custom", custom_class_weights=[1.0, 3.0], sampler="balanced")
    assert main(["train", str(path), "--out", str(tmp_path / "plain"), "--class-weights", "none",
                 "--sampler", "none"]) == 0
    t = read_project(tmp_path / "plain").training
    assert (t.class_weights, t.custom_class_weights, t.sampler) == ("none", [], "shuffle")
    assert p.training.sampler == "balanced"
    import argparse
    args = argparse.Namespace(epochs=None, out="r", class_weights="-1,2", sampler="balanced", json=False)
    assert worker_args(args) == ["--out", "r", "--class-weights=-1,2", "--sampler", "balanced"]


def test_nproc_calibrate_without_out_calibrates_the_folder_the_workers_wrote(tmp_path, monkeypatch):
    from layerlab.core import cmd_calibrate, distributed
    path = tmp_path / "moons.layerlab.json"
    moons_project(path, epochs=1)
    seen = {}
    monkeypatch.setattr(distributed, "launch", lambda project, n, args: seen.update(argv=worker_args(args)) or 0)
    monkeypatch.setattr(cmd_calibrate, "calibrate_folder",
                        lambda run, data_dir, as_json=False: seen.update(run=run, data_dir=data_dir) or 0)
    assert main(["train", str(path), "--nproc", "2", "--calibrate"]) == 0
    out = seen["argv"][seen["argv"].index("--out") + 1]
    assert seen["run"] == out and str(tmp_path / "runs") in out and seen["data_dir"] == tmp_path
    # a failed run is not calibrated, and its exit code stays
    seen.clear()
    monkeypatch.setattr(distributed, "launch", lambda project, n, args: 1)
    assert main(["train", str(path), "--nproc", "2", "--calibrate"]) == 1 and "run" not in seen
