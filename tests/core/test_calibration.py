"""Calibration: ECE and reliability bins in result.json, temperature scaling fitted on the
validation split (calibration.json), applied by the ONNX, .pt2 and source exports, and the CLI
(`layerlab calibrate RUN`, `layerlab train --calibrate`)."""
import dataclasses
import json

import pytest
import torch

from layerlab.core.cli import main
from layerlab.core.compiler import compile_graph
from layerlab.core.data import load
from layerlab.core.export import export
from layerlab.core.specs import DataSpec
from layerlab.core.train import Trainer
from layerlab.core.train.calibrate_run import calibrate_run
from layerlab.core.train.calibration import BINS, fit_temperature, reliability
from layerlab.core.weights import load_weights

from .test_train_cli import spiral_project
from .test_train_helpers import project

DIGITS = DataSpec(dataset="digits")


def test_ece_of_known_bins_and_the_temperature_a_fit_recovers():
    # two bins: confidence 0.9 right 60 % of the time, confidence 0.6 right 60 % of the time
    z = torch.tensor([[2.1972246, 0.0]] * 10 + [[0.4054651, 0.0]] * 10)   # sigmoid-free: softmax of 2 logits
    y = torch.tensor([0] * 6 + [1] * 4 + [0] * 6 + [1] * 4)
    rep = reliability(z, y, "softmax")
    assert rep["bins"] == BINS and sum(rep["count"]) == 20
    assert rep["ece"] == pytest.approx(0.5 * 0.3 + 0.5 * 0.0, abs=1e-6)
    b = rep["count"].index(10)
    assert rep["confidence"][b] == pytest.approx(0.6, abs=1e-6) and rep["accuracy"][b] == pytest.approx(0.6)
    assert rep["confidence"][0] is None and rep["accuracy"][0] is None     # an empty bin
    # labels drawn from softmax(logits / 3): the fitted T is close to 3
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(20_000, 5, generator=g) * 6
    labels = torch.multinomial(torch.softmax(logits / 3, -1), 1, generator=g)[:, 0]
    assert fit_temperature(logits, labels, "softmax") == pytest.approx(3.0, rel=0.05)


@pytest.fixture(scope="module")
def overconfident(tmp_path_factory):
    """A digits MLP trained with a large Adam LR and no regularization until it memorizes the
    training split: its logits grow without bound and it is over-confident on held-out data."""
    p = project(("Input", {"shape": [1, 8, 8]}), "Flatten", ("Dense", {"units": 256}), "ReLU",
                ("Dense", {"units": 10}), "Output", data=DIGITS, epochs=40, lr=0.02, optimizer="adam",
                batch_size=32, weight_decay=0.0, device="cpu")
    run = tmp_path_factory.mktemp("cal") / "run"
    result = Trainer(p, run_dir=run).fit()
    assert result.status == "finished"
    cal = calibrate_run(run, weights=run / "last.safetensors")   # the weights the run ended with
    return p, result, run, cal


def test_overconfident_run_reports_ece_and_scaling_lowers_it_without_changing_accuracy(overconfident):
    p, result, run, cal = overconfident
    saved = json.loads((run / "result.json").read_text())
    assert saved["test_ece"] == pytest.approx(result.test_ece) and saved["val_ece"] == pytest.approx(result.val_ece)
    for split, n in (("val", 270), ("test", 270)):
        rel = saved["reliability"][split]
        assert rel["bins"] == 15 and len(rel["count"]) == len(rel["accuracy"]) == len(rel["confidence"]) == 15
        assert sum(rel["count"]) == n
    assert result.test_ece > 0.02, f"test ECE {result.test_ece:.4f}: the model is not over-confident"
    before, after = cal["test"]["ece_before"], cal["test"]["ece_after"]
    assert before == pytest.approx(result.test_ece, abs=1e-6)
    assert cal["temperature"] > 1                           # over-confident: the logits are softened
    assert after < before, f"test ECE {before:.4f} → {after:.4f} (T = {cal['temperature']:.3f})"
    assert cal["test"]["nll_after"] < cal["test"]["nll_before"]
    assert cal["test"]["accuracy"] == pytest.approx(result.test_metrics["test_accuracy"])
    # argmax unchanged, exactly
    ds = load(DIGITS, None)
    compiled = compile_graph(p.graph)
    load_weights(compiled.module, compiled.node_of_module, run / "last.safetensors")
    with torch.no_grad():
        z = compiled.module.eval()(ds.x_test)
    assert torch.equal(z.argmax(-1), (z / cal["temperature"]).argmax(-1))
    print(f"test ECE {before:.4f} → {after:.4f}, val ECE {cal['val']['ece_before']:.4f} → "
          f"{cal['val']['ece_after']:.4f}, T = {cal['temperature']:.4f}")


def _raw_test(p):
    """The test split as the exports take it: raw values, the same seeded split."""
    return load(dataclasses.replace(p.data, preprocessing="none"), None).x_test


def test_exports_output_the_calibrated_logits(overconfident, tmp_path):
    import onnxruntime as ort

    from layerlab.core.export.onnx_export import onnx_metadata, reference_outputs
    from layerlab.core.export.prepared import prepare
    from layerlab.core.export.source import import_generated

    p, result, run, cal = overconfident
    t = cal["temperature"]
    weights = run / "last.safetensors"
    raw = _raw_test(p)
    prep = prepare(p, weights)
    assert prep.temperature == t
    with torch.no_grad():
        plain = prep.module(_preprocessed(prep, raw))
    calibrated = reference_outputs(prep, raw)
    assert torch.allclose(calibrated, plain / t, atol=1e-6)
    onnx = export(p, weights, "onnx", tmp_path / "m.onnx")
    assert onnx.info["temperature"] == t and float(onnx_metadata(onnx[0])["layerlab.temperature"]) == t
    session = ort.InferenceSession(str(onnx[0]), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: raw.numpy()})[0])
    # the same network exported without T, through onnxruntime, divided by T: equal to ≤ 1e-5
    from layerlab.core.export.onnx_export import export_onnx
    uncalibrated = export_onnx(dataclasses.replace(prep, temperature=None), tmp_path / "plain.onnx")
    plain_session = ort.InferenceSession(str(uncalibrated[0]), providers=["CPUExecutionProvider"])
    plain_onnx = torch.from_numpy(plain_session.run(None, {plain_session.get_inputs()[0].name: raw.numpy()})[0])
    assert (got - plain_onnx / t).abs().max().item() <= 1e-5
    # and LayerLab's own calibrated logits, to within float32 accumulation-order differences of
    # onnxruntime's and torch's matmuls (the logits before scaling reach |z| ≈ 100 here)
    worst = (got - calibrated).abs().max().item()
    print(f"ONNX vs LayerLab calibrated logits: max abs diff {worst:.2e}")
    assert worst <= 1e-4
    assert torch.equal(got.argmax(-1), plain.argmax(-1))
    pt2 = export(p, weights, "pt2", tmp_path / "m.pt2")
    assert pt2.info["temperature"] == t
    program = torch.export.load(str(pt2[0])).module()
    with torch.no_grad():
        assert (program(raw) - calibrated).abs().max().item() <= 1e-5
    src = export(p, weights, "source", tmp_path / "m.py")
    gen = import_generated(src[0])
    assert gen.TEMPERATURE == t
    assert (gen.predict(gen.load(), raw) - calibrated).abs().max().item() <= 1e-5
    card = export(p, weights, "card", tmp_path / "card.md", run_dir=run)
    text = card[0].read_text()
    assert "## Calibration" in text and f"T = {t:.6g}" in text
    # other weights than those calibrated: exported as they are, with a warning
    best = export(p, run / "best.safetensors", "onnx", tmp_path / "best.onnx")
    assert best.info["temperature"] is None
    assert any("not applied" in w for w in best.info["warnings"])


def _preprocessed(prep, raw):
    from layerlab.core.export.preprocessing import preprocess_module
    return preprocess_module(prep.preprocessing)(raw)


def test_calibrate_cli_refuses_a_regression_run_in_one_line(tmp_path, capsys):
    p = project(("Input", {"shape": [1]}), ("Dense", {"units": 8}), "ReLU", ("Dense", {"units": 1}), "Output",
                data=DataSpec(dataset="sine"), loss="mse", epochs=1, device="cpu")
    run = tmp_path / "run"
    assert Trainer(p, run_dir=run).fit().status == "finished"
    result = json.loads((run / "result.json").read_text())
    assert result["val_ece"] is None and result["reliability"] == {}
    assert main(["calibrate", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "regression run" in err and err.startswith("layerlab calibrate: ")
    assert not (run / "calibration.json").exists()


def test_train_with_calibrate_writes_calibration_json(tmp_path, capsys):
    path = spiral_project(tmp_path, epochs=3)
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--calibrate"]) == 0
    out = capsys.readouterr().out
    assert "temperature T = " in out and "test ECE " in out and "→" in out
    cal = json.loads((tmp_path / "run" / "calibration.json").read_text())
    assert cal["temperature"] > 0 and {f["weights"] for f in cal["fits"]} == {"best.safetensors", "last.safetensors"}
    assert main(["calibrate", str(tmp_path / "run"), "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["event"] == "calibrated" and line["temperature"] == pytest.approx(cal["temperature"])
