"""`ddp2_vs_1proc`: training samples/s of `layerlab train --nproc 2` (DistributedDataParallel,
gloo, 2 worker processes) versus the same worker code in 1 process, on the digits CNN template.

Both runs use core.distributed's worker, so the loop, data and model are the same; the samples/s
figure is the workers' own training throughput (process start-up and data loading excluded).
The global batch is 64 in both (32 per rank with 2 ranks). The reference is the faster of one
process with 1 thread and with every core (small convolutions often run faster on one thread,
more so on a loaded machine). On a 2-core machine little gain is expected: DDP splits the same
cores and adds a gradient all-reduce per step."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from layerlab.core.distributed import launch_command
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path

from .common import figure

EPOCHS = 3


def _run(cmd: list[str], env: dict[str, str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])}… failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        project = load_project(template_path("digits_cnn"))
        project.training.epochs = EPOCHS
        project.training.device = "cpu"
        path = Path(tmp) / "digits.layerlab.json"
        save_project(project, path)
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "LAYERLAB_THREADS")}
        one = {}
        for threads in sorted({1, cores}):       # the better single-process set-up is the reference
            one[threads] = _run([sys.executable, "-m", "layerlab.core.distributed", str(path), "--json", "--quiet",
                                 "--out", str(Path(tmp) / f"one{threads}")], {**env, "LAYERLAB_THREADS": str(threads)})
        two = _run(launch_command(path, 2, ["--json", "--quiet", "--out", str(Path(tmp) / "two")]),
                   {**env, "OMP_NUM_THREADS": str(max(1, cores // 2))})
    best = max(one, key=lambda t: one[t]["samples_per_s"])
    singles = ", ".join(f"{t} thread(s) {r['samples_per_s']:.0f}" for t, r in one.items())
    return [figure("ddp2_vs_1proc", two["samples_per_s"], "samples/s", one[best]["samples_per_s"],
                   note=f"digits CNN, {EPOCHS} epochs, global batch 64, {cores} CPU core(s): 2 gloo DDP workers "
                        f"({max(1, cores // 2)} thread(s) each) vs the faster 1-process run ({singles} samples/s); "
                        f"val_accuracy {two['val_metrics'].get('val_accuracy', 0):.3f} vs "
                        f"{one[best]['val_metrics'].get('val_accuracy', 0):.3f}")]


if __name__ == "__main__":
    for fig in run():
        print(json.dumps(fig))
