"""LayerLab against the tools people would use instead, each in its own process on the same split
of digits, the same network, batch, optimizer (Adam) and epochs, one thread, repeats interleaved,
medians. Needs the `bench` extra (Lightning, Keras 3); a peer that is not installed is reported as
missing, not skipped silently.

- train_<model>_vs_<peer>: LayerLab's samples/s over the peer's (Trainer.fit's whole loop with
  validation, metrics, checkpoints and default probes, against the peer's fit). Targets ≥ 1.5 for
  Lightning and Keras, ≥ 1.0 for the hand loop and scikit-learn.
- train_setup_s: `layerlab train` from process start to its first optimizer step, on the spiral
  template and the digits MLP (the slower of the two; both in the note, with what `import torch`
  alone takes in the same run). Target ≤ 1.5 s.
- train_mlp_step_us: one digits-MLP step taken apart (forward, loss, zero_grad, backward, the
  optimizer step through optimizer.step() and through FusedStep), µs; ratio < 1: FusedStep's gain.
- train_<model>_vs_handloop_tuned: against the hand loop with what LayerLab resolves on CPU done by
  hand (channels_last for the CNN, fused Adam): torch eager at its best, no target; the Lightning and
  Keras notes say how far above it their 1.5 targets lie.
- cnn_conv_gflops_vs_gemm: the digits CNN's three convolutions, forward and backward at batch 64
  (channels_last, oneDNN, one thread), in GFLOP/s, over a 512³ float32 matmul's rate in the same
  run; the note gives their share of a whole training step. A ratio near 1 with a large share means
  the step is bound by torch's convolution kernels, which no loop around them can beat.
- cli_end_to_end_vs_sklearn: wall time of `layerlab train` (process start to exit) over that of a
  scikit-learn script doing the same (load digits, split, standardize, fit, score). Target ≤ 1.5.
"""
from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import figure, median_time

ROOT = Path(__file__).resolve().parents[2]
PEERS = {"layerlab": ("layerlab_fit",), "hand": ("hand_loop",), "hand_tuned": ("hand_loop", "--tuned"),
         "lightning": ("lightning_fit",), "keras": ("keras_fit",), "sklearn": ("sklearn_fit",)}
FIGURE = {"hand": "handloop", "hand_tuned": "handloop_tuned"}     # peer -> its figure's name
NEEDS = {"lightning": "lightning", "keras": "keras", "sklearn": "sklearn"}
SETS = {"mlp": dict(epochs=100, batch=200, lr=1e-3,
                   peers=("layerlab", "hand", "hand_tuned", "lightning", "keras", "sklearn")),
        "cnn": dict(epochs=4, batch=64, lr=2e-3, peers=("layerlab", "hand", "hand_tuned", "lightning", "keras"))}


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("QT_QPA_PLATFORM", None)
    return env


def _save_split(path: Path) -> int:
    from tests.bench.peers.projects import project_for
    from layerlab.core.data import load

    ds = load(project_for("mlp", 1, 1, 1e-3).data)
    np.savez(path, x_train=ds.x_train.numpy(), y_train=ds.y_train.numpy(), x_test=ds.x_test.numpy(),
             y_test=ds.y_test.numpy())
    return len(ds.x_train)


def _run_peer(peer: str, model: str, data: Path, cfg: dict) -> dict:
    module, *flags = PEERS[peer]
    cmd = [sys.executable, "-m", f"tests.bench.peers.{module}", "--data", str(data), "--model", model,
           "--epochs", str(cfg["epochs"]), "--batch", str(cfg["batch"]), "--lr", str(cfg["lr"]), *flags]
    out = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=900)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        raise RuntimeError(f"{peer} {model} failed ({out.returncode}): {out.stderr.strip()[-400:]}")
    return json.loads(lines[-1])


def _installed(peer: str) -> bool:
    return peer not in NEEDS or importlib.util.find_spec(NEEDS[peer]) is not None


def _throughput(repeats: int) -> list[dict]:
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "digits.npz"
        n_train = _save_split(data)
        for model, cfg in SETS.items():
            peers = [p for p in cfg["peers"] if _installed(p)]
            rates: dict[str, list[float]] = {p: [] for p in peers}
            accs: dict[str, list[float]] = {p: [] for p in peers}
            for r in range(repeats):
                for p in peers[r % len(peers):] + peers[:r % len(peers)]:   # rotate: load hits all alike
                    res = _run_peer(p, model, data, cfg)
                    rates[p].append(res["samples_per_s"])
                    accs[p].append(res["test_accuracy"])
            ours = statistics.median(rates["layerlab"])
            for p in cfg["peers"]:
                if p == "layerlab":
                    continue
                name = f"train_{model}_vs_{FIGURE.get(p, p)}"
                if p not in rates:
                    figures.append({"name": name, "error": f"{NEEDS[p]} is not installed: pip install -e '.[bench]'"})
                    continue
                theirs = statistics.median(rates[p])
                ratio = statistics.median(a / b for a, b in zip(rates["layerlab"], rates[p]))
                figures.append(figure(
                    name, ours, "samples/s", theirs, ratio,
                    note=f"digits {model}, {n_train} train samples x {cfg['epochs']} epochs, batch {cfg['batch']}, "
                         f"Adam, 1 thread, each tool in its own process; test accuracy LayerLab "
                         f"{statistics.median(accs['layerlab']):.3f} vs {statistics.median(accs[p]):.3f}; "
                         f"ratio = median of {repeats} interleaved pairs; {_version(p)}{_ceiling(p, rates)}"))
    return figures


def _ceiling(peer: str, rates: dict[str, list[float]]) -> str:
    """For Lightning and Keras: how far the 1.5 target lies above torch eager at its best, i.e. how
    fast a loop of torch's own kernels would have to go to meet it."""
    if peer not in ("lightning", "keras") or "hand_tuned" not in rates:
        return ""
    need = 1.5 * statistics.median(rates[peer]) / statistics.median(rates["hand_tuned"])
    return f"; 1.5x this peer = {need:.2f}x the tuned hand loop (LayerLab's CPU choices made by hand)"


def _version(peer: str) -> str:
    mod = {"lightning": "lightning", "keras": "keras", "sklearn": "sklearn", "hand": "torch",
           "hand_tuned": "torch"}.get(peer)
    if not mod:
        return ""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return f"{mod} {version('scikit-learn' if mod == 'sklearn' else mod)}"
    except PackageNotFoundError:
        return mod


SKLEARN_SCRIPT = """
import numpy as np, warnings
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
warnings.filterwarnings("ignore")
x, y = load_digits(return_X_y=True)
xt, xs, yt, ys = train_test_split(x.astype(np.float32), y, test_size=0.3, stratify=y, random_state=0)
sc = StandardScaler().fit(xt)
clf = MLPClassifier(hidden_layer_sizes=(64,), alpha=0.0, batch_size=200, max_iter={epochs}, tol=0.0,
                    n_iter_no_change={epochs} + 1, random_state=0).fit(sc.transform(xt), yt)
print(clf.score(sc.transform(xs), ys))
"""


def _end_to_end(repeats: int, epochs: int = 300) -> list[dict]:
    from tests.bench.peers.projects import project_for
    from layerlab.core.project import save_project

    walls: dict[str, list[float]] = {"layerlab": [], "sklearn": []}
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp) / "digits_mlp.layerlab.json"
        save_project(project_for("mlp", epochs, 200, 1e-3), proj)
        layerlab = [str(Path(sys.executable).with_name("layerlab")), "train", str(proj), "--out"]
        for r in range(repeats):
            for tool in (("layerlab", "sklearn") if r % 2 == 0 else ("sklearn", "layerlab")):
                cmd = layerlab + [str(Path(tmp) / f"run{r}")] if tool == "layerlab" else \
                    [sys.executable, "-c", SKLEARN_SCRIPT.format(epochs=epochs)]
                t0 = time.perf_counter()
                out = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=900)
                walls[tool].append(time.perf_counter() - t0)
                if out.returncode:
                    raise RuntimeError(f"{tool} end to end failed: {out.stderr.strip()[-400:]}")
    ours, theirs = statistics.median(walls["layerlab"]), statistics.median(walls["sklearn"])
    return [figure("cli_end_to_end_vs_sklearn", ours, "s", theirs, ours / theirs,
                   note=f"`layerlab train` digits MLP {epochs} epochs, process start to exit, against a scikit-learn "
                        f"script doing the same; ratio = LayerLab's wall time over scikit-learn's (target ≤ 1.5); "
                        f"median of {repeats}")]


FIRST_STEP = """
import os, sys, time
import torch.optim.optimizer as o

def first(*_):
    with open(os.environ["LAYERLAB_BENCH_FIRST_STEP"], "w") as f:
        f.write(f"{time.time()!r} {time.process_time()!r}")
    handle.remove()

handle = o.register_optimizer_step_post_hook(first)
from layerlab.core.cli import main
sys.argv = ["layerlab", *sys.argv[1:]]
main()
"""


def load_note() -> str:
    return "load average {:.2f} {:.2f} {:.2f} on {} CPUs".format(*os.getloadavg(), os.cpu_count())


def _setup(repeats: int) -> list[dict]:
    """Process start to first optimizer step of `layerlab train`, spiral and digits MLP, interleaved
    with a bare `python -c 'import torch'` (the floor any torch program pays)."""
    from tests.bench.peers.projects import project_for
    from layerlab.core.project import save_project
    from layerlab.core.resources import template_path

    times: dict[str, list[float]] = {"spiral": [], "digits_mlp": [], "import torch": []}
    cpu: dict[str, list[float]] = {"spiral": [], "digits_mlp": []}
    with tempfile.TemporaryDirectory() as tmp:
        projects = {"spiral": Path(tmp) / "spiral.layerlab.json", "digits_mlp": Path(tmp) / "digits.layerlab.json"}
        projects["spiral"].write_bytes(template_path("mlp").read_bytes())
        save_project(project_for("mlp", 1, 200, 1e-3), projects["digits_mlp"])
        mark = Path(tmp) / "first_step"
        env = dict(_env(), LAYERLAB_BENCH_FIRST_STEP=str(mark))
        for r in range(repeats):
            order = list(times)[r % 3:] + list(times)[:r % 3]
            for what in order:
                if what == "import torch":
                    t0 = time.time()
                    subprocess.run([sys.executable, "-c", "import torch"], env=env, check=True, timeout=300)
                    times[what].append(time.time() - t0)
                    continue
                mark.unlink(missing_ok=True)
                cmd = [sys.executable, "-c", FIRST_STEP, "train", str(projects[what]), "--epochs", "1",
                       "--out", str(Path(tmp) / f"run-{what}-{r}")]
                t0 = time.time()
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
                if out.returncode or not mark.is_file():
                    raise RuntimeError(f"train_setup {what} failed: {out.stderr.strip()[-400:]}")
                wall, cpu_s = map(float, mark.read_text().split())
                times[what].append(wall - t0)
                cpu[what].append(cpu_s)
    med = {k: statistics.median(v) for k, v in times.items()}
    worst = max(med["spiral"], med["digits_mlp"])
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    return [figure("train_setup_s", worst, "s", 1.5,
                   note=f"`layerlab train` process start to first optimizer step, median of {repeats}: spiral "
                        f"{med['spiral']:.2f} s, digits MLP {med['digits_mlp']:.2f} s (CPU time of the process until then: "
                        f"{cpu_med['spiral']:.2f} s, {cpu_med['digits_mlp']:.2f} s); `python -c 'import torch'` "
                        f"{med['import torch']:.2f} s in the same run; reference: the 1.5 s target; {load_note()}")]


def _step_parts(steps: int = 3000) -> list[dict]:
    """What one training step of the digits MLP is made of, in µs (LayerLab's network, loss and
    data; one thread): forward, loss, zero_grad (p.grad = None), backward (autograd), and the
    optimizer step through `optimizer.step()` against FusedStep (torch's fused kernel called
    directly), the two timed on alternate steps of the same run."""
    from tests.bench.peers.projects import project_for
    from layerlab.core.data import load
    from layerlab.core.train.fused_step import FusedStep
    from layerlab.core.train.setup import build, num_threads

    project = project_for("mlp", 1, 200, 1e-3)
    s = build(project, load(project.data))
    model, loss_fn, opt = s.compiled.module, s.loss_fn, s.optimizer
    fused = FusedStep(opt)
    x, y = s.data["x_train"], s.data["y_train"]
    params = [p for g in opt.param_groups for p in g["params"]]
    parts = dict.fromkeys(("forward", "loss", "zero_grad", "backward", "optimizer.step()", "FusedStep"), 0.0)
    counted = dict.fromkeys(parts, 0)
    clock = time.perf_counter
    with num_threads(1):
        for i in range(steps + 200):
            k = (i % 6) * 200
            t0 = clock()
            out = model(x[k:k + 200])
            t1 = clock()
            loss = loss_fn(out, y[k:k + 200])
            t2 = clock()
            for p in params:
                p.grad = None
            t3 = clock()
            loss.backward()
            t4 = clock()
            which = "FusedStep" if i % 2 else "optimizer.step()"
            fused() if i % 2 else opt.step()
            t5 = clock()
            if i >= 200:
                for name, a, b in (("forward", t0, t1), ("loss", t1, t2), ("zero_grad", t2, t3), ("backward", t3, t4),
                                   (which, t4, t5)):
                    parts[name] += b - a
                    counted[name] += 1
    us = {k: parts[k] / max(counted[k], 1) * 1e6 for k in parts}
    common = us["forward"] + us["loss"] + us["zero_grad"] + us["backward"]
    ours, theirs = common + us["FusedStep"], common + us["optimizer.step()"]
    return [figure("train_mlp_step_us", ours, "µs", theirs, ours / theirs,
                   note="digits MLP 64-64-10, batch 200, Adam (fused), 1 thread, per step: " +
                        ", ".join(f"{k} {v:.1f}" for k, v in us.items()) +
                        f" µs; value: a step with FusedStep, reference: with optimizer.step(); {load_note()}")]


def _conv_rate(reps: int = 40) -> list[dict]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    from tests.bench.peers.torch_models import build
    from layerlab.core.train.setup import num_threads

    with num_threads(1):
        model = build("cnn").to(memory_format=torch.channels_last)
        shapes: list = []
        hooks = [m.register_forward_hook(lambda m, i, o: shapes.append((m, i[0].shape)))
                 for m in model.modules() if isinstance(m, nn.Conv2d)]
        x = torch.randn(64, 1, 8, 8).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (64,))
        model(x)
        for h in hooks:
            h.remove()
        flops, conv_s = 0.0, 0.0
        for i, (conv, shape) in enumerate(shapes):
            xin = torch.randn(shape).contiguous(memory_format=torch.channels_last).requires_grad_(i > 0)
            out = conv(xin)
            macs = out.numel() * conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
            flops += 2 * macs * (3 if i > 0 else 2)       # forward, weight grad, input grad (not the first)
            g = torch.ones_like(out)
            conv_s += median_time(lambda: conv(xin).backward(g), reps, warmup=5)
        opt = torch.optim.Adam(model.parameters(), fused=True)

        def step():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        step_s = median_time(step, reps, warmup=5)
        a, b = torch.randn(512, 512), torch.randn(512, 512)
        gemm = 2 * 512 ** 3 / median_time(lambda: a @ b, reps // 2, warmup=3) / 1e9
    rate = flops / conv_s / 1e9
    return [figure("cnn_conv_gflops_vs_gemm", rate, "GFLOP/s", gemm, rate / gemm,
                   note=f"digits CNN, 3 convolutions forward + backward at batch 64, channels_last, 1 thread: "
                        f"{conv_s * 1e3:.2f} ms of a {step_s * 1e3:.2f} ms training step (channels_last, fused "
                        f"Adam), {100 * conv_s / step_s:.0f} %; reference: a 512x512 float32 matmul's GFLOP/s; "
                        f"{load_note()}")]


def run(repeats: int = 5) -> list[dict]:
    return (_setup(max(repeats, 5)) + _step_parts() + _conv_rate() + _throughput(repeats)
            + _end_to_end(repeats))


if __name__ == "__main__":
    for fig in run():
        print(json.dumps(fig))
