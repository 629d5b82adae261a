"""training.compile: torch.compile of the step, decided by measurement in the run (compile_step.py),
and what config.json says about it."""
import json

import pytest
import torch
from safetensors.torch import load_file

from layerlab.core.project import load_project
from layerlab.core.resources import template_path
from layerlab.core.train import Trainer, compile_step


def _project(setting, epochs=12):
    project = load_project(template_path("mlp"))
    project.training.epochs, project.training.compile = epochs, setting
    return project


def _run(project, path):
    result = Trainer(project, run_dir=path).fit()
    assert result.status == "finished", result.message
    return json.loads((path / "config.json").read_text())["resolved"]["compile"]


def _weights(path):
    return load_file(path / "last.safetensors")


def test_auto_keeps_a_short_run_eager_and_says_why(tmp_path):
    note = _run(_project("auto"), tmp_path / "auto")
    assert note["setting"] == "auto" and note["used"] is False
    assert note["decision"].startswith("eager:") and "would not pay" in note["decision"]
    off = _run(_project("off"), tmp_path / "off")
    assert off == {"setting": "off", "used": False, "decision": "off: eager steps"}
    a, b = _weights(tmp_path / "auto"), _weights(tmp_path / "off")
    assert all(torch.equal(a[k], b[k]) for k in a)        # eager either way: the same run
    diags = json.loads((tmp_path / "auto" / "diagnostics.json").read_text())
    assert not [d for d in diags if d["code"] == "compile"]   # nothing to say when nothing was compiled


def test_a_failing_compile_falls_back_to_eager_on_the_same_batch(tmp_path, monkeypatch):
    """A compiler that fails on its first call (no C++ compiler, an unsupported op) costs nothing:
    the batch runs eagerly and the run ends with exactly the weights of an eager run."""
    calls = []

    def broken_compile(module, **kw):
        def run(x):
            calls.append(1)
            raise RuntimeError("InductorError: C++ compile error\nsecond line")
        return run
    monkeypatch.setattr(torch, "compile", broken_compile)
    note = _run(_project("on"), tmp_path / "on")
    assert calls == [1]                                    # tried once, then eager for good
    assert note["used"] is False
    assert note["decision"] == "compile failed (RuntimeError: InductorError: C++ compile error); eager steps"
    _run(_project("off"), tmp_path / "off")
    a, b = _weights(tmp_path / "on"), _weights(tmp_path / "off")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_auto_reports_a_missing_compiler(tmp_path, monkeypatch):
    monkeypatch.setattr(compile_step, "PAYBACK", 0)         # any run is long enough
    monkeypatch.setattr(compile_step, "TIMED_S", 0.0)
    monkeypatch.setenv("PATH", str(tmp_path))              # no g++ / clang++
    monkeypatch.delenv("CXX", raising=False)
    note = _run(_project("auto"), tmp_path / "run")
    assert note["used"] is False
    assert note["decision"].startswith("eager: no C++ compiler on PATH")


def test_auto_times_both_and_keeps_the_faster(tmp_path, monkeypatch):
    """A stand-in compiler that makes every step slower: auto times it, goes back to eager and
    records both step times (the real compiler's speed is machine-dependent; see the next test)."""
    import time

    def slow_compile(module, **kw):
        def run(x):
            time.sleep(0.002)
            return module(x)
        return run
    monkeypatch.setattr(torch, "compile", slow_compile)
    monkeypatch.setattr(compile_step, "PAYBACK", 0)
    monkeypatch.setattr(compile_step, "TIMED_S", 0.0)       # decide after one epoch of each
    monkeypatch.setattr(compile_step, "backend_missing", lambda device: None)
    note = _run(_project("auto", epochs=40), tmp_path / "run")
    assert note["used"] is False, note
    assert note["decision"].startswith("eager: compiled steps took")
    assert note["compiled_step_ms"] > note["eager_step_ms"] + 1.5    # the 2 ms sleep, measured
    assert note["compile_s"] >= 0
    said = [d["message"] for d in json.loads((tmp_path / "run" / "diagnostics.json").read_text())
            if d["code"] == "compile"]
    assert said == ["torch.compile of the training step: compiling: the first compiled epoch holds the compile",
                    f"torch.compile of the training step: {note['decision']}"]


@pytest.mark.skipif(compile_step.backend_missing(torch.device("cpu")) is not None,
                    reason="inductor needs a C++ compiler on this machine")
def test_on_compiles_the_step_with_inductor(tmp_path):
    """The real compiler on the CPU: the run trains compiled steps and ends near the eager run
    (inductor's kernels sum in another order, so not bit for bit)."""
    note = _run(_project("on", epochs=6), tmp_path / "on")
    assert note["used"] is True and note["decision"] == "on: compiled steps"
    assert note["compiled_step_ms"] > 0 and note["compile_s"] >= 0
    _run(_project("off", epochs=6), tmp_path / "off")
    on = json.loads((tmp_path / "on" / "result.json").read_text())
    off = json.loads((tmp_path / "off" / "result.json").read_text())
    assert on["val_metrics"]["val_loss"] == pytest.approx(off["val_metrics"]["val_loss"], rel=1e-3)


def test_compile_setting_is_checked():
    project = _project("fast")
    assert any("training.compile 'fast' is unknown" in p for p in project.training.problems())


def test_backend_missing_names_missing_torch_headers(tmp_path, monkeypatch):
    """The packaged app drops torch/include; inductor cannot build CPU kernels without it, so `auto`
    and `on` stay eager there and say why, instead of failing inside the compiler."""
    monkeypatch.setattr(compile_step.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(torch, "__file__", str(tmp_path / "torch" / "__init__.py"))
    assert "torch/include" in compile_step.backend_missing(torch.device("cpu"))
    (tmp_path / "torch" / "include").mkdir(parents=True)
    assert compile_step.backend_missing(torch.device("cpu")) is None


def test_on_without_a_compiler_says_why_and_trains_eager(tmp_path, monkeypatch):
    monkeypatch.setattr(compile_step, "backend_missing", lambda device: "no C++ compiler on PATH (test)")
    note = _run(_project("on", epochs=2), tmp_path / "run")
    assert note["used"] is False
    assert note["decision"] == "compile failed (no C++ compiler on PATH (test)); eager steps"
