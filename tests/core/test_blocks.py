"""Blocks: a ResNet-like net of one residual block used 3 times equals the same net built flat
(parameter count, outputs with the same weights); editing the block changes every instance; the
project file and block files round-trip; exported source gives each block its own class."""
import json
import subprocess

import pytest
import torch

from layerlab.core import blocks
from layerlab.core.analysis import analyze
from layerlab.core.compiler import compile_graph
from layerlab.core.export import export, standalone
from layerlab.core.export.prepared import save_weights_readable
from layerlab.core.graph import Graph
from layerlab.core.project import Project, load_project, save_project

RESIDUAL = [("conv_a", "Conv2d", {"filters": 8, "kernel_size": 3, "bias": False}), ("bn_a", "BatchNorm", {}),
            ("relu_a", "ReLU", {}), ("conv_b", "Conv2d", {"filters": 8, "kernel_size": 3, "bias": False}),
            ("bn_b", "BatchNorm", {})]


def _residual(g: Graph, src: str, suffix: str = "") -> tuple[list[str], str]:
    """Conv→BN→ReLU→Conv→BN, plus the skip from `src`, Add → ReLU; (node ids, last id)."""
    ids, prev = [], src
    for name, type_, params in RESIDUAL:
        n = g.add_node(type_, params, name=name + suffix)
        g.connect(prev, n.id)
        ids.append(n.id)
        prev = n.id
    add = g.add_node("Add", name="add" + suffix)
    g.connect(prev, add.id, 0)
    g.connect(src, add.id, 1)
    out = g.add_node("ReLU", name="relu" + suffix)
    g.connect(add.id, out.id)
    return ids + [add.id, out.id], out.id


def _ends(g: Graph) -> tuple[str, callable]:
    x = g.add_node("Input", {"shape": [3, 8, 8]}, name="x")
    stem = g.add_node("Conv2d", {"filters": 8, "kernel_size": 3}, name="stem")
    g.connect(x.id, stem.id)

    def finish(last: str) -> None:
        pool = g.add_node("GlobalAvgPool", name="pool")
        head = g.add_node("Dense", {"units": 10}, name="head")
        out = g.add_node("Output", name="y")
        g.connect(last, pool.id), g.connect(pool.id, head.id), g.connect(head.id, out.id)
    return stem.id, finish


def flat_net() -> Graph:
    g = Graph()
    last, finish = _ends(g)
    for i in (1, 2, 3):
        last = _residual(g, last, str(i))[1]
    finish(last)
    return g


def block_net() -> Graph:
    g = Graph()
    sub = Graph()
    port = sub.add_node("BlockInput", {"index": 0}, name="x")
    last = _residual(sub, port.id)[1]
    sub.connect(last, sub.add_node("BlockOutput", name="out").id)
    g.blocks["res"] = sub
    last, finish = _ends(g)
    for i in (1, 2, 3):
        b = g.add_node("Block", {"block": "res", "inputs": 1}, name=f"res{i}")
        g.connect(last, b.id)
        last = b.id
    finish(last)
    return g


def _flat_to_block(state: dict) -> dict:
    """Flat names (conv_a2.weight) -> block instance names (res2.conv_a.weight)."""
    out = {}
    for key, value in state.items():
        module, _, rest = key.partition(".")
        base = module.rstrip("123")
        out[f"res{module[-1]}.{base}.{rest}" if base != module and base not in ("stem",) else key] = value
    return out


def _randomized(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    for t in module.state_dict().values():
        if t.is_floating_point():
            t.copy_(torch.randn(t.shape, generator=g) * 0.3 + (1.0 if t.ndim == 1 else 0.0))
    return module


def test_three_instances_equal_the_flat_network():
    flat, blk = compile_graph(flat_net()), compile_graph(block_net())
    assert analyze(block_net()).total_params == analyze(flat_net()).total_params
    n_flat = sum(p.numel() for p in flat.module.parameters())
    assert sum(p.numel() for p in blk.module.parameters()) == n_flat == analyze(flat_net()).total_params
    _randomized(flat.module)
    blk.module.load_state_dict(_flat_to_block(flat.module.state_dict()))
    x = torch.randn(5, 3, 8, 8)
    for mode in ("train", "eval"):
        getattr(flat.module, mode)(), getattr(blk.module, mode)()
        assert torch.allclose(flat.module(x), blk.module(x), atol=1e-5)
    # own weights per instance, one structure
    assert blk.module.res1.conv_a.weight.data_ptr() != blk.module.res2.conv_a.weight.data_ptr()
    assert type(blk.module.res1).__name__ == "res"


def test_editing_the_block_changes_every_instance():
    g = block_net()
    conv_b = g.blocks["res"].by_name("conv_b")
    g.blocks["res"].set_param(conv_b.id, "kernel_size", 5)
    c = compile_graph(g)
    for i in (1, 2, 3):
        layer = getattr(c.module, f"res{i}").conv_b
        assert layer.kernel_size == (5, 5) and layer.padding == (2, 2)
    assert c.output_type.shape == (10,)


def test_errors_inside_a_block_name_the_instance_and_the_inner_layer():
    g = block_net()
    sub = g.blocks["res"]
    sub.set_param(sub.by_name("conv_b").id, "filters", 4)      # the skip Add now sees 4 vs 8 channels
    problems = analyze(g).errors
    assert problems and problems[0].node_id == g.by_name("res1").id
    assert "Block 'res1' (block res)" in problems[0].message and "Add 'add'" in problems[0].message
    stray = g.add_node("Block", {"block": "nope"}, name="stray")
    g.connect(g.by_name("stem").id, stray.id)
    assert any("does not define" in p.message for p in analyze(g).problems)


def test_make_block_from_a_selection_keeps_the_network():
    g = flat_net()
    before = compile_graph(g)
    _randomized(before.module)
    ids, _ = _residual_ids(g, "1")
    plan = blocks.plan_block(g, ids, "res")
    node = blocks.apply_block(g, plan)
    after = compile_graph(g)
    assert analyze(g).total_params == before.analysis.total_params
    state = {}
    for key, value in before.module.state_dict().items():
        module, _, rest = key.partition(".")
        inside = module in {n for n, _, _ in RESIDUAL} or module[:-1] in {n for n, _, _ in RESIDUAL}
        # the block keeps the selected layers' names: conv_a1 -> res1.conv_a1
        state[f"{node.name}.{module}.{rest}" if inside and module.endswith("1") else key] = value
    after.module.load_state_dict(state)
    before.module.eval(), after.module.eval()
    x = torch.randn(3, 3, 8, 8)
    assert torch.allclose(before.module(x), after.module(x), atol=1e-5)
    with pytest.raises(blocks.BlockError, match="exactly one layer"):
        blocks.plan_block(g, [g.by_name("conv_a2").id, g.by_name("conv_b3").id], "bad")


def _residual_ids(g: Graph, suffix: str):
    names = [n for n, _, _ in RESIDUAL] + ["add", "relu"]
    return [g.by_name(n + suffix).id for n in names], None


def test_project_and_block_files_round_trip(tmp_path):
    g = block_net()
    project = Project(graph=g, name="resnet")
    save_project(project, tmp_path / "p.layerlab.json")
    back = load_project(tmp_path / "p.layerlab.json")
    assert back.to_dict() == project.to_dict() and back.graph.blocks["res"].to_dict() == g.blocks["res"].to_dict()
    save_project(back, tmp_path / "q.layerlab.json")
    assert (tmp_path / "p.layerlab.json").read_bytes() == (tmp_path / "q.layerlab.json").read_bytes()
    blocks.save_block("res", g.blocks["res"], tmp_path / "res.layerlab-block.json")
    name, sub = blocks.load_block(tmp_path / "res.layerlab-block.json")
    assert name == "res" and sub.to_dict() == g.blocks["res"].to_dict()
    other = Graph()
    other.blocks["res"] = Graph()
    assert blocks.import_block(other, name, sub) == "res_2"


@pytest.mark.parametrize("text, expected", [
    ('{"format": "layerlab.project"}', "not a LayerLab block"),
    ('{"format": "layerlab.block", "version": 9}', "version 9"),
    ('{"format": "layerlab.block", "version": 1, "name": "a b", "graph": {"nodes": []}}', "not a valid block name"),
    ('{"format": "layerlab.block", "version": 1, "name": "b", "graph": {"nodes": [{"id": "n1", "type": "Nope"}]}}',
     "unknown layer type"),
    ('{"format": "layerlab.block", "version": 1, "name": "b", "graph": {"nodes": []}}', "one BlockOutput"),
    ('[' * 40 + ']' * 40, "not a LayerLab block"),
    ('{"x": 1' + '\n', "invalid JSON"),
])
def test_hostile_block_files_are_refused_in_one_line(tmp_path, text, expected):
    path = tmp_path / "b.layerlab-block.json"
    path.write_text(text)
    with pytest.raises(blocks.BlockError) as e:
        blocks.load_block(path)
    assert expected in str(e.value) and "\n" not in str(e.value) and str(path) in str(e.value)


def test_block_files_must_be_small_regular_files(tmp_path):
    with pytest.raises(blocks.BlockError, match="folder"):
        blocks.load_block(tmp_path)
    with pytest.raises(blocks.BlockError, match="regular file"):
        blocks.load_block("/dev/zero")
    big = tmp_path / "big.layerlab-block.json"
    big.write_bytes(b" " * (blocks.MAX_FILE_BYTES + 1))
    with pytest.raises(blocks.BlockError, match="far larger"):
        blocks.load_block(big)


def test_source_export_writes_one_class_per_block_and_runs_without_layerlab(tmp_path):
    g = block_net()
    project = Project(graph=g, name="res net")
    project.data.preprocessing = "none"
    c = compile_graph(g)
    _randomized(c.module, seed=3)
    c.module.eval()
    save_weights_readable(c.module, c.node_of_module, tmp_path / "w.safetensors")
    done = export(project, tmp_path / "w.safetensors", "source", tmp_path / "pkg" / "resnet.py")
    assert done.info["max_abs_diff"] <= 1e-5
    text = done[0].read_text()
    assert text.count("class Res(nn.Module)") == 1 and text.count("Res()") == 3
    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        want = c.module(x)
    from safetensors.torch import save_file
    save_file({"x": x, "want": want}, str(tmp_path / "io.safetensors"))
    code = f"""
import json, torch
from safetensors.torch import load_file
io = load_file({str(tmp_path / 'io.safetensors')!r})
sys.path.insert(0, {str(tmp_path / 'pkg')!r})
import resnet
model = resnet.load()
d = float((resnet.predict(model, io['x']) - io['want']).abs().max())
print(json.dumps(dict(d=d, layerlab=[m for m in sys.modules if m.startswith(('layerlab', 'core'))])))
"""
    out = subprocess.run(standalone.command(code), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["layerlab"] == [] and got["d"] <= 1e-5, got


# ---------------------------------------------------------------- blocks inside blocks
def nested_net() -> Graph:
    """block_net with res2 replaced by an instance of `stage`: a block of two `res` instances."""
    g = block_net()
    stage = Graph()
    prev = stage.add_node("BlockInput", {"index": 0}, name="x").id
    for name in ("first", "second", "out"):
        n = stage.add_node("BlockOutput" if name == "out" else "Block", {} if name == "out" else {"block": "res"},
                           name=name)
        stage.connect(prev, n.id)
        prev = n.id
    g.blocks["stage"] = stage
    old = g.by_name("res2")
    src, dst = g.inputs_of(old.id)[0].src, g.outputs_of(old.id)[0].dst
    g.remove_node(old.id)
    new = g.add_node("Block", {"block": "stage"}, name="stage1")
    g.connect(src, new.id), g.connect(new.id, dst)
    return g


def test_a_block_of_blocks_computes_like_its_layers_and_exports_one_class_each(tmp_path):
    g, base = nested_net(), analyze(block_net())
    a = analyze(g)
    res = base.param_counts[block_net().by_name("res1").id]
    assert a.ok and a.total_params == base.total_params + res                 # four residuals, not three
    c = compile_graph(g)
    inner = c.module.stage1.second
    assert type(c.module.stage1).__name__ == "stage" and type(inner).__name__ == "res"
    assert inner.conv_a.weight.data_ptr() != c.module.res1.conv_a.weight.data_ptr()
    _randomized(c.module, seed=4)
    for m in c.module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_var.abs_().add_(0.1)
    c.module.eval()
    x = torch.randn(3, 3, 8, 8)
    with torch.no_grad():
        h = c.module.stem(x)
        want = c.module.head(c.module.pool(c.module.res3(inner(c.module.stage1.first(c.module.res1(h))))))
        assert torch.allclose(c.module(x), want, atol=1e-6)
    from layerlab.core.compiler import walk_layers
    refs = {r.path: r.qid for r in walk_layers(c, g)}
    stage1, second = g.by_name("stage1").id, g.blocks["stage"].by_name("second").id
    assert refs["stage1.second.conv_b"] == f"{stage1}/{second}/{g.blocks['res'].by_name('conv_b').id}"
    assert set(refs.values()) == set(blocks.qualified_layers(g)) - {q for q, n in blocks.qualified_layers(g).items()
                                                                    if n.spec.merge is not None}
    project = Project(graph=g, name="nested")
    project.data.preprocessing = "none"
    save_weights_readable(c.module, c.node_of_module, tmp_path / "w.safetensors")
    done = export(project, tmp_path / "w.safetensors", "source", tmp_path / "nested.py")
    assert done.info["max_abs_diff"] <= 1e-5
    text = done[0].read_text()
    assert text.count("class Res(nn.Module)") == 1 and text.count("class Stage(nn.Module)") == 1
    assert text.index("class Res(") < text.index("class Stage(") and text.count("Res()") == 4


def test_a_block_that_uses_itself_is_refused_and_selections_with_blocks_become_blocks():
    g = nested_net()
    stage = g.blocks["stage"]
    second = stage.by_name("second")
    stage.set_param(second.id, "block", "stage")                             # stage → stage
    errors = analyze(g).errors
    assert errors and "uses the block 'stage' inside itself (stage → stage)" in errors[0].message
    stage.set_param(second.id, "block", "res")
    g.blocks["res"].set_param(g.blocks["res"].by_name("conv_a").id, "filters", 8)
    plan = blocks.plan_block(g, [g.by_name(n).id for n in ("res1", "stage1")], "trunk")   # blocks into a block
    blocks.apply_block(g, plan)
    a = analyze(g)
    assert a.ok and a.total_params == analyze(nested_net()).total_params
    trunk = compile_graph(g).module.get_submodule(plan.node.name)
    assert trunk.stage1.first.conv_a.weight.shape == (8, 8, 3, 3)


def test_a_block_file_carries_the_blocks_inside_it(tmp_path):
    g = nested_net()
    path = tmp_path / "stage.layerlab-block.json"
    blocks.save_block("stage", g.blocks["stage"], path, g.blocks)
    assert sorted(json.loads(path.read_text())["blocks"]) == ["res"]
    name, sub, carried = blocks.read_block(path)
    other = Graph()
    other.blocks["res"] = Graph()                                            # a different block named res
    assert blocks.import_block(other, name, sub, carried) == "stage"
    assert sorted(other.blocks) == ["res", "res_2", "stage"]
    assert {n.params.get("block") for n in other.blocks["stage"].nodes.values()} == {None, "res_2"}
    same = Graph()
    same.blocks["res"] = g.blocks["res"].copy()                              # the same res: reused
    blocks.import_block(same, name, sub, carried)
    assert sorted(same.blocks) == ["res", "stage"]
    doc = json.loads(path.read_text())
    del doc["blocks"]
    path.write_text(json.dumps(doc))
    with pytest.raises(blocks.BlockError, match="'res', which the file does not carry"):
        blocks.read_block(path)


# ---------------------------------------------------------------- training inside blocks
def _digits_block_project():
    """The digits template's data and training with a graph of two residual block instances."""
    from layerlab.core.resources import template_path

    project = load_project(template_path("digits_cnn"))
    g = block_net()
    g.set_param(g.by_name("x").id, "shape", [1, 8, 8])
    project.graph = g
    return project, g.by_name("res1").id, g.by_name("res2").id, g.blocks["res"]


def _train(project, tmp_path, **training):
    import dataclasses

    from layerlab.core.train import Trainer
    from layerlab.core.weights import read_weights

    compiled = compile_graph(project.graph)
    torch.manual_seed(0)
    with torch.no_grad():
        compiled.module.train()(torch.randn(32, 1, 8, 8))                  # BatchNorm statistics move
    save_weights_readable(compiled.module, compiled.node_of_module, tmp_path / "start.safetensors")
    project.training = dataclasses.replace(project.training, epochs=1, batch_size=128, seed=3,
                                           start_weights="start.safetensors", **training)
    events = []
    result = Trainer(project, base_dir=tmp_path, run_dir=tmp_path / "out").fit(events.append)
    assert result.status == "finished", result.message
    return read_weights(tmp_path / "start.safetensors")[0], read_weights(tmp_path / "out" / "last.safetensors")[0], events


def test_a_frozen_block_instance_keeps_every_inner_weight_and_its_batchnorm_statistics(tmp_path):
    project, res1, res2, _ = _digits_block_project()
    before, after, events = _train(project, tmp_path, frozen=[res1], probe_every=1)
    inside = [k for k in before if k.startswith(res1 + ".")]
    assert any(".conv_a.weight" in k for k in inside) and any("bn_b.running_mean" in k for k in inside)
    for k in inside:
        assert torch.equal(before[k], after[k]), k
    others = [k for k in before if k.startswith(res2 + ".") and "num_batches" not in k]
    assert others and all(not torch.equal(before[k], after[k]) for k in others)
    snaps = [e for e in events if type(e).__name__ == "ProbeSnapshot"]
    assert snaps
    rows = {s.name: s for s in snaps[-1].layers}
    assert {"res1.conv_a", "res1.bn_a", "res1.relu_a", "res2.conv_b", "res2.relu"} <= set(rows)
    assert "res1" not in rows and rows["res2.conv_b"].type == "Conv2d"
    norms = [e for e in events if type(e).__name__ == "EpochEnd"][-1].grad_norms
    assert norms["res2.conv_a"] > 0 and "res1.conv_a" not in norms                  # frozen: no gradient
    assert rows["res2.conv_a"].grad_norm == norms["res2.conv_a"]


def test_one_inner_layer_is_addressed_by_a_qualified_id(tmp_path):
    """'res2-id/conv_b-id' freezes that one convolution of that one instance; its LR factor and
    init override reach only it."""
    from layerlab.core.specs import TrainSpec
    from layerlab.core.train import freeze
    from layerlab.core.train.init import initialize

    project, res1, res2, sub = _digits_block_project()
    conv_a, conv_b = sub.by_name("conv_a").id, sub.by_name("conv_b").id
    before, after, _ = _train(project, tmp_path, frozen=[f"{res2}/{conv_b}"], probe_every=0)
    assert torch.equal(before[f"{res2}.conv_b.weight"], after[f"{res2}.conv_b.weight"])
    for k in (f"{res2}.conv_a.weight", f"{res1}.conv_b.weight"):
        assert not torch.equal(before[k], after[k]), k
    assert freeze.problems(project, tmp_path) == []
    compiled = compile_graph(project.graph)
    spec = TrainSpec(frozen=[f"{res1}/{conv_a}", "n999/n1"], lr_multipliers={res1: 0.5, f"{res1}/{conv_b}": 0.1},
                     init_overrides={f"{res1}/{conv_a}": "zeros"})
    used = initialize(compiled, project.graph, spec)
    assert used[f"{res1}/{conv_a}"] == "zeros" and not compiled.module.res1.conv_a.weight.any()
    assert compiled.module.res2.conv_a.weight.any()
    assert freeze.apply_freeze(compiled, spec) == ["res1.conv_a"]
    opt = torch.optim.SGD([p for p in compiled.module.parameters() if p.requires_grad], lr=1.0)
    freeze.apply_lr_multipliers(opt, compiled, spec)
    lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    assert lr_of[id(compiled.module.res1.conv_b.weight)] == 0.1
    assert lr_of[id(compiled.module.res1.bn_a.weight)] == 0.5
    assert lr_of[id(compiled.module.res2.conv_b.weight)] == 1.0
    project.training = spec
    assert [p.message for p in freeze.problems(project)] == [
        "training settings name layer 'n999/n1', which the network no longer has"]
    everything = [n.id for n in project.graph.nodes.values() if n.spec.count is not None or n.spec.block]
    project.training = TrainSpec(frozen=everything)
    assert any("every layer with weights is frozen" in p.message for p in freeze.problems(project))
