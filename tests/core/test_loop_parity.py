"""One epoch loop (core.train.epochs) behind every kind of run: the in-app trainer, a DDP worker
with one process (`layerlab train --nproc 1`, under torchrun) and the exported train script end a
seeded run with the same weights, bit for bit on the CPU."""
import json
import subprocess

import torch
from safetensors.torch import load_file

from layerlab.core import distributed
from layerlab.core.export import export, standalone
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path


def test_trainer_ddp_worker_and_script_end_with_identical_weights(tmp_path):
    from layerlab.core.train import Trainer

    project = load_project(template_path("mlp"))
    spec = project.training
    spec.epochs, spec.schedule = 3, "cosine"          # a per-step schedule
    spec.weight_decay, spec.clip = 1e-3, "norm"       # decay before the step, clipping after backward
    path = tmp_path / "mlp.layerlab.json"
    save_project(project, path)

    trainer = Trainer(project, run_dir=tmp_path / "trainer").fit()
    assert trainer.status == "finished" and trainer.epochs_run == 3

    code = distributed.launch(path, 1, ["--out", str(tmp_path / "worker"), "--json"], timeout=240)
    assert code == 0

    script = export(project, None, "train-script", tmp_path / "train_mlp.py")[0]
    out = subprocess.run(standalone.script_command(script, "--out", str(tmp_path / "script")),
                         cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads((tmp_path / "script" / "result.json").read_text())["epochs_run"] == 3

    want = load_file(tmp_path / "trainer" / "last.safetensors")
    assert want and all(t.numel() for t in want.values())
    for other in ("worker", "script"):
        got = load_file(tmp_path / other / "last.safetensors")
        assert got.keys() == want.keys(), other
        differ = [k for k in want if not torch.equal(got[k], want[k])]
        assert differ == [], f"{other}: {differ} differ (max {max((got[k] - want[k]).abs().max() for k in differ)})"
