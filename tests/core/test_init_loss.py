"""Loss at init: measured on every run before step 1, reported next to ln N (RunStarted,
diagnostics.json, result.json), and the `auto` init starts a classifier's logits small."""
import json
import math

import pytest

from layerlab.core.data import load
from layerlab.core.specs import DataSpec
from layerlab.core.train import Control, Trainer
from layerlab.core.train.events import RunStarted

from .test_train_helpers import Recorder, project

DIGITS = DataSpec(dataset="digits")


def digits_mlp(init):
    return project(("Input", {"shape": [1, 8, 8]}), "Flatten", ("Dense", {"units": 64}), "ReLU",
                   ("Dense", {"units": 10}), "Output", data=DIGITS, init=init, epochs=1)


@pytest.fixture(scope="module")
def digits():
    return load(DIGITS, None)


def run(p, ds, tmp_path):
    rec = Recorder()
    result = Trainer(p, ds, run_dir=tmp_path / "run").fit(rec, Control())
    return rec.of(RunStarted)[0], result


def test_auto_init_puts_the_digits_mlp_within_2_percent_of_ln_10(digits, tmp_path):
    started, result = run(digits_mlp("auto"), digits, tmp_path)
    assert started.expected_loss_at_init == pytest.approx(math.log(10))
    assert abs(started.loss_at_init / math.log(10) - 1) < 0.02, started.loss_at_init
    # what `auto` did before (Xavier on the logits layer, unscaled) starts confidently wrong
    plain, _ = run(digits_mlp("xavier_normal"), digits, tmp_path / "plain")
    assert plain.loss_at_init > 1.1 * math.log(10), plain.loss_at_init
    # the numbers land in result.json and diagnostics.json (first row, code loss_at_init)
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["loss_at_init"] == pytest.approx(started.loss_at_init)
    assert saved["expected_loss_at_init"] == pytest.approx(math.log(10))
    row = json.loads((tmp_path / "run" / "diagnostics.json").read_text())[0]
    assert row["code"] == "loss_at_init" and row["loss_at_init"] == pytest.approx(started.loss_at_init)
    assert "ln 10 = 2.303 expected" in row["message"]
    assert result.status == "finished"
