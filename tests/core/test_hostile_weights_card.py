"""Weights of the wrong kind, diverged weights, and model cards from hostile text (issue 13 items
11, 16, 17)."""
import json
import re
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from layerlab.core.cli import main
from layerlab.core.resources import template_path
from layerlab.core.weights import WeightsError, read_weights


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    shutil.copy(template_path("mlp"), root / "p.layerlab.json")
    assert main(["train", str(root / "p.layerlab.json"), "--epochs", "2", "--out", str(root / "run")]) == 0
    return root / "run"


@pytest.mark.parametrize("dtype", [torch.bool, torch.complex64, torch.int32, torch.int64, torch.uint8])
def test_weights_that_are_not_floating_point_are_refused(run, tmp_path, dtype):
    tensors = load_file(str(run / "best.safetensors"))
    key = next(iter(tensors))
    tensors[key] = tensors[key].to(dtype)
    save_file(tensors, str(tmp_path / "w.safetensors"))
    with pytest.raises(WeightsError, match=f"tensor {re.escape(key)} is {str(dtype)[6:]}.*floating point"):
        read_weights(tmp_path / "w.safetensors")


def test_nan_weights_fail_the_source_check_instead_of_a_zero_difference(run, tmp_path, capsys):
    tensors = {k: v * float("nan") for k, v in load_file(str(run / "best.safetensors")).items()}
    bad = tmp_path / "nan.safetensors"
    save_file(tensors, str(bad))
    for fmt, out in (("source", "net.py"), ("pt2", "net.pt2"), ("onnx", "net.onnx")):
        code = main(["export", str(run / "project.layerlab.json"), "--weights", str(bad), "--format", fmt,
                     "--out", str(tmp_path / out), "--preprocessing", str(run / "preprocessing.json")])
        out_, err = capsys.readouterr()
        assert code == 2 and "differs" in err and "inf" in err, (fmt, out_, err)
        assert "0.00e+00" not in out_ + err


def test_non_finite_weights_are_flagged_when_not_verified(run, tmp_path, capsys):
    tensors = load_file(str(run / "best.safetensors"))
    key = next(iter(tensors))
    tensors[key][0] = float("inf")
    bad = tmp_path / "inf.safetensors"
    save_file(tensors, str(bad))
    code = main(["export", str(run / "project.layerlab.json"), "--weights", str(bad), "--format", "native",
                 "--out", str(tmp_path / "nat")])
    err = capsys.readouterr().err
    assert code == 0 and "NaN or infinity" in err and key.split(".")[-1] in err


def test_model_card_makes_links_images_and_mathtext_inert(run, tmp_path, capsys):
    project = json.loads((run / "project.layerlab.json").read_text())
    project["name"] = r"$\undefinedmacro{x}$ net"
    project["description"] = ("see ![pixel](http://tracker.example/p.png) and [click](javascript:alert(1)) "
                              "[ref]: javascript:alert(2) <img src=x onerror=alert(3)> \x1b[2J")
    card_run = tmp_path / "run"
    shutil.copytree(run, card_run)
    (card_run / "project.layerlab.json").write_text(json.dumps(project))
    code = main(["export", str(card_run), "--format", "card", "--out", str(tmp_path / "card.md")])
    assert code == 0, capsys.readouterr().err
    text = (tmp_path / "card.md").read_text()
    assert (tmp_path / "card_loss.png").is_file()
    assert not re.search(r"(?<!\\)\[", text.split("## ")[0]), text[:400]    # no live link or image syntax
    assert "<img" not in text and "\x1b" not in text
    assert "![loss curve](card_loss.png)" in text                             # the card's own image stays
