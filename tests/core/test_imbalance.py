"""Class imbalance (issue 12): class weights in the loss, the balanced sampler, the per-class
report, and the preflight checks; measured on a 95/5 two-class set with real training."""
import json
import subprocess

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from layerlab.core.distributed.shard import shard_indices
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path
from layerlab.core.specs import TrainSpec
from layerlab.core.train import Trainer
from layerlab.core.train.checks import preflight
from layerlab.core.train.imbalance import balanced_draw, class_counts, imbalance, loss_weights, sampler_cdf
from layerlab.core.train.losses import build_loss
from layerlab.core.train.metrics import class_report


def imbalanced_project(tmp_path, n0=3800, n1=200, epochs=5):
    """The mlp template on two overlapping Gaussians, 95 % class 0 and 5 % class 1 (an npz file)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (n0, 2)), rng.normal(1.5, 1, (n1, 2))]).astype(np.float32)
    np.savez(tmp_path / "imb.npz", X=x, y=np.array([0] * n0 + [1] * n1))
    p = load_project(template_path("mlp"))
    p.graph.set_param("n6", "units", 2)
    p.data.dataset, p.data.path, p.data.task = "npz", "imb.npz", "classification"
    p.training.epochs, p.training.device = epochs, "cpu"
    return p


def minority_recall(p, tmp_path, name):
    r = Trainer(p, base_dir=tmp_path, run_dir=tmp_path / name).fit()
    assert r.status == "finished", r.message
    saved = json.loads((tmp_path / name / "result.json").read_text())
    assert saved["class_report"]["test"]["recall"] == r.class_report["test"]["recall"]
    return r.class_report["test"]["recall"][1]


def test_balanced_weights_and_sampler_raise_minority_recall(tmp_path):
    p = imbalanced_project(tmp_path)
    plain = minority_recall(p, tmp_path, "none")
    p.training.class_weights = "balanced"
    weighted = minority_recall(p, tmp_path, "weighted")
    p.training.class_weights, p.training.sampler = "none", "balanced"
    sampled = minority_recall(p, tmp_path, "sampled")
    assert weighted > plain + 0.2, f"minority recall: balanced weights {weighted:.3f} vs none {plain:.3f}"
    assert sampled > plain + 0.2, f"minority recall: balanced sampler {sampled:.3f} vs none {plain:.3f}"


def test_custom_weights_of_the_wrong_length_are_refused_in_one_line(tmp_path):
    p = imbalanced_project(tmp_path)
    p.training.class_weights, p.training.custom_class_weights = "custom", [1.0, 5.0, 2.0]
    r = Trainer(p, base_dir=tmp_path, run_dir=tmp_path / "run").fit()
    assert r.status == "failed" and "\n" not in r.message
    assert "custom_class_weights has 3 weights" in r.message and "2 classes" in r.message, r.message
    assert "one weight per class (2)" in r.fix


@pytest.mark.parametrize("weights, why", [([], "empty"), ([1.0, float("nan")], "finite"), ([1.0, 0.0], "above 0"),
                                          ([1.0, True], "above 0"), ([1, 10**400], "above 0")])
def test_custom_weights_must_be_finite_positive(weights, why):
    problems = TrainSpec(class_weights="custom", custom_class_weights=weights).problems()
    assert len(problems) == 1 and why in problems[0], problems
    assert TrainSpec(class_weights="custom", custom_class_weights=[1, 2.5]).problems() == []
    assert "sampler" in TrainSpec(sampler="oversample").problems()[0]


def test_preflight_warns_on_imbalance_with_its_fix_and_not_once_addressed(tmp_path):
    from layerlab.core.data import load
    p = imbalanced_project(tmp_path)
    ds = load(p.data, tmp_path)
    warn = [q for q in preflight(p, ds) if "imbalanced" in q.message]
    assert len(warn) == 1 and warn[0].severity == "warning", warn
    assert "19×" in warn[0].message and "class_weights to balanced" in warn[0].fix
    p.training.sampler = "balanced"
    assert not [q for q in preflight(p, ds) if "imbalanced" in q.message]
    assert imbalance([40, 10]) is None and imbalance([50, 10])[0] == 5.0


def test_loss_weights_balanced_rule_and_weighted_losses():
    y = torch.tensor([0] * 9 + [1] * 3)
    w = loss_weights(TrainSpec(class_weights="balanced"), y, 2)
    assert w.tolist() == pytest.approx([12 / (2 * 9), 12 / (2 * 3)])       # scikit-learn's "balanced"
    assert loss_weights(TrainSpec(), y, 2) is None
    out = torch.randn(12, 2)
    ce = build_loss(TrainSpec(), 2, 2, w)(out, y)
    assert float(ce) == pytest.approx(float(F.cross_entropy(out, y, weight=w)))
    bce = build_loss(TrainSpec(loss="bce_logits"), 1, 2, w)(out[:, :1], y)
    per = F.binary_cross_entropy_with_logits(out[:, 0], y.float(), reduction="none")
    assert float(bce) == pytest.approx(float((per * w[y]).sum() / w[y].sum()))


def test_balanced_draw_evens_classes_is_seeded_and_ddp_ranks_share_one_draw():
    y = torch.tensor([0] * 950 + [1] * 50)
    cdf = sampler_cdf(TrainSpec(sampler="balanced"), y, 2)
    assert sampler_cdf(TrainSpec(), y, 2) is None
    draw = balanced_draw(cdf, 20000, torch.Generator().manual_seed(0))
    share = float((y[draw] == 1).float().mean())
    assert 0.47 < share < 0.53, share
    assert torch.equal(draw, balanced_draw(cdf, 20000, torch.Generator().manual_seed(0)))
    one = shard_indices(1000, 0, 1, torch.Generator().manual_seed(3), cdf)
    parts = [shard_indices(1000, r, 2, torch.Generator().manual_seed(3), cdf) for r in range(2)]
    assert torch.equal(torch.stack(parts, 1).reshape(-1), one)     # rank r takes positions r, r+2, ...
    assert class_counts(y, 2) == [950, 50]


def test_class_report_matches_scikit_learn():
    from sklearn.metrics import balanced_accuracy_score, f1_score, precision_recall_fscore_support
    g = torch.Generator().manual_seed(0)
    y, pred = torch.randint(0, 4, (300,), generator=g), torch.randint(0, 3, (300,), generator=g)
    cm = np.zeros((4, 4), int)
    np.add.at(cm, (y.numpy(), pred.numpy()), 1)
    r = class_report(cm, ["a", "b", "c", "d"])
    p, rec, f1, sup = precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
    assert r["precision"] == pytest.approx(p.tolist()) and r["recall"] == pytest.approx(rec.tolist())
    assert r["f1"] == pytest.approx(f1.tolist()) and r["support"] == sup.tolist()
    assert r["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert r["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))


def test_trainer_worker_and_script_agree_with_weights_and_sampler(tmp_path):
    """Balanced weights and sampler are honoured alike by the trainer, a DDP worker with one process
    and the exported script (bit for bit on CPU); two ranks split one balanced draw and finish."""
    from safetensors.torch import load_file
    from layerlab.core import distributed
    from layerlab.core.export import export, standalone
    p = imbalanced_project(tmp_path, n0=570, n1=30, epochs=2)
    p.training.class_weights, p.training.sampler = "balanced", "balanced"
    path = tmp_path / "imb.layerlab.json"
    save_project(p, path)
    assert Trainer(p, base_dir=tmp_path, run_dir=tmp_path / "trainer").fit().status == "finished"
    assert distributed.launch(path, 1, ["--out", str(tmp_path / "worker"), "--json"], timeout=240) == 0
    script = export(p, None, "train-script", tmp_path / "train_imb.py", base_dir=tmp_path)[0]
    out = subprocess.run(standalone.script_command(script, "--out", str(tmp_path / "script")),
                         cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    want = load_file(tmp_path / "trainer" / "last.safetensors")
    for other in ("worker", "script"):
        got = load_file(tmp_path / other / "last.safetensors")
        assert all(torch.equal(got[k], want[k]) for k in want), other
    assert distributed.launch(path, 2, ["--out", str(tmp_path / "two"), "--json"], timeout=240) == 0
    assert json.loads((tmp_path / "two" / "result.json").read_text())["class_report"]["test"]["support"]
