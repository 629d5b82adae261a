"""Every export format round-trips: native reopens in LayerLab, ONNX matches onnxruntime within
1e-4, the torch.export program and the generated source match LayerLab within 1e-5 in a Python
that cannot import LayerLab, the model card has its table and plot, pickles are refused."""
import json
import math
import pickle
import subprocess

import pytest
import torch

from layerlab.core.compiler import compile_graph
from layerlab.core.data import load as load_data
from layerlab.core.data.preprocess import Preprocessor
from layerlab.core.export import ExportError, export, load_native
from layerlab.core.export import source as source_mod
from layerlab.core.export import standalone
from layerlab.core.export.prepared import save_weights_readable as save_weights
from layerlab.core.export.preprocessing import deployable
from layerlab.core.graph import Graph
from layerlab.core.project import Project, load_project
from layerlab.core.resources import template_path
from layerlab.core.weights import read_weights
from layerlab.core.weights import save_weights as plain_save_weights

from .conftest import chain


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The digits CNN after 25 Adam steps on real digits (BatchNorm statistics moved), saved as a
    run folder: best.safetensors, preprocessing.json (standardize, train split), metrics.csv."""
    project = load_project(template_path("digits_cnn"))
    ds = load_data(project.data)
    torch.manual_seed(0)
    compiled = compile_graph(project.graph)
    model = compiled.module.train()
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for step in range(25):
        lo = (step * 64) % (len(ds.x_train) - 64)
        loss = torch.nn.functional.cross_entropy(model(ds.x_train[lo:lo + 64]), ds.y_train[lo:lo + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    run = tmp_path_factory.mktemp("run")
    save_weights(model, compiled.node_of_module, run / "best.safetensors")
    (run / "preprocessing.json").write_text(json.dumps(ds.preprocessor.to_dict()))
    (run / "metrics.csv").write_text("epoch,train_loss,val_loss,val_accuracy,val_f1,lr,seconds\n"
                                     "1,1.9,1.5,0.61,0.58,0.002,0.4\n2,0.9,0.7,0.83,0.82,0.0015,0.4\n"
                                     "3,0.5,0.45,0.9,0.9,0.001,0.4\n")
    (run / "result.json").write_text(json.dumps({"status": "finished", "best_epoch": 3,
                                                 "test_metrics": {"test_accuracy": 0.9}, "seconds": 1.2}))
    return project, ds, compiled, run


def _raw_val(ds, n=64):
    """Raw (unpreprocessed) validation inputs: the standardize transform undone."""
    pre = ds.preprocessor
    flat = ds.x_val[:n].reshape(min(n, len(ds.x_val)), -1).double()
    raw = flat / torch.from_numpy(pre.scale) + torch.from_numpy(pre.shift)
    return raw.float().reshape(-1, *ds.input_shape)


def test_native_reopens_to_evaluate_and_continue_training(digits_run, tmp_path):
    project, ds, compiled, run = digits_run
    paths = export(project, run / "best.safetensors", "native", tmp_path / "model")
    assert {p.name for p in paths} == {"project.layerlab.json", "weights.safetensors", "preprocessing.json",
                                       "export.json"}
    loaded_project, loaded, pre = load_native(tmp_path / "model")
    assert loaded_project.to_dict() == project.to_dict()
    assert pre["kind"] == "standardize"
    with torch.no_grad():
        assert torch.allclose(loaded.module(ds.x_val), compiled.module(ds.x_val), atol=1e-5, rtol=0)
        # raw inputs through the saved preprocessing == LayerLab's own preprocessed split
        raw = ds.raw_x_train[:100]
        again = Preprocessor.from_dict(pre).transform(raw)
        assert torch.allclose(again, ds.x_train[:100], atol=1e-6)
        native = load_native(tmp_path / "model")
        assert torch.allclose(native.predict(raw), compiled.module(ds.x_train[:100]), atol=1e-5, rtol=0)
    # continue training: the reopened model takes optimizer steps
    model = loaded.module.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    before = torch.nn.functional.cross_entropy(model(ds.x_train[:256]), ds.y_train[:256]).item()
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model(ds.x_train[:256]), ds.y_train[:256])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < before


def test_onnx_matches_onnxruntime_on_validation_batches(digits_run, tmp_path):
    import onnxruntime as ort

    from layerlab.core.export.onnx_export import onnx_metadata

    project, ds, compiled, run = digits_run
    paths = export(project, run / "best.safetensors", "onnx", tmp_path / "digits.onnx")
    assert paths.info["opset"] >= 18 and paths.info["max_abs_diff"] <= 1e-4
    meta = onnx_metadata(paths[0])
    assert meta["layerlab.opset"] == meta["opset"] == str(paths.info["opset"])
    assert json.loads(meta["layerlab.preprocessing"])["kind"] == "standardize"
    session = ort.InferenceSession(str(paths[0]), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    assert name == "image"
    worst = 0.0
    for n in (1, 5, 64, len(ds.x_val)):       # dynamic batch axis
        raw = _raw_val(ds, n)
        got = torch.from_numpy(session.run(None, {name: raw.numpy()})[0])
        with torch.no_grad():
            want = compiled.module(ds.x_val[:n])   # LayerLab's preprocessed split through the network
        assert got.shape == want.shape
        worst = max(worst, (got - want).abs().max().item())
    assert worst <= 1e-4, worst


def test_pt2_and_source_match_layerlab_in_a_python_without_layerlab(digits_run, tmp_path):
    from safetensors.torch import save_file

    project, ds, compiled, run = digits_run
    pt2 = export(project, run / "best.safetensors", "pt2", tmp_path / "digits.pt2")
    src = export(project, run / "best.safetensors", "source", tmp_path / "pkg" / "digits_cnn.py")
    assert [p.name for p in src] == ["digits_cnn.py", "digits_cnn.safetensors"]
    raw = _raw_val(ds, 33)
    with torch.no_grad():
        want = compiled.module(ds.x_val[:33])
    save_file({"raw": raw, "pre": ds.x_val[:33].contiguous(), "want": want}, str(tmp_path / "io.safetensors"))
    code = f"""
import json, torch
from safetensors.torch import load_file
io = load_file({str(tmp_path / 'io.safetensors')!r})
program = torch.export.load({str(pt2[0])!r}).module()
d_pt2 = max(float((program(io['raw'][:n]) - io['want'][:n]).abs().max()) for n in (1, 7, 33))
sys.path.insert(0, {str(tmp_path / 'pkg')!r})
import digits_cnn
model = digits_cnn.load()
d_src = float((digits_cnn.predict(model, io['raw']) - io['want']).abs().max())
with torch.no_grad():
    d_net = float((model(io['pre']) - io['want']).abs().max())
d_pre = float((digits_cnn.preprocess(io['raw']) - io['pre']).abs().max())
print(json.dumps(dict(pt2=d_pt2, src=d_src, net=d_net, pre=d_pre, cls=type(model).__name__,
                      layerlab=[m for m in sys.modules if m.startswith(('layerlab', 'core'))])))
"""
    out = subprocess.run(standalone.command(code), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["layerlab"] == [] and got["cls"] == "DigitsCNN"
    assert got["pt2"] <= 1e-5 and got["src"] <= 1e-5 and got["net"] <= 1e-5 and got["pre"] <= 1e-5, got


def test_isolation_really_hides_layerlab(tmp_path):
    out = subprocess.run(standalone.command("import layerlab"), cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "No module named 'layerlab'" in out.stderr
    # the same interpreter without the isolation does see it (so the check above means something)
    plain = subprocess.run([standalone.sys.executable, "-c", "import layerlab.core"], cwd=tmp_path, timeout=60)
    assert plain.returncode == 0


def test_source_reads_like_hand_written_pytorch(digits_run, tmp_path):
    project, ds, compiled, run = digits_run
    path = export(project, run / "best.safetensors", "source", tmp_path / "digits_cnn.py")[0]
    text = path.read_text()
    assert "class DigitsCNN(nn.Module):" in text
    assert "self.conv1 = nn.Conv2d(1, 32, 3, stride=1, padding=1, dilation=1, bias=False)" in text
    assert "        conv1 = self.conv1(image)\n        bn1 = self.bn1(conv1)" in text
    assert "return logits" in text and "def preprocess(x):" in text and "def load(" in text
    assert "'n2': 'conv1'" in text                      # weights keyed by node id, mapped to names
    assert "layerlab" not in text.lower().replace("exported from layerlab", "").replace("from layerlab (", "") \
        .replace("layerlab node id", "").replace("layerlab/core/layers/modules.py", "")
    assert "class GlobalAvgPool" not in text            # helpers only where used
    tiny = load_project(template_path("tiny_transformer"))
    c = compile_graph(tiny.graph)
    save_weights(c.module, c.node_of_module, tmp_path / "t.safetensors")
    t_text = export(tiny, tmp_path / "t.safetensors", "source", tmp_path / "tiny.py")[0].read_text()
    for helper in ("class TransformerBlock", "class SelfAttention", "def causal_mask", "class PositionalEncoding"):
        assert helper in t_text
    assert "class Recurrent" not in t_text and "class Reshape" not in t_text


# every layer type: (input shape, dtype, layer, params)
LAYERS = [
    ([5], "float32", "Dense", {"units": 7}), ([4, 6], "float32", "Dense", {"units": 3, "bias": False}),
    ([2, 3, 4], "float32", "Flatten", {}), ([24], "float32", "Reshape", {"shape": [3, -1]}),
    ([5], "float32", "Dropout", {"p": 0.3}), ([3, 4, 4], "float32", "Dropout2d", {}),
    ([3, 10], "float32", "Conv1d", {"filters": 4, "kernel_size": 3, "padding": "valid"}),
    ([3, 9, 9], "float32", "Conv2d", {"filters": 2, "kernel_size": 3, "dilation": 2, "stride": 2}),
    ([3, 9, 9], "float32", "MaxPool2d", {"kernel_size": 2}), ([3, 8, 8], "float32", "AvgPool2d", {"stride": 1}),
    ([3, 8, 8], "float32", "GlobalAvgPool", {}), ([3, 8], "float32", "GlobalAvgPool", {}),
    ([5], "float32", "ReLU", {}), ([5], "float32", "LeakyReLU", {"negative_slope": 0.2}),
    ([5], "float32", "ELU", {"alpha": 0.5}), ([5], "float32", "GELU", {}), ([5], "float32", "SiLU", {}),
    ([5], "float32", "Sigmoid", {}), ([5], "float32", "Tanh", {}), ([3, 5], "float32", "Softmax", {"dim": 0}),
    ([5], "float32", "BatchNorm", {"momentum": 0.2}), ([3, 10], "float32", "BatchNorm", {}),
    ([3, 8, 8], "float32", "BatchNorm", {"eps": 1e-3}), ([4, 6], "float32", "LayerNorm", {}),
    ([8, 4, 4], "float32", "GroupNorm", {"groups": 4}), ([4, 6], "float32", "RMSNorm", {}),
    ([7], "int64", "Embedding", {"vocab": 11, "dim": 8}),
    ([7, 8], "float32", "PositionalEncoding", {"max_len": 16}),
    ([7, 6], "float32", "PositionalEncoding", {"kind": "learned", "max_len": 7}),
    ([7, 8], "float32", "MultiheadSelfAttention", {"heads": 2, "causal": True}),
    ([7, 8], "float32", "TransformerBlock", {"heads": 2, "ff_mult": 2, "causal": True}),
    ([7, 5], "float32", "LSTM", {"hidden": 6, "layers": 2}),
    ([7, 5], "float32", "LSTM", {"hidden": 6, "bidirectional": True, "return_sequences": False}),
    ([7, 5], "float32", "GRU", {"hidden": 4, "bidirectional": True, "layers": 2}),
]


def test_source_writes_every_layer_type_and_merges(tmp_path):
    """Each layer type alone, plus Add and Concat: the generated file is checked in-process
    against LayerLab's module by export itself (max diff ≤ 1e-5, raised otherwise)."""
    from layerlab.core import layers

    # block types are written and checked in tests/core/test_blocks.py
    covered = {layer for _, _, layer, _ in LAYERS} | {"Add", "Concat", "Input", "Output", "Block", "BlockInput",
                                                        "BlockOutput"}
    assert covered == set(layers.REGISTRY), set(layers.REGISTRY) - covered
    graphs = []
    for shape, dtype, layer, params in LAYERS:
        g = Graph()
        chain(g, ("Input", {"shape": shape, "dtype": dtype}), (layer, params), "Output")
        graphs.append(g)
    g = Graph()
    x, fc1, r1 = chain(g, ("Input", {"shape": [4]}), ("Dense", {"units": 4}), "ReLU")
    add = g.add_node("Add", {"inputs": 3})
    cat = g.add_node("Concat", {"inputs": 2})
    out = g.add_node("Output")
    g.connect(r1.id, add.id, 0), g.connect(x.id, add.id, 1), g.connect(fc1.id, add.id, 2)
    g.connect(add.id, cat.id, 0), g.connect(x.id, cat.id, 1), g.connect(cat.id, out.id)
    graphs.append(g)
    for k, g in enumerate(graphs):
        project = Project(graph=g, name=f"case {k}")
        project.data.preprocessing = "none"
        torch.manual_seed(k)
        c = compile_graph(g)
        for p in c.module.parameters():               # away from init patterns (zeros, ones)
            p.data.add_(torch.randn_like(p) * 0.1)
        save_weights(c.module, c.node_of_module, tmp_path / f"w{k}.safetensors")
        done = export(project, tmp_path / f"w{k}.safetensors", "source", tmp_path / f"case{k}.py")
        assert done.info["max_abs_diff"] <= 1e-5


def _pickle_payload(path, marker):
    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))
    path.write_bytes(pickle.dumps({"n2.weight": Boom()}))


@pytest.mark.parametrize("fmt", ["native", "onnx", "pt2", "source", "card"])
def test_pickle_weights_are_refused_and_never_run(fmt, tmp_path):
    project = load_project(template_path("mlp"))
    marker = tmp_path / "PWNED"
    weights = tmp_path / "weights.safetensors"           # the name does not make it safetensors
    _pickle_payload(weights, marker)
    with pytest.raises(ExportError, match="pickle"):
        export(project, weights, fmt, tmp_path / f"out_{fmt}")
    assert not marker.exists()


def test_pickle_in_native_folder_and_for_generated_load_refused(tmp_path):
    project = load_project(template_path("mlp"))
    c = compile_graph(project.graph)
    save_weights(c.module, c.node_of_module, tmp_path / "w.safetensors")
    export(project, tmp_path / "w.safetensors", "native", tmp_path / "model")
    path = export(project, tmp_path / "w.safetensors", "source", tmp_path / "mlp_model.py")[0]
    marker = tmp_path / "PWNED"
    _pickle_payload(tmp_path / "model" / "weights.safetensors", marker)
    with pytest.raises(ExportError, match="pickle"):
        load_native(tmp_path / "model")
    _pickle_payload(tmp_path / "mlp_model.safetensors", marker)
    torch.save({"n2.weight": torch.zeros(1)}, tmp_path / "zip.pt")    # a torch zip file: refused too
    gen = source_mod.import_generated(path)
    for bad in (tmp_path / "mlp_model.safetensors", tmp_path / "zip.pt"):
        with pytest.raises(Exception):
            gen.load(bad)
    assert not marker.exists()


def test_model_card_has_architecture_setup_metrics_and_loss_plot(digits_run, tmp_path):
    project, ds, compiled, run = digits_run
    paths = export(project, run / "best.safetensors", "card", tmp_path / "card.md")
    md, png = paths
    text = md.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.name == "card_loss.png"
    assert "| conv1 | Conv2d | `[B, 32, 8, 8]` | 288 |" in text
    assert "| logits | Dense | `[B, 10]` | 2,570 |" in text
    for needle in ("digits", "standardize (statistics fitted on the training split only)", "adamw, lr 0.002",
                   "cosine", "weight_decay 0.0001", "Dropout 'drop' p=0.3", "30 / 64", "| val_accuracy | 0.9",
                   "![loss curve](card_loss.png)", "| status | finished |", "| test_accuracy | 0.9 |"):
        assert needle in text, needle


def test_card_escapes_user_text(tmp_path):
    project = load_project(template_path("mlp"))
    project.name = "<script>alert(1)</script> | x"
    project.description = "line1\n| a | b |"
    md = export(project, None, "card", tmp_path / "c.md")[0].read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md and "\\| x" in md


def test_cli_export_reports_opset_and_difference(digits_run, tmp_path, capsys):
    from layerlab.core.cli import main

    project, ds, compiled, run = digits_run
    (run / "project.layerlab.json").write_text(json.dumps(project.to_dict()))
    code = main(["export", str(run), "--format", "onnx", "--out", str(tmp_path / "m.onnx"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["opset"] >= 18 and report["max_abs_diff"] <= 1e-4 and report["files"] == [str(tmp_path / "m.onnx")]
    assert main(["export", str(template_path("mlp")), "-f", "onnx", "-o", str(tmp_path / "x.onnx")]) == 2
    assert "--weights is required" in capsys.readouterr().err


def test_bad_preprocessing_is_refused(tmp_path):
    project = load_project(template_path("mlp"))
    c = compile_graph(project.graph)
    save_weights(c.module, c.node_of_module, tmp_path / "w.safetensors")
    for pre, match in (({"kind": "standardize", "input_shape": [3], "shift": [0] * 3, "scale": [1] * 3}, "fitted on"),
                       ({"kind": "standardize", "input_shape": [2], "shift": [0, math.nan], "scale": [1, 1]}, "finite"),
                       ({"kind": "whiten"}, "unknown"),
                       ({"kind": "pca_whiten", "input_shape": [2], "shift": [0, 0], "matrix": [[1, 0]]}, "2×2")):
        with pytest.raises(ExportError, match=match):
            export(project, tmp_path / "w.safetensors", "source", tmp_path / "m.py", pre)
    # a project that standardizes, exported without statistics, says so
    done = export(project, tmp_path / "w.safetensors", "native", tmp_path / "n")
    assert any("standardize" in w for w in done.info["warnings"])


def test_large_preprocessing_goes_to_a_sidecar_file(tmp_path, monkeypatch):
    monkeypatch.setattr(source_mod, "INLINE_LIMIT", 4)
    project = load_project(template_path("mlp"))
    c = compile_graph(project.graph)
    save_weights(c.module, c.node_of_module, tmp_path / "w.safetensors")
    pre = {"kind": "pca_whiten", "input_shape": [2], "shift": [0.5, -1.0], "matrix": [[2.0, 0.1], [-0.3, 1.5]]}
    done = export(project, tmp_path / "w.safetensors", "source", tmp_path / "big.py", pre)
    assert [p.name for p in done] == ["big.py", "big.safetensors", "big.preprocess.safetensors"]
    assert done.info["max_abs_diff"] <= 1e-5
    x = torch.randn(4, 2)
    gen = source_mod.import_generated(done[0])
    prep_module = deployable(c.module, pre).preprocess
    assert torch.allclose(gen.preprocess(x), prep_module(x))


def test_weights_written_by_exports_always_read_back(tmp_path):
    """core.weights.read_weights takes a leading 0x80 byte for a pickle, but 1 safetensors header
    length in 256 starts with it (this Dense 5→7 network is one): exports pad the metadata."""
    g = Graph()
    chain(g, ("Input", {"shape": [5]}), ("Dense", {"units": 7}), "Output")
    c = compile_graph(g)
    plain_save_weights(c.module, c.node_of_module, tmp_path / "plain.safetensors")
    save_weights(c.module, c.node_of_module, tmp_path / "padded.safetensors")
    assert (tmp_path / "padded.safetensors").read_bytes()[:1] != b"\x80"
    tensors, _ = read_weights(tmp_path / "padded.safetensors")
    assert set(tensors) == {"n2.weight", "n2.bias"}
