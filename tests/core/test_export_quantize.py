"""Quantized ONNX export (onnxruntime.quantization): the digits CNN in int8 is at most 35 % of the
float32 file and loses at most one point of test accuracy; static int8 is calibrated on training
batches; fp16 keeps float32 inputs; the CLI prints float32 and quantized side by side."""
import json

import numpy as np
import onnx
import pytest
import torch

from layerlab.core.cli import main
from layerlab.core.compiler import compile_graph
from layerlab.core.data import load as load_data
from layerlab.core.export import ExportError, export
from layerlab.core.export.prepared import save_weights_readable
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The digits CNN after 40 Adam steps (test accuracy ~0.9+), saved as a run folder."""
    project = load_project(template_path("digits_cnn"))
    ds = load_data(project.data)
    torch.manual_seed(0)
    compiled = compile_graph(project.graph)
    model = compiled.module.train()
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for step in range(40):
        lo = (step * 64) % (len(ds.x_train) - 64)
        loss = torch.nn.functional.cross_entropy(model(ds.x_train[lo:lo + 64]), ds.y_train[lo:lo + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    run = tmp_path_factory.mktemp("run")
    save_weights_readable(model, compiled.node_of_module, run / "best.safetensors")
    (run / "preprocessing.json").write_text(json.dumps(ds.preprocessor.to_dict()))
    save_project(project, run / "project.layerlab.json")
    return project, run


def _ops(path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def test_int8_dynamic_digits_cnn_is_small_and_as_accurate(digits_run, tmp_path):
    project, run = digits_run
    done = export(project, run / "best.safetensors", "onnx", tmp_path / "q8.onnx", quantize="int8-dynamic")
    info = done.info
    assert done == [tmp_path / "q8.onnx"] and info["size_quantized"] == (tmp_path / "q8.onnx").stat().st_size
    assert info["size_quantized"] <= 0.35 * info["size_float32"], info
    assert info["metric"] == "test_accuracy" and info["metric_float32"] > 0.8       # a trained network
    assert info["metric_quantized"] >= info["metric_float32"] - 0.01, info
    assert {"ConvInteger", "MatMulInteger"} <= _ops(done[0])
    assert [p.name for p in tmp_path.iterdir()] == ["q8.onnx"]                   # no temporary files left


def test_int8_static_is_calibrated_qdq_and_fp16_keeps_float_inputs(digits_run, tmp_path):
    import onnxruntime as ort

    project, run = digits_run
    static = export(project, run / "best.safetensors", "onnx", tmp_path / "s8.onnx", quantize="int8-static")
    assert {"QuantizeLinear", "DequantizeLinear"} <= _ops(static[0])
    assert static.info["size_quantized"] <= 0.4 * static.info["size_float32"]
    assert static.info["metric_quantized"] >= static.info["metric_float32"] - 0.01, static.info
    half = export(project, run / "best.safetensors", "onnx", tmp_path / "h.onnx", quantize="fp16")
    model = onnx.load(str(half[0]))
    kinds = {i.data_type for i in model.graph.initializer if len(i.dims) > 1}
    assert kinds == {onnx.TensorProto.FLOAT16}
    session = ort.InferenceSession(str(half[0]), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == "tensor(float)"
    out = session.run(None, {session.get_inputs()[0].name: np.zeros((3, 1, 8, 8), np.float32)})[0]
    assert out.shape == (3, 10) and out.dtype == np.float32
    assert abs(half.info["metric_quantized"] - half.info["metric_float32"]) <= 0.01


def test_cli_reports_size_and_accuracy_side_by_side(digits_run, tmp_path, capsys):
    _, run = digits_run
    code = main(["export", str(run), "--format", "onnx", "--quantize", "int8-dynamic",
                 "--out", str(tmp_path / "cli.onnx"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["quantize"] == "int8-dynamic" and report["size_quantized"] < report["size_float32"]
    assert main(["export", str(run), "--format", "onnx", "--quantize", "int8-dynamic",
                 "--out", str(tmp_path / "cli2.onnx")]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = next(i for i, line in enumerate(lines) if "float32" in line and "int8-dynamic" in line)
    assert lines[head + 1].startswith("file size") and "KiB" in lines[head + 1]
    assert lines[head + 2].startswith("test accuracy") and lines[head + 2].count("%") == 2


def test_quantize_refusals_are_one_line(digits_run, tmp_path, capsys):
    project, run = digits_run
    with pytest.raises(ExportError, match="ONNX exports only"):
        export(project, run / "best.safetensors", "pt2", tmp_path / "m.pt2", quantize="fp16")
    with pytest.raises(ExportError, match="unknown quantization"):
        export(project, run / "best.safetensors", "onnx", tmp_path / "m.onnx", quantize="int4")
    broken = load_project(template_path("mlp"))
    broken.data.dataset, broken.data.path = "csv", "missing.csv"
    broken.data.target = "y"
    with pytest.raises(ExportError, match="int8-static needs calibration batches.*int8-dynamic"):
        export(broken, None, "onnx", tmp_path / "b.onnx", quantize="int8-static", base_dir=tmp_path)
    assert not any(tmp_path.iterdir())
