"""ONNX import: templates exported to ONNX come back as editable graphs computing the same outputs,
ResNet-18's architecture (built by hand: torchvision from PyPI does not work with this torch) keeps
its skip connections, a run's preprocessing comes back as preprocessing.json, unmappable operators
are named with their node, and nothing is half-written or overwritten without --force."""
import json

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from layerlab.core.cli import main
from layerlab.core.compiler import compile_graph
from layerlab.core.export import export, load_native
from layerlab.core.export.prepared import save_weights_readable
from layerlab.core.export.preprocessing import deployable
from layerlab.core.importers import OnnxImportError, import_onnx, write_imported
from layerlab.core.project import load_project
from layerlab.core.resources import template_path

from .resnet18 import ResNet18, randomized

TEMPLATES = ("mlp", "deep_mlp", "digits_cnn", "resnet_block", "tiny_transformer")


def _random_state(compiled, seed=0):
    """Weights and BatchNorm statistics away from their initial values (nothing folds to identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in compiled.module.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.5 if name.endswith("running_var")
                        else torch.randn(t.shape, generator=g) * 0.3)
    return compiled.module.eval()


def _inputs(compiled, n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    if compiled.input_type.dtype == "long":
        vocab = next(m.num_embeddings for m in compiled.module.modules() if isinstance(m, torch.nn.Embedding))
        return torch.randint(0, vocab, (n, *compiled.input_type.shape), generator=g)
    return torch.randn(n, *compiled.input_type.shape, generator=g)


def _round_trip(project, tmp_path, seed=0):
    compiled = compile_graph(project.graph)
    model = _random_state(compiled, seed)
    save_weights_readable(model, compiled.node_of_module, tmp_path / "w.safetensors")
    path = export(project, tmp_path / "w.safetensors", "onnx", tmp_path / "m.onnx")[0]
    imported = import_onnx(path)
    x = _inputs(compiled)
    with torch.no_grad():
        want, got = model(x), imported.compiled.module(x)
    assert got.shape == want.shape
    return imported, float((got - want).abs().max())


@pytest.mark.parametrize("template", TEMPLATES)
def test_template_exported_to_onnx_imports_with_same_outputs(template, tmp_path):
    project = load_project(template_path(template))
    imported, diff = _round_trip(project, tmp_path)
    assert diff <= 1e-5
    assert imported.info["max_abs_diff"] <= 1e-5
    types = [n.type for n in imported.project.graph.nodes.values()]
    assert types.count("Add") == [n.type for n in project.graph.nodes.values()].count("Add")
    positions = {n.pos for n in imported.project.graph.nodes.values()}
    assert len(positions) == len(types)                        # laid out, not stacked at (0, 0)


def _layers(graph):
    return sorted((n.name, n.type, tuple(sorted(n.params.items()))) for n in graph.nodes.values()
                  if not n.spec.role and n.type != "LayerNorm")


def test_transformer_comes_back_as_the_same_layers(tmp_path):
    """Attention exported as ~40 Transpose/Reshape/Gather/MatMul/Softmax nodes per block comes back
    as one attention layer, and LayerNorm → attention → add → LayerNorm → MLP → add as the
    TransformerBlock it was; the learned position table keeps its 256 rows though 32 are used."""
    project = load_project(template_path("tiny_transformer"))
    imported, _ = _round_trip(project, tmp_path, seed=5)
    assert _layers(imported.project.graph) == _layers(project.graph)
    assert [n.name for n in imported.project.graph.nodes.values() if n.type == "LayerNorm"] == ["norm"]
    count = lambda m: sum(p.numel() for p in m.parameters())                     # noqa: E731
    assert count(imported.compiled.module) == count(compile_graph(project.graph).module)


def _sequence_project(*middle):
    from layerlab.core.graph import Graph
    from layerlab.core.project import Project

    g = Graph()
    chain = [g.add_node("Input", {"shape": [12], "dtype": "int64"}, name="ids"),
             g.add_node("Embedding", {"vocab": 40, "dim": 16}, name="embed"),
             *(g.add_node(kind, params, name=name) for name, kind, params in middle),
             g.add_node("Dense", {"units": 5}, name="head"), g.add_node("Output", {}, name="out")]
    for a, b in zip(chain, chain[1:]):
        g.connect(a.id, b.id)
    return Project(graph=g, name="seq")


def test_bare_attention_and_sinusoidal_positions_import_as_those_layers(tmp_path):
    """Not causal (no mask in the file), heads 2, sinusoids baked in as a constant table: the
    same two layers come back, with the same outputs."""
    project = _sequence_project(("pos", "PositionalEncoding", {"kind": "sinusoidal", "max_len": 12}),
                                ("attn", "MultiheadSelfAttention", {"heads": 2, "causal": False}),
                                ("act", "ReLU", {}))
    imported, diff = _round_trip(project, tmp_path)
    assert diff <= 1e-5
    assert _layers(imported.project.graph) == _layers(project.graph)


def test_attention_the_catalogue_cannot_express_is_named(tmp_path):
    """Attention whose scores are not scaled by 1/√(head width): no layer computes it; the import
    names the nodes it cannot map and why the Softmax is not the attention it knows."""
    from onnx import numpy_helper

    project = _sequence_project(("attn", "MultiheadSelfAttention", {"heads": 2, "causal": True}))
    compiled = compile_graph(project.graph)
    path = export(project, None, "onnx", tmp_path / "m.onnx")[0]
    model = onnx.load(str(path))
    for init in model.graph.initializer:                      # the √√(1/d) factor on Q and on Kᵀ
        if init.name in {n.input[1] for n in model.graph.node if n.op_type == "Mul"}:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 2, init.name))
    onnx.save(model, str(tmp_path / "odd.onnx"))
    with pytest.raises(OnnxImportError, match=r"cannot be mapped.*Softmax node .* is not self-attention "
                                              r"LayerLab knows \(scores are scaled by"):
        import_onnx(tmp_path / "odd.onnx")
    assert compiled.analysis.ok


def test_resnet18_imports_with_skip_connections_and_same_outputs(tmp_path):
    model = randomized(ResNet18(num_classes=10, width=16))
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    path = tmp_path / "resnet18.onnx"
    torch.onnx.export(model, (x,), str(path), dynamo=True, external_data=False, input_names=["x"],
                      dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=1024)}})
    imported = import_onnx(path)
    graph = imported.project.graph
    adds = [n for n in graph.nodes.values() if n.type == "Add"]
    assert len(adds) == 8                                      # two BasicBlocks in each of four stages
    convs = [n for n in graph.nodes.values() if n.type == "Conv2d"]
    assert len(convs) == 1 + 16 + 3                            # stem, 2 per block, 3 downsample shortcuts
    pool = next(n for n in graph.nodes.values() if n.type == "MaxPool2d")
    assert (pool.params["kernel_size"], pool.params["stride"], pool.params["padding"]) == (3, 2, 1)
    order = imported.compiled.analysis.order
    for add in adds:                                           # a skip: the inputs come from different depths
        a, b = (order.index(e.src) for e in graph.inputs_of(add.id))
        assert a != b
    with torch.no_grad():
        want, got = model(x), imported.compiled.module(x)
    assert float((got - want).abs().max()) <= 1e-5


def test_cli_import_writes_a_project_with_preprocessing_and_never_overwrites(tmp_path, capsys):
    project = load_project(template_path("digits_cnn"))
    compiled = compile_graph(project.graph)
    model = _random_state(compiled, seed=3)
    save_weights_readable(model, compiled.node_of_module, tmp_path / "w.safetensors")
    pre = {"kind": "standardize", "input_shape": [1, 8, 8], "shift": [0.5] * 64, "scale": [0.25] * 64}
    (tmp_path / "preprocessing.json").write_text(json.dumps(pre))
    onnx_path = export(project, tmp_path / "w.safetensors", "onnx", tmp_path / "d.onnx")[0]
    out = tmp_path / "imported"
    assert main(["import", str(onnx_path), "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    back = load_native(out)
    assert back.preprocessing["kind"] == "standardize" and back.preprocessing["shift"] == pre["shift"]
    raw = torch.rand(4, 1, 8, 8) * 4
    with torch.no_grad():
        want = deployable(model, pre)(raw)
    assert float((back.predict(raw) - want).abs().max()) <= 1e-5
    assert back.project.data.preprocessing == "standardize"

    stamp = (out / "project.layerlab.json").read_bytes()
    assert main(["import", str(onnx_path), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and (out / "project.layerlab.json").read_bytes() == stamp
    assert main(["import", str(onnx_path), "--out", str(out), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"] == 10
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []   # no temp folders


def _model(nodes, inits=(), inp=("x", [None, 4]), out=("y", [None, 4])):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(inp[0], TensorProto.FLOAT, inp[1])],
                              [helper.make_tensor_value_info(out[0], TensorProto.FLOAT, out[1])],
                              initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_unmapped_operators_are_named_and_nothing_is_written(tmp_path):
    w = onnx.numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    m = _model([helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
                helper.make_node("Sin", ["h"], ["s"], name="wave"),
                helper.make_node("Relu", ["s"], ["r"], name="act"),
                helper.make_node("Transpose", ["r"], ["y"], name="flip", perm=[0, 1])], [w])
    onnx.save(m, str(tmp_path / "m.onnx"))
    with pytest.raises(OnnxImportError) as err:
        import_onnx(tmp_path / "m.onnx")
    text = str(err.value)
    assert "Sin node 'wave'" in text and "1 operator cannot" in text   # its consumers are not blamed too
    assert main(["import", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "p")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_hostile_files_are_one_line_refusals(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(OnnxImportError, match="not an ONNX model"):
        import_onnx(tmp_path / "junk.onnx")
    with pytest.raises(OnnxImportError, match="not a regular file"):
        import_onnx(tmp_path)
    with pytest.raises(OnnxImportError, match="no such file"):
        import_onnx(tmp_path / "missing.onnx")
    w = onnx.numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    m = _model([helper.make_node("MatMul", ["x", "w"], ["y"])], [w])
    onnx.save(m, str(tmp_path / "ext.onnx"), save_as_external_data=True, size_threshold=0, location="ext.bin")
    with pytest.raises(OnnxImportError, match="separate data file"):
        import_onnx(tmp_path / "ext.onnx")
    dyn = _model([helper.make_node("Relu", ["x"], ["y"])], inp=("x", [None, "n"]))
    onnx.save(dyn, str(tmp_path / "dyn.onnx"))
    with pytest.raises(OnnxImportError, match="fixed sizes"):
        import_onnx(tmp_path / "dyn.onnx")
    ok = _model([helper.make_node("Relu", ["x"], ["y"])])
    onnx.save(ok, str(tmp_path / "ok.onnx"))
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(OnnxImportError, match="is a file"):
        write_imported(import_onnx(tmp_path / "ok.onnx"), tmp_path / "taken", force=True)


def test_torch_attention_and_encoder_layer_made_elsewhere_import(tmp_path):
    """Not LayerLab's export: torch's own nn.MultiheadAttention (plus a residual) and a pre-norm
    GELU nn.TransformerEncoderLayer come back as MultiheadSelfAttention + Add and TransformerBlock."""
    from torch import nn

    class Net(nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            self.emb = nn.Embedding(50, 32)
            self.mha = nn.MultiheadAttention(32, 4, batch_first=True)
            self.enc = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, activation="gelu", batch_first=True,
                                                  norm_first=True)
            self.head = nn.Linear(32, 5)

        def forward(self, ids):
            h = self.emb(ids)
            h = self.enc(h) if self.encoder else h + self.mha(h, h, h, need_weights=False)[0]
            return self.head(h)

    x = torch.randint(0, 50, (3, 10), generator=torch.Generator().manual_seed(0))
    for encoder, want_types in ((False, ["Embedding", "MultiheadSelfAttention", "Add", "Dense"]),
                                (True, ["Embedding", "TransformerBlock", "Dense"])):
        torch.manual_seed(1)
        model = Net(encoder).eval()
        path = tmp_path / f"net{int(encoder)}.onnx"
        torch.onnx.export(model, (x,), str(path), dynamo=True, external_data=False, input_names=["ids"],
                          dynamic_shapes={"ids": {0: torch.export.Dim("batch", min=1, max=1024)}})
        imported = import_onnx(path)
        graph = imported.project.graph
        assert [graph.nodes[n].type for n in imported.compiled.analysis.order if not graph.nodes[n].spec.role] == want_types
        with torch.no_grad():
            assert float((imported.compiled.module(x) - model(x)).abs().max()) <= 1e-5
