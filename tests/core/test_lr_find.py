"""The LR range test: an exponential LR sweep on a fresh copy of the network, a smoothed curve and a
suggestion that trains well; nothing of the project is written."""
import math

import pytest

from layerlab.core.cli import main
from layerlab.core.experiments.lr_find import LRFindError, exponential_lrs, lr_find, smooth, suggest
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path
from layerlab.core.train import Trainer


def test_suggested_lr_trains_the_spiral_mlp_to_95_percent_in_the_template_budget(tmp_path):
    p = load_project(template_path("mlp"))
    result = lr_find(p, steps=200)
    assert result.lrs[0] == pytest.approx(1e-7) and all(b > a for a, b in zip(result.lrs, result.lrs[1:]))
    assert result.suggested is not None and result.suggested == pytest.approx(result.lowest_at / 10)
    assert result.rule.startswith("min/10")
    assert p.training.lr == 0.01            # the project itself is not changed
    p.training.lr = result.suggested
    run = Trainer(p, run_dir=tmp_path / "run").fit()
    assert run.status == "finished" and run.epochs_run == 60
    assert run.val_metrics["val_accuracy"] >= 0.95, (result.suggested, run.val_metrics)


def test_the_curve_falls_then_rises_and_stops_once_it_diverges():
    p = load_project(template_path("mlp"))
    r = lr_find(p, steps=150, end_lr=100.0)
    assert r.ended == "diverged" and len(r.lrs) < 150
    low = min(range(len(r.smoothed)), key=r.smoothed.__getitem__)
    assert r.smoothed[low] < 0.5 * r.smoothed[0] and r.smoothed[-1] > 2 * r.smoothed[low]


def test_cli_prints_the_suggestion_and_writes_nothing_without_apply(tmp_path, capsys):
    path = tmp_path / "spiral.layerlab.json"
    save_project(load_project(template_path("mlp")), path)
    before = path.read_bytes()
    assert main(["lr-find", str(path), "--steps", "60"]) == 0
    out = capsys.readouterr().out
    assert "suggested lr" in out and "rule min/10" in out and "smoothed loss" in out
    assert path.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["spiral.layerlab.json"]   # no run folder either
    assert main(["lr-find", str(path), "--steps", "60", "--apply"]) == 0
    assert load_project(path).training.lr != 0.01


def test_an_unusable_set_up_is_one_line(tmp_path, capsys):
    p = load_project(template_path("mlp"))
    p.graph.set_param(p.graph.by_name("logits").id, "units", 5)   # 5 outputs for 3 classes
    with pytest.raises(LRFindError):
        lr_find(p, steps=20)
    path = tmp_path / "bad.layerlab.json"
    save_project(p, path)
    assert main(["lr-find", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("layerlab lr-find: ")


def test_smoothing_is_bias_corrected_and_the_rule_needs_a_fall():
    assert smooth([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])
    lrs = exponential_lrs(1e-4, 1.0, 50)
    flat = [1.0] * 50
    assert suggest(lrs, flat)[0] is None
    bowl = [1 + (math.log10(lr) + 1) ** 2 for lr in lrs]     # lowest at 0.1
    s, lowest, _, _ = suggest(lrs, bowl)
    assert lowest == pytest.approx(0.1, rel=0.25) and s == pytest.approx(lowest / 10)
