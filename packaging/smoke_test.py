"""Smoke test of the packaged app, offscreen: validate the bundled example, render the GUI with it,
train it one epoch, export the run to ONNX (checked against onnxruntime), as a model card, as a
training script, as int8 ONNX and in every other format, import the ONNX back, run lr-find,
explore-init, calibrate, repeat and a one-trial sweep, train on a CSV file, an image folder and
text (then sample from it), train in the GUI's training process and ask it for saliency maps
(Captum), then print the bundle's size as a bench figure: {"name": "package_size_mb", ...}
(reference: the 600 MB target). Every feature of the app goes through here, so that leaving out a
part of a package it needs fails this test."""
import contextlib
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


# a CSV table for the MLP template (2 features, 3 classes) and a 10-class image folder for the digits
# CNN (8x8 grayscale) in every format the image source reads; written by the build's Python
DATA_FILES = r"""
import json, sys
from pathlib import Path
from PIL import Image
tmp = Path(sys.argv[1])
rows = ["x1,x2,label"] + [f"{i % 7 / 7:.3f},{i % 5 / 5:.3f},{'abc'[i % 3]}" for i in range(90)]
(tmp / "table.csv").write_text("\n".join(rows) + "\n")
exts = ["png", "jpg", "bmp", "gif", "tiff", "webp", "ppm", "pgm"]
for k in range(10):
    for j, ext in enumerate(exts):
        d = tmp / "images" / f"class{k}"
        d.mkdir(parents=True, exist_ok=True)
        im = Image.new("RGB" if ext != "pgm" else "L", (12, 12), (25 * k, 10 * j, 128) if ext != "pgm" else 25 * k)
        im.save(d / f"img{j}.{ext}")
"""


def training_process(project: Path, run_dir: Path) -> str:
    """Trains `project` one epoch in the app's own training process, as the GUI does, then asks it for
    saliency maps (gradient, integrated gradients, Grad-CAM); returns what was checked."""
    from layerlab.core.project import Project
    from layerlab.core.train import process
    old = sys.executable
    sys.executable = str(app)           # the GUI starts the child from its own executable
    try:
        proc = process.TrainingProcess()
    finally:
        sys.executable = old
    try:
        proc.wait_ready(120)
        data = json.loads(project.read_text())
        data["training"]["epochs"] = 1
        data["training"]["device"] = "cpu"
        proj = Project.from_dict(data)
        proc.send("train", {"project": proj.to_dict(), "base_dir": str(project.parent), "run_dir": str(run_dir),
                            "resume_from": None})
        status = None
        while status is None:
            msg = proc.receive(300)
            assert msg is not None, "the training process stopped sending"
            assert msg[0] != "crashed", msg
            if msg[0] == "ended":
                status = msg[1]
        assert status == "finished", status
        methods = ("gradient", "integrated_gradients", "gradcam")
        for m in methods:
            proc.send("inspect", "saliency", {"index": 0, "method": m})
            msg = proc.receive(120)
            while msg is not None and msg[0] != "job":
                msg = proc.receive(120)
            assert msg is not None and not msg[3], f"saliency {m}: {msg}"
        return f"saliency ({', '.join(methods)})"
    finally:
        proc.close()


@contextlib.contextmanager
def postgres():
    """A throw-away PostgreSQL cluster (tests/postgres_cluster.py, as the sweep test starts one);
    yields its URL, or None when PostgreSQL's binaries are missing."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.postgres_cluster import binary, cluster
    if not (binary("initdb") and binary("pg_ctl")):
        yield None
        return
    with cluster("layerlab-smoke-pg-") as url:
        yield url


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
    # the same sweep on a PostgreSQL server (psycopg), where one can be started here
    with postgres() as url:
        if url:
            call("sweep", str(project), "--trials", "1", "--epochs", "1", "--no-baseline", "--sampler", "random",
                 "--param", "training.lr=1e-3:1e-1:log", "--storage", url, "--out", str(tmp / "pg_sweeps"))
        postgres_note = "PostgreSQL sweep trial" if url else "no PostgreSQL here: its sweep skipped"
    # every other export format and quantization: torch.export (.pt2) and ONNX go through dynamo, FX and
    # sympy; the source export and int8-static / fp16 through more of LayerLab and onnxruntime
    for fmt, out in (("pt2", "model.pt2"), ("source", "src/model.py"), ("native", "native")):
        call("export", str(run), "--format", fmt, "--out", str(tmp / out))
        assert (tmp / out).exists(), fmt
    for q in ("int8-static", "fp16"):
        call("export", str(run), "--format", "onnx", "--quantize", q, "--out", str(tmp / f"{q}.onnx"))
    # the ONNX model back as an editable project
    call("import", str(onnx), "--out", str(tmp / "imported"))
    assert "[B, 10]" in call("validate", str(next((tmp / "imported").glob("*.layerlab.json"))))
    call("lr-find", str(project), "--steps", "20")
    call("explore-init", str(project), "--inits", "he_normal,xavier_normal", "--batch", "64")
    call("calibrate", str(run))
    call("repeat", str(project), "--seeds", "2", "--epochs", "1", "--out", str(tmp / "repeats"))
    # data sources beyond the built-in tables: a CSV file (csv module + numpy) and an image folder (Pillow, every
    # format the image source reads), each trained one epoch
    gen = subprocess.run([sys.executable, "-c", DATA_FILES, str(tmp)], capture_output=True, text=True)
    assert gen.returncode == 0, gen.stderr
    for name, template, data in (
            ("csv_mlp", "mlp", {"dataset": "csv", "path": "table.csv", "target": "label"}),
            ("images_cnn", "digits_cnn", {"dataset": "images", "path": "images",
                                          "options": {"size": 8, "grayscale": True}})):
        doc = json.loads(next((app.parent / "_internal").rglob(f"{template}.layerlab.json")).read_text())
        doc["data"].update(data)
        (tmp / f"{name}.layerlab.json").write_text(json.dumps(doc))
    for name in ("csv_mlp", "images_cnn"):
        call("train", str(tmp / f"{name}.layerlab.json"), "--epochs", "1", "--device", "cpu",
             "--out", str(tmp / f"run_{name}"))
    # two DDP workers (`train --nproc 2`: torchrun and its workers are the app started with -m)
    call("train", str(project), "--epochs", "1", "--device", "cpu", "--nproc", "2", "--out", str(tmp / "run_ddp"))
    assert (tmp / "run_ddp" / "result.json").is_file(), sorted(os.listdir(tmp / "run_ddp"))
    # a next-token run on the built-in text, then sampling from it
    text = tmp / "text.layerlab.json"
    shutil.copy(next((app.parent / "_internal").rglob("tiny_transformer.layerlab.json")), text)
    call("train", str(text), "--epochs", "1", "--device", "cpu", "--out", str(tmp / "run_text"))
    assert len(call("generate", str(tmp / "run_text"), "--length", "20")) > 5
    # the GUI's training process (the app started as `LayerLab -m layerlab.core.train.child FD`):
    # one epoch, then the dashboard's saliency views (Captum) on the live model
    child_views = training_process(project, tmp / "run_gui")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

# every file once: symlinks count as links, not as the file they point to
size = sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(app.parent) for f in fs) / 2**20
print(f"smoke test passed: validate, GUI screenshot ({shot_kb} KB), "
      f"train 1 epoch, ONNX export (max |ort - torch| {diff:.1e}), model card, training script, "
      f"int8 ONNX, one sweep trial, pt2 / source / native / int8-static / fp16 exports, ONNX import, "
      f"lr-find, explore-init, calibrate, repeat, CSV and image-folder training, two DDP workers, text training and generate, "
      f"GUI training process with {child_views}, {postgres_note}")
print(json.dumps({"name": "package_size_mb", "value": round(size, 1), "unit": "MB", "reference": 600,
                  "ratio": round(size / 600, 3), "note": "dist/LayerLab, one-folder PyInstaller bundle"}))
