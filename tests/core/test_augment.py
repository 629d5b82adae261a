"""Data augmentation (issue 12): per-sample batched transforms on the device, seeded from the run;
honoured alike by the trainer, a DDP worker and the exported script; flagged by preflight where a
flip changes the label; and on digits with a quarter of the training split it raises test accuracy."""
import dataclasses
import json
import subprocess

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from layerlab.core import distributed
from layerlab.core.data import load
from layerlab.core.export import export, standalone
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path
from layerlab.core.specs import AUGMENTS, DEFAULT_IMAGE_AUGMENT, TrainSpec
from layerlab.core.train import Trainer
from layerlab.core.train.augment import build_augmenter as build, preview
from layerlab.core.train.checks import preflight


def _seeded(settings, x, seed=0):
    aug = build(settings, x)
    aug.reseed(torch.Generator().manual_seed(seed))
    return aug


def test_off_builds_nothing_and_settings_of_another_kind_are_ignored():
    x = torch.randn(8, 1, 8, 8)
    assert build({}, x) is None and build({"rotate": 0.0}, x) is None
    assert build({"rotate": 10.0}, torch.randn(8, 4)) is None          # tabular: only noise applies
    assert build({"noise": 0.1}, torch.randint(0, 5, (8, 6))) is None  # sequence: only token dropout


def test_crop_with_padding_shifts_by_whole_pixels_and_hflip_mirrors():
    x = torch.randn(32, 2, 8, 8)
    out = _seeded({"crop_pad": 2}, x).transform(x)
    padded = F.pad(x, (2, 2, 2, 2))
    for i in range(32):
        shifts = [padded[i, :, 2 + dy:10 + dy, 2 + dx:10 + dx] for dy in range(-2, 3) for dx in range(-2, 3)]
        assert any(torch.allclose(out[i], s, atol=1e-6) for s in shifts), i
    assert torch.allclose(_seeded({"hflip": 1.0}, x).transform(x), x.flip(-1), atol=1e-6)
    assert torch.allclose(_seeded({"vflip": 1.0}, x).transform(x), x.flip(-2), atol=1e-6)


def test_every_transform_is_per_sample_seeded_and_finite():
    x = torch.randn(16, 1, 8, 8).repeat(1, 1, 1, 1)
    x = x[:1].expand(16, -1, -1, -1).contiguous()      # 16 copies of one image
    every = {k: (2 if k == "crop_pad" else min(0.4, AUGMENTS[k][2])) for k in AUGMENTS}
    a, b = _seeded(every, x, 3).transform(x), _seeded(every, x, 3).transform(x)
    assert torch.equal(a, b) and torch.isfinite(a).all()
    assert not torch.equal(a, _seeded(every, x, 4).transform(x))
    distinct = {tuple(t.flatten().tolist()) for t in a}
    assert len(distinct) == 16, "each sample draws its own parameters"
    assert preview(every, x, 1).shape == x.shape


def test_mixup_mixes_the_loss_with_the_partners_labels():
    x, y = torch.randn(8, 1, 4, 4), torch.arange(8)
    aug = _seeded({"mixup": 0.4}, x)
    seen = []
    xb, lf = aug(x, y, lambda out, t: seen.append(t.clone()) or torch.tensor(1.0))
    assert float(lf(None, y)) == pytest.approx(1.0)
    assert torch.equal(seen[0], y) and sorted(seen[1].tolist()) == list(range(8))
    xt, lt = _seeded({"noise": 0.5}, torch.randn(8, 3))(torch.randn(8, 3), y, F.cross_entropy)
    assert lt is F.cross_entropy


def test_spec_refuses_unknown_and_out_of_range_settings():
    assert TrainSpec().augment == {} and TrainSpec(augment=dict(DEFAULT_IMAGE_AUGMENT)).problems() == []
    assert "unknown" in TrainSpec(augment={"twirl": 1.0}).problems()[0]
    assert "from 0.0 to 45.0" in TrainSpec(augment={"rotate": 90.0}).problems()[0]
    assert TrainSpec(augment={"erase": float("nan")}).problems()


def test_preflight_warns_of_a_flip_on_digits_with_the_fix():
    p = load_project(template_path("digits_cnn"))
    p.training.augment = {"hflip": 0.5, "rotate": 10.0}
    found = [w for w in preflight(p, load(p.data)) if "mirrored" in w.message]
    assert len(found) == 1 and found[0].severity == "warning"
    assert "hflip on digits" in found[0].message and "hflip to 0" in found[0].fix
    p.training.augment = dict(DEFAULT_IMAGE_AUGMENT)
    moved = [w for w in preflight(p, load(p.data)) if "augment" in w.message]
    assert len(moved) == 1 and "each pixel position" in moved[0].message and "preprocessing to none" in moved[0].fix
    p.data.preprocessing = "none"
    assert not [w for w in preflight(p, load(p.data)) if "augment" in w.message]
    q = load_project(template_path("mlp"))
    q.training.augment = {"rotate": 10.0}
    assert any("does not apply" in w.message for w in preflight(q, load(q.data)))


def test_trainer_worker_and_script_agree_with_augmentation(tmp_path):
    """Tabular noise through all three paths: the same seeded draws, bit for bit on the CPU."""
    project = load_project(template_path("mlp"))
    project.training.epochs, project.training.augment = 2, {"noise": 0.1}
    path = tmp_path / "mlp.layerlab.json"
    save_project(project, path)
    assert Trainer(project, run_dir=tmp_path / "trainer").fit().status == "finished"
    assert distributed.launch(path, 1, ["--out", str(tmp_path / "worker"), "--json"], timeout=240) == 0
    script = export(project, None, "train-script", tmp_path / "train_mlp.py")[0]
    out = subprocess.run(standalone.script_command(script, "--out", str(tmp_path / "script")),
                         cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    want = load_file(tmp_path / "trainer" / "last.safetensors")
    plain = Trainer(dataclasses.replace(project, training=dataclasses.replace(project.training, augment={})),
                    run_dir=tmp_path / "plain").fit()
    assert plain.status == "finished"
    assert any(not torch.equal(t, want[k]) for k, t in load_file(tmp_path / "plain" / "last.safetensors").items())
    for other in ("worker", "script"):
        got = load_file(tmp_path / other / "last.safetensors")
        assert [k for k in want if not torch.equal(got[k], want[k])] == [], other


def small_cnn(seed: int):
    """digits_cnn with 8/8/16 filters; raw pixels (preprocessing none): per-pixel standardizing gives
    each position its own scale, so a rotated stroke lands on pixels scaled for another place."""
    p = load_project(template_path("digits_cnn"))
    for nid, filters in (("n2", 8), ("n5", 8), ("n9", 16)):
        p.graph.set_param(nid, "filters", filters)
    t = p.training
    p.data.preprocessing = "none"
    t.epochs, t.device, t.seed, t.probe_every, t.lr = 80, "cpu", seed, 0, 0.005
    return p


def test_augmentation_raises_accuracy_on_a_quarter_of_digits(tmp_path):
    p = small_cnn(0)
    ds = load(p.data)
    keep = ds.x_train.shape[0] // 4
    quarter = dataclasses.replace(ds, x_train=ds.x_train[:keep], y_train=ds.y_train[:keep])
    acc = {"none": [], "augmented": []}
    for seed in (0, 1, 2):
        for name, settings in (("none", {}), ("augmented", dict(DEFAULT_IMAGE_AUGMENT))):
            q = small_cnn(seed)
            q.training.augment = settings
            r = Trainer(q, dataset=quarter, run_dir=tmp_path / f"{name}{seed}").fit()
            assert r.status == "finished", r.message
            acc[name].append(r.test_metrics["test_accuracy"])
    mean = {k: sum(v) / len(v) for k, v in acc.items()}
    message = (f"test accuracy on {keep} training digits, mean of 3 seeds: augmented {mean['augmented']:.4f} "
               f"vs none {mean['none']:.4f} ({acc})")
    print(message)
    assert mean["augmented"] > mean["none"], message
