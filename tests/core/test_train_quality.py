"""Quality: LayerLab's training reaches what a practitioner expects on real data (seeded, CPU)."""
import warnings

import pytest

from layerlab.core.data import load
from layerlab.core.project import load_project
from layerlab.core.resources import template_path
from layerlab.core.specs import DataSpec
from layerlab.core.train import Trainer

from .test_train_helpers import project

pytestmark = pytest.mark.slow


def test_digits_mlp_matches_scikit_learn_on_the_same_split(tmp_path):
    from sklearn.neural_network import MLPClassifier

    ds = load(DataSpec(dataset="digits"))
    p = project(("Input", {"shape": [1, 8, 8]}), "Flatten", ("Dense", {"units": 64}), "ReLU", ("Dense", {"units": 10}),
                "Output", epochs=40, batch_size=32, optimizer="adamw", lr=3e-3, schedule="cosine",
                weight_decay=1e-2, label_smoothing=0.1)
    ours = Trainer(p, ds, run_dir=tmp_path / "run").fit().test_metrics["test_accuracy"]
    x, x_test = ds.x_train.flatten(1).numpy(), ds.x_test.flatten(1).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # ConvergenceWarning at max_iter
        clf = MLPClassifier(hidden_layer_sizes=(64,), random_state=0).fit(x, ds.y_train.numpy())
    theirs = clf.score(x_test, ds.y_test.numpy())
    assert ours >= theirs, f"LayerLab {ours:.4f} < scikit-learn {theirs:.4f}"


def test_digits_cnn_template_reaches_97_percent(tmp_path):
    p = load_project(template_path("digits_cnn"))
    result = Trainer(p, run_dir=tmp_path / "run").fit()
    assert result.status == "finished"
    assert result.test_metrics["test_accuracy"] >= 0.97, result.test_metrics


def test_spiral_2x16_relu_he_adam_reaches_95_percent(tmp_path):
    p = load_project(template_path("mlp"))
    t = p.training
    assert (t.init, t.optimizer) == ("he_normal", "adam")
    assert [n.params.get("units") for n in p.graph.nodes.values() if n.type == "Dense"] == [16, 16, 3]
    result = Trainer(p, run_dir=tmp_path / "run").fit()
    assert p.data.dataset == "spiral" and result.val_metrics["val_accuracy"] >= 0.95, result.val_metrics
