"""The standalone training script: runs where LayerLab cannot be imported, reproduces LayerLab's
run (same data, preprocessing, init, optimizer, schedule: same validation metrics), and trains
with DistributedDataParallel under torch.distributed.run."""
import csv
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from layerlab.core.compiler import compile_graph
from layerlab.core.data import load as load_data
from layerlab.core.export import export, standalone
from layerlab.core.export.source import import_generated
from layerlab.core.project import load_project
from layerlab.core.resources import template_path
from layerlab.core.specs import DataSpec
from layerlab.core.weights import load_weights


def _metrics(path):
    return list(csv.DictReader(open(path)))


def test_script_reproduces_the_layerlab_run_without_layerlab(tmp_path):
    from layerlab.core.train import Trainer

    project = load_project(template_path("mlp"))
    project.training.schedule = "cosine"           # a per-step schedule, and early stopping armed
    project.training.early_stopping = True
    script = export(project, None, "train-script", tmp_path / "train_spiral.py")[0]
    text = script.read_text()
    assert "import layerlab" not in text and "from layerlab" not in text and "from ." not in text
    out = subprocess.run(standalone.script_command(script, "--epochs", "2", "--out", str(tmp_path / "run")),
                         cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    project.training.epochs = 2
    want = Trainer(project, run_dir=tmp_path / "layerlab").fit()
    got_rows, want_rows = _metrics(tmp_path / "run" / "metrics.csv"), _metrics(tmp_path / "layerlab" / "metrics.csv")
    assert len(got_rows) == len(want_rows) == 2
    for g, w in zip(got_rows, want_rows):
        for key in ("val_loss", "val_accuracy", "val_f1", "lr"):
            assert abs(float(g[key]) - float(w[key])) < 1e-6, (key, g, w)
        assert abs(float(g["train_loss"]) - float(w["train_loss"])) < 1e-5
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["world_size"] == 1 and result["status"] == "finished"
    assert abs(result["test_metrics"]["test_loss"] - want.test_metrics["test_loss"]) < 1e-6
    # LayerLab's end-of-run fields (core.train.end_report, copied): calibration, per-class report by name
    for split in ("val", "test"):
        assert abs(result[f"{split}_ece"] - getattr(want, f"{split}_ece")) < 1e-6, split
        assert result["reliability"][split]["count"] == want.reliability[split]["count"]
        assert result["class_report"][split]["classes"] == want.class_report[split]["classes"] == ["arm 0", "arm 1", "arm 2"]
        assert result["class_report"][split]["support"] == want.class_report[split]["support"]
    # its weights are keyed by node id: LayerLab loads them
    c = compile_graph(project.graph)
    load_weights(c.module, c.node_of_module, tmp_path / "run" / "last.safetensors")
    pre = json.loads((tmp_path / "run" / "preprocessing.json").read_text())
    assert pre["kind"] == "standardize"


def test_script_trains_with_ddp_under_torchrun(tmp_path):
    project = load_project(template_path("mlp"))
    script = export(project, None, "train-script", tmp_path / "train_spiral.py")[0]
    python = standalone.launcher(tmp_path)               # workers start without LayerLab too
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "--no-python",
           str(python), str(script), "--epochs", "3", "--out", str(tmp_path / "run")]
    out = standalone.run_group(cmd, timeout=240, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-3000:])
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["world_size"] == 2 and result["status"] == "finished" and result["epochs_run"] == 3
    assert result["test_ece"] >= 0 and sum(result["reliability"]["test"]["count"]) == \
        sum(result["class_report"]["test"]["support"])
    rows = _metrics(tmp_path / "run" / "metrics.csv")
    assert len(rows) == 3 and float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert out.stdout.count("finished:") == 1           # rank 0 alone reports and writes


@pytest.mark.parametrize("spec", [
    {"dataset": "digits"},
    {"dataset": "iris", "preprocessing": "pca_whiten"},
    {"dataset": "diabetes", "preprocessing": "minmax"},
    {"dataset": "moons", "options": {"n_samples": 200, "noise": 0.3}, "seed": 3},
    {"dataset": "reverse", "options": {"n_samples": 300, "seq_len": 5}},
    {"dataset": "csv", "path": "table.csv", "target": "kind"},
    {"dataset": "npz", "path": "arrays.npz", "preprocessing": "center"},
], ids=lambda s: s["dataset"])
def test_script_data_equals_layerlab_data(spec, tmp_path):
    """The copied data code gives LayerLab's splits and preprocessing exactly."""
    rng = np.random.default_rng(0)
    (tmp_path / "table.csv").write_text("a,b,color,kind\n" + "\n".join(
        f"{rng.normal():.4f},{rng.integers(0, 9)},{['red', 'blue', 'green'][i % 3]},{['x', 'y'][i % 2]}"
        for i in range(60)) + "\n")
    np.savez(tmp_path / "arrays.npz", X=rng.normal(size=(80, 3, 4)).astype(np.float32), y=rng.integers(0, 3, 80))
    project = load_project(template_path("mlp"))
    project.data = DataSpec(**spec)
    script = export(project, None, "train-script", tmp_path / "train.py", base_dir=tmp_path)[0]
    gen = import_generated(script)
    got = gen._finish(SimpleNamespace(**gen.DATA), gen.load_raw(gen.DATA_PATHS))
    want = load_data(project.data, tmp_path)
    for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(got, key), getattr(want, key)), key
    assert got.preprocessor.to_dict() == want.preprocessor.to_dict()


def test_text_script_ships_its_corpus(tmp_path):
    paths = export(load_project(template_path("tiny_transformer")), None, "train-script", tmp_path / "t.py")
    assert [p.name for p in paths] == ["t.py", "corpus.txt"]
    gen = import_generated(paths[0])
    raw = gen.load_raw(gen.DATA_PATHS)
    assert raw.x.shape[1] == 32 and raw.x.dtype == np.int64


def test_script_takes_the_imbalance_flags(tmp_path, capsys):
    """`--class-weights` / `--sampler` as `layerlab train` takes them (imbalance.apply_flags, copied)."""
    import torch.nn.functional as F

    project = load_project(template_path("mlp"))
    project.data = DataSpec(dataset="moons")
    project.graph.by_name("logits").params["units"] = 2
    gen = import_generated(export(project, None, "train-script", tmp_path / "train.py")[0])
    threads = torch.get_num_threads()
    try:
        for flags, says in ((["--class-weights", "1,-2"], "above 0 (got -2)"),
                            (["--class-weights", "1,2,3"], "3 given but the data has 2 classes")):
            assert gen.main(["--out", str(tmp_path / "no"), *flags]) == 2
            assert says in capsys.readouterr().err
    finally:
        torch.set_num_threads(threads)
    assert not (tmp_path / "no").exists()
    spec = SimpleNamespace(**gen.TRAINING)
    gen.apply_flags(spec, "1,3", "balanced")
    dataset = gen._finish(SimpleNamespace(**gen.DATA), gen.load_raw(gen.DATA_PATHS))
    _, s = gen.build_setup(spec, dataset, torch.device("cpu"))
    out, y = torch.randn(6, 2), torch.tensor([0, 1, 1, 0, 1, 1])
    assert torch.allclose(s.loss_fn(out, y), F.cross_entropy(out, y, weight=torch.tensor([1.0, 3.0])))
    assert s.sample_cdf is not None


def test_script_applies_init_overrides_inside_blocks(tmp_path):
    """A layer inside a block instance with an init of its own ("instance/inner"): the script
    initializes it by its dotted path, so its run matches LayerLab's."""
    from layerlab.core import blocks
    from layerlab.core.train import Trainer

    project = load_project(template_path("mlp"))
    g = project.graph
    plan = blocks.plan_block(g, [g.by_name("fc1").id, g.by_name("relu1").id], "stem")
    blocks.apply_block(g, plan)
    inner = f"{plan.node.id}/{g.blocks['stem'].by_name('fc1').id}"
    project.training.init_overrides = {inner: "orthogonal"}
    project.training.epochs = 1
    script = export(project, None, "train-script", tmp_path / "train_block.py")[0]
    assert f"['{plan.node.name}.fc1', 'orthogonal'" in script.read_text()
    out = subprocess.run(standalone.script_command(script, "--epochs", "1", "--out", str(tmp_path / "run")),
                         cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    want = Trainer(project, run_dir=tmp_path / "layerlab").fit()
    assert want.status == "finished"
    got_rows, want_rows = _metrics(tmp_path / "run" / "metrics.csv"), _metrics(tmp_path / "layerlab" / "metrics.csv")
    for key in ("val_loss", "val_accuracy"):
        assert abs(float(got_rows[0][key]) - float(want_rows[0][key])) < 1e-6, (key, got_rows, want_rows)


def test_script_freezes_layers_and_scales_their_lr_as_layerlab_does(tmp_path):
    """training.frozen and training.lr_multipliers, also for a layer inside a block instance: the
    script's run ends with LayerLab's weights bit for bit, and the frozen layer never moves."""
    from safetensors.torch import load_file

    from layerlab.core import blocks
    from layerlab.core.train import Trainer

    project = load_project(template_path("mlp"))
    g = project.graph
    plan = blocks.plan_block(g, [g.by_name("fc2").id, g.by_name("relu2").id], "head")
    blocks.apply_block(g, plan)
    fc1, logits = g.by_name("fc1").id, g.by_name("logits").id
    inner = f"{plan.node.id}/{g.blocks['head'].by_name('fc2').id}"
    spec = project.training
    spec.epochs, spec.schedule = 3, "cosine"
    spec.frozen = [fc1]
    spec.lr_multipliers = {plan.node.id: 0.5, inner: 0.1, logits: 3.0}   # the inner factor wins inside
    script = export(project, None, "train-script", tmp_path / "train_frozen.py")[0]
    text = script.read_text()
    assert "FROZEN = ['fc1']" in text and f"['{plan.node.name}.fc2', 0.1]" in text
    out = subprocess.run(standalone.script_command(script, "--out", str(tmp_path / "script")),
                         cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    trainer = Trainer(project, run_dir=tmp_path / "layerlab")
    assert trainer.fit().status == "finished"
    want, got = load_file(tmp_path / "layerlab" / "last.safetensors"), load_file(tmp_path / "script" / "last.safetensors")
    assert want.keys() == got.keys()
    assert [k for k in want if not torch.equal(want[k], got[k])] == []
    from layerlab.core.train.setup import build
    init = build(project, load_data(project.data)).compiled.module.state_dict()
    assert torch.equal(want[f"{fc1}.weight"], init["fc1.weight"])          # frozen: still its init
    assert not torch.equal(want[f"{logits}.weight"], init["logits.weight"])


def test_script_starts_from_the_projects_start_weights(tmp_path):
    """training.start_weights (a run's weights, keyed by node id, relative to the project's folder)
    with a frozen first layer: the script loads them as LayerLab does and ends with its weights bit
    for bit; with the file gone it says so in one line (exit 2)."""
    from safetensors.torch import load_file

    from layerlab.core.train import Trainer

    first = load_project(template_path("mlp"))
    first.training.epochs = 2
    assert Trainer(first, run_dir=tmp_path / "first").fit().status == "finished"
    project = load_project(template_path("mlp"))
    fc1 = project.graph.by_name("fc1").id
    spec = project.training
    spec.epochs, spec.start_weights, spec.frozen = 3, "first/last.safetensors", [fc1]
    script = export(project, None, "train-script", tmp_path / "out" / "train_start.py", base_dir=tmp_path)[0]
    assert f"START_WEIGHTS = '{tmp_path / 'first' / 'last.safetensors'}'" in script.read_text()
    out = subprocess.run(standalone.script_command(script, "--out", str(tmp_path / "script")),
                         cwd=tmp_path / "out", capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert Trainer(project, base_dir=tmp_path, run_dir=tmp_path / "layerlab").fit().status == "finished"
    start = load_file(tmp_path / "first" / "last.safetensors")
    want, got = load_file(tmp_path / "layerlab" / "last.safetensors"), load_file(tmp_path / "script" / "last.safetensors")
    assert [k for k in want if not torch.equal(want[k], got[k])] == []
    assert torch.equal(got[f"{fc1}.weight"], start[f"{fc1}.weight"])      # frozen at the start weights

    (tmp_path / "first" / "last.safetensors").unlink()
    out = subprocess.run(standalone.script_command(script, "--out", str(tmp_path / "again")),
                         cwd=tmp_path / "out", capture_output=True, text=True, timeout=240)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert lines[0].startswith(f"start weights {tmp_path / 'first' / 'last.safetensors'} cannot be read")

    os.mkfifo(tmp_path / "first" / "last.safetensors")        # a FIFO there: refused, never opened (no hang)
    out = subprocess.run(standalone.script_command(script, "--out", str(tmp_path / "fifo")),
                         cwd=tmp_path / "out", capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "not a regular file" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("name", ["digits", "wine"])
def test_builtin_table_script_ships_its_table(tmp_path, name):
    """A built-in table travels beside the script (LayerLab reads it from resources/datasets, not
    from scikit-learn), and the script reads it from there, wherever it was moved to."""
    from layerlab.core.export.overwrite import planned_files

    project = load_project(template_path("mlp"))
    project.data = DataSpec(dataset=name)
    planned = planned_files(project, "train-script", tmp_path / "t.py")
    paths = export(project, None, "train-script", tmp_path / "t.py")
    assert [p.name for p in paths] == [p.name for p in planned] == ["t.py", f"{name}.csv.gz"]
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for p in paths:
        p.rename(moved / p.name)
    gen = import_generated(moved / "t.py")
    assert torch.equal(gen._finish(SimpleNamespace(**gen.DATA), gen.load_raw(gen.DATA_PATHS)).x_train,
                       load_data(project.data).x_train)


def test_script_validates_the_epochs_layerlab_validates(tmp_path):
    """Validation on a budget (core.train.epochs.validation_every, copied into the script): a run
    long enough for k > 1 leaves the same epochs' validation columns empty in both metrics.csv
    files, and the validated epochs agree."""
    import math

    from layerlab.core.train import Trainer
    from layerlab.core.train.epochs import validates

    project = load_project(template_path("mlp"))          # spiral: 7 small steps an epoch
    project.training.epochs = 24
    script = export(project, None, "train-script", tmp_path / "train_spiral.py")[0]
    out = subprocess.run(standalone.script_command(script, "--out", str(tmp_path / "run"), "--quiet"),
                         cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    Trainer(project, run_dir=tmp_path / "layerlab").fit()
    k = json.loads((tmp_path / "layerlab" / "config.json").read_text())["resolved"]["validation"]["every"]
    assert k > 1
    got_rows, want_rows = _metrics(tmp_path / "run" / "metrics.csv"), _metrics(tmp_path / "layerlab" / "metrics.csv")
    assert len(got_rows) == len(want_rows) == 24

    def validated(rows):
        return [int(r["epoch"]) for r in rows
                if all(math.isfinite(float(r[c] or "nan")) for c in ("val_loss", "val_accuracy", "val_f1"))]

    def skipped(rows):
        return [int(r["epoch"]) for r in rows
                if all(math.isnan(float(r[c] or "nan")) for c in ("val_loss", "val_accuracy", "val_f1"))]

    want = [e for e in range(1, 25) if validates(e, k, 24)]
    assert validated(got_rows) == validated(want_rows) == want and len(want) < 24
    assert skipped(got_rows) == skipped(want_rows) == [e for e in range(1, 25) if e not in want]
    for g, w in zip(got_rows, want_rows):
        if int(g["epoch"]) in want:
            assert abs(float(g["val_loss"]) - float(w["val_loss"])) < 1e-6, (g, w)
        assert abs(float(g["train_loss"]) - float(w["train_loss"])) < 1e-5
