"""Validation on a budget (core/train/epochs.py): runs of more than 20 small epochs validate epochs
1-5, every k-th and the last; early stopping and plateau schedules validate every epoch;
config.json says which."""
import csv
import json
import math

from layerlab.core.project import load_project
from layerlab.core.resources import template_path
from layerlab.core.train import Trainer
from layerlab.core.train.epochs import validates, validation_every
from layerlab.core.train.events import EpochEnd


def test_k_grows_as_epochs_shrink_and_is_one_where_epochs_are_counted():
    assert validation_every(7, 420, 90, 64, every_epoch=True) == 1
    assert validation_every(7, 420, 0, 64, every_epoch=False) == 1
    small = validation_every(7, 420, 90, 64, every_epoch=False)
    large = validation_every(700, 44800, 9600, 64, every_epoch=False)
    assert small > 5 and 1 <= large < small
    assert validation_every(7, 420, 90, 64, every_epoch=False, epochs=20) == 1     # short runs: a full curve
    assert [e for e in range(1, 30) if validates(e, 8, 29)] == [1, 2, 3, 4, 5, 8, 16, 24, 29]


def _run(tmp_path, **training):
    project = load_project(template_path("mlp"))          # spiral: 7 steps an epoch
    for k, v in training.items():
        setattr(project.training, k, v)
    events = []
    result = Trainer(project, run_dir=tmp_path).fit(events.append)
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return result, rows, events, json.loads((tmp_path / "config.json").read_text())["resolved"]["validation"]


def test_small_epochs_validate_on_the_budget_and_say_so(tmp_path):
    result, rows, events, validation = _run(tmp_path, epochs=30)
    k = validation["every"]
    assert k > 1 and "every" in validation["rule"] and validation["budget"] == 0.05
    validated = [int(r["epoch"]) for r in rows if math.isfinite(float(r["val_loss"]))]
    assert validated == [e for e in range(1, 31) if validates(e, k, 30)] and validated[-1] == 30
    assert len(validated) < 30
    assert len(rows) == 30 and all(math.isfinite(float(r["train_loss"])) for r in rows)
    ends = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in ends] == list(range(1, 31))          # every epoch still reports its loss and LR
    assert result.best_epoch in validated and result.val_metrics["val_loss"] == float(rows[-1]["val_loss"])


def test_early_stopping_validates_every_epoch(tmp_path):
    _, rows, _, validation = _run(tmp_path, epochs=30, early_stopping=True, patience=50)
    assert validation["every"] == 1 and "early stopping" in validation["rule"]
    assert all(math.isfinite(float(r["val_loss"])) for r in rows) and len(rows) == 30
