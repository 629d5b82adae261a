"""Crafted resume states (issue 13 item 8): every field of last.state.safetensors is checked;
a bad one is "cannot resume …" in one line, never a traceback, a hang or a silent mismatch."""
import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from layerlab.core.train import Control, Trainer
from layerlab.core.train.events import Failed, RunStarted

from .test_train_helpers import Recorder, blobs, mlp

DATA = blobs()


def _fit(p, **kw):
    rec = Recorder(None)
    result = Trainer(p, DATA, **kw).fit(rec, Control())
    return result, rec


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for schedule in ("plateau", "cosine"):
        result, _ = _fit(mlp(epochs=2, schedule=schedule), run_dir=root / schedule)
        assert result.status == "finished"
    return root


def _tamper(src, dst, change):
    import shutil
    shutil.copytree(src, dst)
    path = dst / "last.state.safetensors"
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as f:
        state = json.loads(f.metadata()["state"])
    change(tensors, state)
    save_file(tensors, str(path), metadata={"state": json.dumps(state)})
    return dst


def _opt_key(tensors, name="exp_avg"):
    return next(k for k in tensors if k.startswith("opt.") and k.endswith(name))


CASES = {
    "rng dtype": ("cosine", lambda t, s: t.update({"rng.torch": t["rng.torch"].float()}), "random-generator"),
    "rng size": ("cosine", lambda t, s: t.update({"rng.shuffle": t["rng.shuffle"][:10].clone()}), "random-generator"),
    "plateau types": ("plateau", lambda t, s: s["scheduler"].update({"best": "high", "num_bad_epochs": [1]}),
                      "schedule value"),
    "string best": ("cosine", lambda t, s: s["trainer"].update({"best_value": "0.3"}), "best value"),
    "epoch 1e11": ("cosine", lambda t, s: s["trainer"].update({"epoch": 10**11}), "epoch"),
    "step 1e11": ("cosine", lambda t, s: s["trainer"].update({"global_step": 10**11}), "step count"),
    "moment shape": ("cosine", lambda t, s: t.update({_opt_key(t): torch.zeros(3, 3)}), "shape"),
    "moment NaN": ("cosine", lambda t, s: t.update({_opt_key(t): t[_opt_key(t)] * float("nan")}), "NaN"),
    "moment int": ("cosine", lambda t, s: t.update({_opt_key(t): t[_opt_key(t)].long()}), "int64"),
    "unknown param": ("cosine", lambda t, s: t.update({"opt.999.exp_avg": torch.zeros(1)}), "no parameter"),
    "state not object": ("cosine", lambda t, s: s.update({"trainer": [1, 2]}), "not an object"),
    "lr string": ("cosine", lambda t, s: s["optimizer"]["param_groups"][0].update({"lr": "big"}), "learning rate"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_crafted_state_is_refused_in_one_line(runs, tmp_path, case):
    schedule, change, words = CASES[case]
    run = _tamper(runs / schedule, tmp_path / "run", change)
    result, rec = _fit(mlp(epochs=4, schedule=schedule), resume_from=run)
    failed = rec.of(Failed)
    assert result.status == "failed" and failed, case
    assert "cannot resume" in failed[0].message and words in failed[0].message, failed[0].message
    assert "\n" not in failed[0].message and len(failed[0].message) < 400


def test_an_untouched_state_still_resumes(runs, tmp_path):
    run = _tamper(runs / "plateau", tmp_path / "run", lambda t, s: None)
    result, rec = _fit(mlp(epochs=3, schedule="plateau"), resume_from=run)
    assert result.status == "finished" and rec.of(RunStarted)[0].start_epoch == 3


def test_resuming_with_fewer_epochs_says_how_to_continue(runs, tmp_path):
    run = _tamper(runs / "cosine", tmp_path / "run", lambda t, s: None)
    result, rec = _fit(mlp(epochs=1, schedule="cosine"), resume_from=run)
    assert result.status == "failed" and "--epochs 3" in rec.of(Failed)[0].message
