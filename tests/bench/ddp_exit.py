"""`ddp_exit_clean` and `train_script_exit_clean` (issue 17): how many of RUNS data-parallel runs
of the spiral MLP end with exit 0 and no abort at shutdown ("terminate called without an active
exception"), for `layerlab train --nproc 2` and for the exported train script under
`torchrun --nproc_per_node 2`. Each run trains EPOCHS epochs: the abort came after training, so
the count of runs matters, not their length. `make reliability` runs these with the other
reliability figures; alone: `python -c "from tests.bench import ddp_exit; print(ddp_exit.run())"`."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import figure

RUNS = int(os.environ.get("LAYERLAB_EXIT_RUNS", "50"))
EPOCHS = 2
ABORT = "terminate called"


def _project(tmp: Path) -> Path:
    from layerlab.core.project import load_project, save_project
    from layerlab.core.resources import template_path

    project = load_project(template_path("mlp"))
    project.training.epochs = EPOCHS
    path = tmp / "spiral.layerlab.json"
    save_project(project, path)
    return path


def _count(label: str, commands, env: dict[str, str]) -> dict:
    clean, failures, t0 = 0, [], time.perf_counter()
    for i, cmd in enumerate(commands):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        if out.returncode == 0 and ABORT not in out.stderr:
            clean += 1
        else:
            why = "abort at exit" if ABORT in out.stderr else (out.stderr.strip().splitlines() or ["?"])[-1][:160]
            failures.append(f"run {i + 1}: exit {out.returncode}, {why}")
    note = (f"{clean}/{RUNS} runs exit 0 with no abort ({EPOCHS} epochs each, 2 gloo workers, "
            f"{time.perf_counter() - t0:.0f} s)" + (f"; {'; '.join(failures[:5])}" if failures else ""))
    return figure(label, clean, "clean runs", RUNS, note=note)


def run() -> list[dict]:
    from layerlab.core.distributed import launch_command
    from layerlab.core.export import export, standalone

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = _project(tmp)
        layerlab = (launch_command(path, 2, ["--out", str(tmp / f"run{i}"), "--quiet"]) for i in range(RUNS))
        figs = [_count("ddp_exit_clean", layerlab, env)]
        from layerlab.core.project import load_project
        script = export(load_project(path), None, "train-script", tmp / "train_spiral.py")[0]
        python = standalone.launcher(tmp)
        scripts = ([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                    "--no-python", str(python), str(script), "--quiet", "--out", str(tmp / f"script{i}")]
                   for i in range(RUNS))
        figs.append(_count("train_script_exit_clean", scripts, env))
    return figs


