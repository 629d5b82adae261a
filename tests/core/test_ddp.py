"""Data-parallel training: `layerlab train --nproc N` (core.distributed) on CPU with gloo.

One real 2-process run (torch.distributed.run is slow to start); the sharding, the metric
reductions and the epoch loop are checked in-process against the single-process trainer."""
import csv
import json
import math

import pytest
import torch

from layerlab.core import distributed
import layerlab.core.distributed.shard  # noqa: F401 - patched below
from layerlab.core.compiler import compile_graph
from layerlab.core.data import load as load_data
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path
from layerlab.core.train.metrics import evaluate
from layerlab.core.weights import by_node_id, load_weights, read_weights


def test_two_processes_train_and_end_with_identical_weights(tmp_path, capfd):
    project = load_project(template_path("mlp"))       # spiral, 2×16 ReLU, Adam
    project.training.epochs = 4
    path = tmp_path / "spiral.layerlab.json"
    save_project(project, path)
    run, dump = tmp_path / "run", tmp_path / "dump"
    code = distributed.launch(path, 2, ["--out", str(run), "--dump-weights", str(dump), "--json"], timeout=240)
    out = capfd.readouterr().out
    assert code == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "finished" and result["epochs_run"] == 4
    assert abs(result["expected_loss_at_init"] - math.log(3)) < 1e-9 and result["loss_at_init"] > 0
    assert json.loads((run / "diagnostics.json").read_text())[0]["code"] == "loss_at_init"
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4]
    train = [float(r["train_loss"]) for r in rows]
    val = [float(r["val_loss"]) for r in rows]
    assert train[-1] < train[0] * 0.8 and val[-1] < val[0]
    # replicas agree bit for bit (DDP averages gradients; buffers broadcast from rank 0)
    w0, _ = read_weights(dump / "rank0.safetensors")
    w1, _ = read_weights(dump / "rank1.safetensors")
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    # rank 0 alone wrote one run folder that LayerLab reads back
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump", "run", "spiral.layerlab.json"]
    config = json.loads((run / "config.json").read_text())
    assert config["distributed"]["world_size"] == 2 and config["distributed"]["backend"] == "gloo"
    assert config["distributed"]["global_batch"] == 64
    c = compile_graph(project.graph)
    load_weights(c.module, c.node_of_module, run / "last.safetensors")
    saved = by_node_id(c.module.state_dict(), c.node_of_module)
    assert all(torch.equal(saved[k], v) for k, v in w0.items())
    for name in ("best.safetensors", "preprocessing.json", "project.layerlab.json", "result.json"):
        assert (run / name).is_file()


def test_each_epoch_shards_one_shared_permutation():
    n, world = 11, 3
    shards = [distributed.shard_indices(n, r, world, torch.Generator().manual_seed(5)) for r in range(world)]
    assert len({len(s) for s in shards}) == 1 and len(shards[0]) == math.ceil(n / world)   # equal step counts
    assert set(torch.cat(shards).tolist()) == set(range(n))                               # every sample seen
    again = distributed.shard_indices(n, 0, world, torch.Generator().manual_seed(5))
    assert torch.equal(again, shards[0])                                                  # same on every rank


def test_sharded_evaluation_sums_to_the_trainers_metrics(monkeypatch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 5))
    x, y = torch.randn(37, 4), torch.randint(0, 5, (37,))
    loss = torch.nn.functional.cross_entropy
    want = evaluate(model, loss, x, y, "classification", 5, lambda o: o.argmax(-1))
    parts = []
    monkeypatch.setattr(distributed.shard, "all_reduce_sum", lambda v, d: parts.append(torch.as_tensor(v)) or v.tolist())
    for rank in range(3):
        distributed.evaluate_sharded(model, loss, x, y, "classification", 5, lambda o: o.argmax(-1), None, rank, 3)
    total = sum(parts)
    monkeypatch.setattr(distributed.shard, "all_reduce_sum", lambda v, d: total.tolist())
    got = distributed.evaluate_sharded(model, loss, x, y, "classification", 5, lambda o: o.argmax(-1), None, 0, 3)
    assert got.keys() == want.keys() and all(abs(got[k] - want[k]) < 1e-6 for k in want), (got, want)
    # regression: MAE and R² from all-reduced sums
    yr = torch.randn(37, 5)
    want = evaluate(model, torch.nn.functional.mse_loss, x, yr, "regression", 0)
    parts.clear()
    monkeypatch.setattr(distributed.shard, "all_reduce_sum", lambda v, d: parts.append(torch.as_tensor(v)) or v.tolist())
    for rank in range(2):
        distributed.evaluate_sharded(model, torch.nn.functional.mse_loss, x, yr, "regression", 0, None, None, rank, 2)
    total = sum(parts)
    monkeypatch.setattr(distributed.shard, "all_reduce_sum", lambda v, d: total.tolist())
    got = distributed.evaluate_sharded(model, torch.nn.functional.mse_loss, x, yr, "regression", 0, None, None, 0, 2)
    assert all(abs(got[k] - want[k]) < 1e-6 for k in want), (got, want)


def test_one_process_loop_reproduces_the_trainer(tmp_path):
    """`fit` with world 1 takes the trainer's batches in the trainer's order: same metrics."""
    from layerlab.core.train import Trainer
    from layerlab.core.train.setup import build

    project = load_project(template_path("mlp"))
    project.training.epochs = 3
    project.training.schedule = "step"
    project.training.step_size = 1
    project.training.early_stopping = True
    ds = load_data(project.data)
    want = Trainer(project, ds, run_dir=tmp_path / "trainer").fit()
    s = build(project, ds)
    from layerlab.core.distributed.fit import fit
    got = fit(s.compiled.module, s, project.training, ds.task, ds.num_classes)
    assert got["status"] == "finished" and got["epochs_run"] == want.epochs_run
    for k, v in want.val_metrics.items():
        assert abs(got["val_metrics"][k] - v) < 1e-6, k
    for k, v in want.test_metrics.items():
        assert abs(got["test_metrics"][k] - v) < 1e-6, k


def test_train_command_hands_nproc_to_the_launcher(tmp_path, monkeypatch):
    from layerlab.core.cli import main

    seen = {}

    def fake_launch(project, n, args):
        seen.update(project=project, n=n, argv=distributed.worker_args(args))
        return 0
    monkeypatch.setattr(distributed, "launch", fake_launch)
    assert main(["train", str(template_path("mlp")), "--nproc", "3", "--epochs", "2", "--seed", "4",
                 "--out", str(tmp_path / "r")]) == 0
    assert seen["n"] == 3 and seen["argv"][:6] == ["--epochs", "2", "--seed", "4", "--out", str(tmp_path / "r")]
    cmd = distributed.launch_command("p.layerlab.json", 3, ["--epochs", "2"])
    assert cmd[1:] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "3", "-m",
                       "layerlab.core.distributed", "p.layerlab.json", "--epochs", "2"]
    with pytest.raises(ValueError):
        distributed.launch_command("p", 0)


def _with_dropout(project):
    """The spiral MLP with a Dropout after the second ReLU: each rank's dropout masks come from its
    own torch generator, so a resume that lost any rank's generator state would differ."""
    g = project.graph
    edge = next(e for e in g.edges if e.src == "n5" and e.dst == "n6")
    g.disconnect(edge)
    drop = g.add_node("Dropout", {"p": 0.2})
    g.connect("n5", drop.id)
    g.connect(drop.id, "n6")
    return project


def test_two_process_run_resumes_exactly(tmp_path, capfd):
    """4 epochs straight vs 2 epochs then `--resume` to 4, both with 2 processes: the same weights
    and the same validation losses bit for bit (shared permutation, per-rank dropout and batch-order
    generators, optimizer and schedule all restored). A resume with another process count is
    refused in one line."""
    project = _with_dropout(load_project(template_path("mlp")))
    project.training.epochs = 4
    project.training.schedule, project.training.step_size = "step", 1   # a schedule that does not depend on the epoch count
    path = tmp_path / "spiral.layerlab.json"
    save_project(project, path)
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert distributed.launch(path, 2, ["--out", str(straight), "--quiet"], timeout=240) == 0
    assert distributed.launch(path, 2, ["--out", str(split), "--epochs", "2", "--quiet"], timeout=240) == 0
    state, _ = read_weights(split / "last.state.safetensors", weights_only=False)
    assert {"rng.shuffle", "rng.torch.0", "rng.torch.1", "rng.local.0", "rng.local.1"} <= state.keys()
    assert not torch.equal(state["rng.torch.0"], state["rng.torch.1"])
    capfd.readouterr()
    assert distributed.launch(path, 2, ["--resume", str(split), "--quiet"], timeout=240) == 0
    a, _ = read_weights(straight / "last.safetensors")
    b, _ = read_weights(split / "last.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    rows = [list(csv.DictReader(open(run / "metrics.csv"))) for run in (straight, split)]
    assert [r["epoch"] for r in rows[1]] == ["1", "2", "3", "4"]
    assert [r["val_loss"] for r in rows[0]] == [r["val_loss"] for r in rows[1]]
    config = json.loads((split / "config.json").read_text())
    assert config["resumed_from"] == str(split) and config["start_epoch"] == 3
    # one process cannot continue a 2-process run: exit 2 and one line that says how
    from layerlab.core.cli import main
    capfd.readouterr()
    assert main(["train", str(path), "--resume", str(split), "--epochs", "6"]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2 process(es)" in err[0] and "--nproc 2" in err[0], err


def test_start_weights_resolve_beside_the_project_not_the_working_directory(tmp_path, capfd, monkeypatch):
    """A relative training.start_weights names a file in the project's folder, for the DDP worker as
    for the trainer: the frozen layers end the run holding exactly those weights. A missing file is
    refused before training in one line."""
    from layerlab.core.weights import save_weights

    monkeypatch.chdir(tmp_path.parent)              # the workers inherit a cwd that is not the project's
    project = load_project(template_path("mlp"))
    head = project.graph.by_name("logits").id
    weighted = [n.id for n in project.graph.nodes.values() if n.spec.count is not None and n.id != head]
    torch.manual_seed(11)
    start = compile_graph(project.graph)
    save_weights(start.module, start.node_of_module, tmp_path / "start.safetensors")
    project.training.epochs, project.training.seed = 1, 5
    project.training.start_weights, project.training.frozen = "start.safetensors", weighted
    path = tmp_path / "spiral.layerlab.json"
    save_project(project, path)
    run = tmp_path / "run"
    code = distributed.launch(path, 1, ["--out", str(run), "--quiet"], timeout=240)
    assert code == 0, capfd.readouterr().err
    before, _ = read_weights(tmp_path / "start.safetensors")
    after, _ = read_weights(run / "last.safetensors")
    frozen = [k for k in before if not k.startswith(head + ".")]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    assert not torch.equal(before[f"{head}.weight"], after[f"{head}.weight"])

    project.training.start_weights = "gone.safetensors"
    save_project(project, path)
    capfd.readouterr()
    code = distributed.launch(path, 1, ["--out", str(tmp_path / "run2"), "--quiet"], timeout=240)
    err = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
    assert code == 2
    assert any("'gone.safetensors' does not exist" in ln for ln in err), err
    assert not any("Traceback" in ln for ln in err), err
    assert not (tmp_path / "run2").exists()
