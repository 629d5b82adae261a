"""Smoke test of the packaged app, offscreen: validate the bundled example, render the GUI with it,
train it one epoch, export the run to ONNX (checked against onnxruntime), as a model card, as a
training script and as int8 ONNX, run a one-trial sweep, then print the bundle's size as a bench
figure: {"name": "package_size_mb", ...} (reference: the 600 MB target)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

app = Path(sys.argv[1]).resolve()
example = next((app.parent / "_internal").rglob("digits_cnn.layerlab.json"))
tmp = Path(tempfile.mkdtemp(prefix="layerlab-smoke-"))
# settings, recent files and caches in a throw-away home: the test must not touch the user's
env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
       **{k: str(tmp / "home" / k.lower()) for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")}}
project = tmp / example.name
shutil.copy(example, project)


def call(*args: str) -> str:
    r = subprocess.run([str(app), *args], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, f"{' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


try:
    assert "[B, 10]" in call("validate", str(project))
    png = tmp / "shot.png"
    call("gui", str(project), "--screenshot", str(png))
    shot_kb = png.stat().st_size // 1024
    assert shot_kb > 10, "screenshot too small"
    run = tmp / "run"
    call("train", str(project), "--epochs", "1", "--device", "cpu", "--out", str(run))
    assert (run / "best.safetensors").is_file() or (run / "last.safetensors").is_file(), sorted(os.listdir(run))
    onnx = tmp / "model.onnx"
    report = json.loads(call("export", str(run), "--format", "onnx", "--out", str(onnx), "--json").splitlines()[-1])
    assert onnx.stat().st_size > 1000, report
    diff = report.get("max_abs_diff")
    assert diff is not None and diff < 1e-3, f"onnxruntime check: {report}"
    # the model card draws its loss curve with matplotlib (the bundle keeps only its DejaVu Sans fonts)
    call("export", str(run), "--format", "card", "--out", str(tmp / "card.md"))
    assert (tmp / "card_loss.png").stat().st_size > 5000, sorted(os.listdir(tmp))
    # the training script carries the digits table read from the bundle's resources/datasets
    call("export", str(run), "--format", "train-script", "--out", str(tmp / "script" / "train.py"))
    assert (tmp / "script" / "digits.csv.gz").stat().st_size > 10_000
    # int8 ONNX: onnxruntime's quantization imports its transformers folder's modules top-level
    call("export", str(run), "--format", "onnx", "--quantize", "int8-dynamic", "--out", str(tmp / "q.onnx"))
    # a one-trial sweep: optuna's storage runs alembic's scripts, shipped as files
    call("sweep", str(project), "--trials", "1", "--epochs", "1", "--no-baseline", "--sampler", "random",
         "--param", "training.lr=1e-3:1e-1:log", "--out", str(tmp / "sweeps"))
finally:
    shutil.rmtree(tmp, ignore_errors=True)

# every file once: symlinks count as links, not as the file they point to
size = sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(app.parent) for f in fs) / 2**20
print(f"smoke test passed: validate, GUI screenshot ({shot_kb} KB), "
      f"train 1 epoch, ONNX export (max |ort - torch| {diff:.1e}), model card, training script, "
      f"int8 ONNX, one sweep trial")
print(json.dumps({"name": "package_size_mb", "value": round(size, 1), "unit": "MB", "reference": 600,
                  "ratio": round(size / 600, 3), "note": "dist/LayerLab, one-folder PyInstaller bundle"}))
