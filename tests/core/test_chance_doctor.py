"""The chance-level doctor: a 50-layer plain Dense(64)+ReLU chain on the spiral at the mlp
template's LR stays at chance, and the run says so, names depth without norms and the LR, and
carries one-click spec changes; a healthy run is not flagged."""
import pytest

from layerlab.core.data import load
from layerlab.core.specs import DataSpec
from layerlab.core.train import Control, Trainer
from layerlab.core.train.chance import at_chance, chance_accuracy

from .test_train_helpers import Recorder, mlp, project

SPIRAL = DataSpec(dataset="spiral")


@pytest.fixture(scope="module")
def spiral():
    return load(SPIRAL, None)


def plain_chain(depth, **training):
    layers = [("Input", {"shape": [2]})]
    for _ in range(depth):
        layers += [("Dense", {"units": 64}), "ReLU"]
    return project(*layers, ("Dense", {"units": 3}), "Output", data=SPIRAL,
                   **{"init": "he_normal", "optimizer": "adam", "lr": 0.01, "epochs": 5, **training})


def test_a_deep_plain_chain_at_chance_is_diagnosed_with_one_click_fixes(spiral, tmp_path):
    trainer = Trainer(plain_chain(50), spiral, run_dir=tmp_path / "run")
    result = trainer.fit(Recorder(), Control())
    chance = chance_accuracy(spiral.y_val, 3)
    accs = [h["val_accuracy"] for h in trainer.history]
    assert at_chance(trainer.history, chance), accs
    found = [d for d in trainer.diagnostics if d["code"] == "chance_level"]
    assert len(found) == 1, [d["code"] for d in trainer.diagnostics]
    d = found[0]
    assert "51 weighted layers stacked without normalization or skip connections" in d["message"]
    assert "learning rate 0.01" in d["message"] and "BatchNorm" in d["fix"]
    assert ["training", "lr", pytest.approx(0.001)] in [list(a) for a in d["actions"]]
    assert result.status == "finished"


def test_a_learning_network_is_not_at_chance(tmp_path):
    from .test_train_helpers import blobs
    ds = blobs()
    trainer = Trainer(mlp(epochs=4, lr=0.01), ds, run_dir=tmp_path / "run")
    trainer.fit(Recorder(), Control())
    assert not any(d["code"] == "chance_level" for d in trainer.diagnostics)
    assert not at_chance(trainer.history, chance_accuracy(ds.y_val, 3))
