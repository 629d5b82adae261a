"""ROC and precision–recall curves with their areas (core/train/curves.py), checked against
scikit-learn, and stored in result.json for a binary run."""
import json

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from layerlab.core.specs import DataSpec
from layerlab.core.train import Trainer
from layerlab.core.train.curves import MAX_POINTS, by_threshold, curves, pr, roc

from .test_train_helpers import mlp


def test_areas_match_sklearn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000)
    scores = np.clip(0.3 * y + rng.normal(0.35, 0.25, 3000), 0, 1).round(2)   # many tied scores
    assert roc(scores, y)["auc"] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert pr(scores, y)["auc"] == pytest.approx(average_precision_score(y, scores), abs=1e-12)
    c = curves(scores, y)
    assert len(c["roc"]["fpr"]) <= MAX_POINTS and len(c["pr"]["recall"]) <= MAX_POINTS
    assert c["roc"]["fpr"][0] == 0.0 and c["roc"]["tpr"][-1] == 1.0 and c["roc"]["threshold"][0] is None
    b = by_threshold(scores, y)
    i = b["threshold"].index(0.5)
    assert b["tp"][i] == int(((scores >= 0.5) & (y == 1)).sum()) and b["fn"][i] + b["tp"][i] == int(y.sum())
    with pytest.raises(ValueError):
        roc(scores, np.zeros_like(y))


@pytest.mark.parametrize("loss,units", [("cross_entropy", 2), ("bce_logits", 1)])
def test_binary_run_stores_curves_matching_sklearn(tmp_path, loss, units):
    p = mlp(inputs=2, hidden=(16,), classes=units, epochs=4, lr=0.03, loss=loss, device="cpu",
            data=DataSpec(dataset="moons"))
    trainer = Trainer(p, run_dir=tmp_path / "run")
    result = trainer.fit()
    assert result.status == "finished"
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    s = trainer.setup
    model = s.compiled.module.eval()
    with torch.no_grad():
        out = model(s.data["x_test"]).float()
    scores = (torch.softmax(out, -1)[:, 1] if units == 2 else torch.sigmoid(out[:, 0])).numpy()
    y = s.data["y_test"].numpy()
    assert saved["test_roc_auc"] == pytest.approx(roc_auc_score(y, scores), abs=1e-9)
    assert saved["test_pr_auc"] == pytest.approx(average_precision_score(y, scores), abs=1e-9)
    assert saved["val_roc_auc"] is not None and 0.5 < saved["test_roc_auc"] <= 1.0
    test = saved["curves"]["test"]
    assert test["positives"] + test["negatives"] == len(y)
    assert len(test["roc"]["fpr"]) <= MAX_POINTS and len(test["by_threshold"]["tp"]) == 101


def test_multiclass_and_regression_runs_have_no_curves(tmp_path):
    p = mlp(classes=3, epochs=1, device="cpu")      # the spiral: 3 classes
    result = Trainer(p, run_dir=tmp_path / "run").fit()
    assert result.test_roc_auc is None and result.curves == {}
