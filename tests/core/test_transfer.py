"""Transfer learning: a digits CNN's weights match a copy with a new 5-class head layer by layer
(every convolution matched, the head reported unmatched with the shapes), frozen layers come out of
training bit-identical (BatchNorm statistics too) while the trainable head learns, per-layer LR
factors reach the optimizer, and freezing everything is refused before training."""
import dataclasses

import pytest
import torch

from layerlab.core.compiler import compile_graph
from layerlab.core.export.prepared import save_weights_readable
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path
from layerlab.core.train import Trainer
from layerlab.core.train.events import Failed
from layerlab.core.train.setup import build
from layerlab.core.transfer import TransferError, match_weights, save_start_weights
from layerlab.core.weights import read_weights


def _digits_run(tmp_path):
    """A run-like folder: the digits CNN's project and weights with moved BatchNorm statistics."""
    project = load_project(template_path("digits_cnn"))
    compiled = compile_graph(project.graph)
    torch.manual_seed(1)
    with torch.no_grad():
        compiled.module.train()(torch.randn(32, 1, 8, 8) * 2 + 1)     # running stats move
    run = tmp_path / "run"
    run.mkdir()
    save_project(project, run / "project.layerlab.json")
    save_weights_readable(compiled.module, compiled.node_of_module, run / "best.safetensors")
    return project, run


def _five_class_copy(project):
    copy = load_project(template_path("digits_cnn"))
    head = copy.graph.by_name("logits")
    copy.graph.set_param(head.id, "units", 5)
    return copy


def test_digits_weights_into_a_five_class_copy_match_every_conv_not_the_head(tmp_path):
    project, run = _digits_run(tmp_path)
    match = match_weights(_five_class_copy(project), run)
    layers = match.layers()
    convs = [n.name for n in project.graph.nodes.values() if n.type == "Conv2d"]
    assert convs and all(layers[c] == "matched" for c in convs)
    assert all(layers[n.name] == "matched" for n in project.graph.nodes.values() if n.type == "BatchNorm")
    assert layers["logits"] == "unmatched"
    why = {r.tensor: r.why for r in match.rows if r.layer == "logits"}
    assert why["weight"] == "shape [5, 256] here, [10, 256] in the source"
    assert why["bias"] == "shape [5] here, [10] in the source"
    assert match.summary().startswith(f"{len(layers) - 1} of {len(layers)} layers matched")
    # the same file on its own (no project beside it) is keyed by node id, which also match here
    alone = tmp_path / "alone.safetensors"
    alone.write_bytes((run / "best.safetensors").read_bytes())
    assert match_weights(_five_class_copy(project), alone).layers()["conv1"] == "matched"
    with pytest.raises(TransferError, match="no best.safetensors"):
        match_weights(project, tmp_path)


def _weighted(project):
    return [n for n in project.graph.nodes.values() if n.spec.count is not None]


def test_frozen_layers_stay_bit_identical_while_the_head_trains(tmp_path):
    project, run = _digits_run(tmp_path)
    target = load_project(template_path("digits_cnn"))
    start = save_start_weights(match_weights(target, run), tmp_path / "start.safetensors")
    head = target.graph.by_name("logits").id
    target.training = dataclasses.replace(target.training, epochs=1, batch_size=128, probe_every=0,
                                          start_weights="start.safetensors", seed=3,
                                          frozen=[n.id for n in _weighted(target) if n.id != head])
    events = []
    result = Trainer(target, base_dir=tmp_path, run_dir=tmp_path / "out").fit(events.append)
    assert result.status == "finished", result.message
    before, _ = read_weights(start)
    after, _ = read_weights(tmp_path / "out" / "last.safetensors")
    frozen_keys = [k for k in before if not k.startswith(head + ".")]
    assert frozen_keys and any("running_mean" in k for k in frozen_keys)
    for k in frozen_keys:
        assert torch.equal(before[k], after[k]), k
    assert not torch.equal(after[f"{head}.weight"], before[f"{head}.weight"])     # the head learned
    assert events and not any(isinstance(e, Failed) for e in events)


def test_lr_multipliers_split_the_optimizer_groups(tmp_path):
    project = load_project(template_path("mlp"))
    fc1 = project.graph.by_name("fc1").id
    project.training = dataclasses.replace(project.training, lr=0.01, lr_multipliers={fc1: 0.1})
    from layerlab.core.data import load
    s = build(project, load(project.data))
    lrs = sorted({round(g["lr"], 6) for g in s.optimizer.param_groups})
    assert lrs == [0.001, 0.01]
    fc1_params = {id(p) for p in s.compiled.module.fc1.parameters()}
    for g in s.optimizer.param_groups:
        ids = {id(p) for p in g["params"]}
        assert (ids <= fc1_params) == (round(g["lr"], 6) == 0.001) or not ids & fc1_params


def test_everything_frozen_is_refused_before_training(tmp_path):
    project = load_project(template_path("mlp"))
    project.training = dataclasses.replace(project.training, frozen=[n.id for n in _weighted(project)])
    events = []
    result = Trainer(project, run_dir=tmp_path / "r").fit(events.append)
    assert result.status == "failed" and "every layer with weights is frozen" in result.message
    assert isinstance(events[-1], Failed)


def test_start_weights_that_do_not_load_are_refused_in_one_line(tmp_path):
    """A start-weights file that exists but is no safetensors file (a header declaring 40 TB) is a
    Failed event with the cause and the fix, and one line with exit 2 on the command line; it
    raised WeightsError out of Trainer.fit before."""
    import json
    import struct
    import subprocess
    import sys

    header = json.dumps({"n2.weight": {"dtype": "F32", "shape": [100000, 100000, 1000],
                                       "data_offsets": [0, 40_000_000_000_000]}}).encode()
    (tmp_path / "crafted.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(16))
    project = load_project(template_path("mlp"))
    project.training = dataclasses.replace(project.training, start_weights="crafted.safetensors", epochs=1)
    events = []
    result = Trainer(project, base_dir=tmp_path, run_dir=tmp_path / "r").fit(events.append)
    assert result.status == "failed" and result.message.startswith("the start weights cannot be loaded: ")
    assert "not a valid safetensors file" in result.message and "Load weights from" in result.fix
    assert isinstance(events[-1], Failed)
    path = tmp_path / "p.layerlab.json"
    save_project(project, path)
    out = subprocess.run([sys.executable, "-m", "layerlab.core.cli", "train", str(path), "--out", str(tmp_path / "c")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
