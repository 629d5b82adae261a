"""Exports never overwrite without --force and never write into another run's folder (issue 13 item 9)."""
import shutil

import pytest

from layerlab.core.cli import main
from layerlab.core.export.overwrite import existing_files, planned_files
from layerlab.core.project import load_project
from layerlab.core.resources import template_path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    shutil.copy(template_path("mlp"), root / "p.layerlab.json")
    for name in ("a", "b"):
        assert main(["train", str(root / "p.layerlab.json"), "--epochs", "1", "--out", str(root / name)]) == 0
    return root


def _export(capsys, *argv):
    code = main(["export", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_train_script_export_refuses_to_replace_a_file(runs, tmp_path, capsys):
    target = tmp_path / "important.py"
    target.write_text("my work\n")
    code, out, err = _export(capsys, str(runs / "a"), "--format", "train-script", "--out", str(target))
    assert code == 2 and str(target) in err and "--force" in err and len(err.splitlines()) == 1
    assert target.read_text() == "my work\n"
    code, out, err = _export(capsys, str(runs / "a"), "--format", "train-script", "--out", str(target), "--force")
    assert code == 0 and target.read_text() != "my work\n"


@pytest.mark.parametrize("fmt,out,beside", [("source", "net.py", "net.safetensors"),
                                            ("card", "card.md", "card_loss.png"),
                                            ("onnx", "m.onnx", "m.onnx")])
def test_files_written_beside_the_main_one_are_not_replaced_either(runs, tmp_path, capsys, fmt, out, beside):
    (tmp_path / beside).write_bytes(b"keep")
    code, _, err = _export(capsys, str(runs / "a"), "--format", fmt, "--out", str(tmp_path / out))
    assert code == 2 and beside in err
    assert (tmp_path / beside).read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == [beside]      # nothing else was written either


def test_native_export_never_writes_into_another_runs_folder(runs, capsys):
    before = _snapshot(runs / "b")
    for force in ([], ["--force"]):
        code, _, err = _export(capsys, str(runs / "a"), "--format", "native", "--out", str(runs / "b"), *force)
        assert code == 2 and "another training run" in err
    assert _snapshot(runs / "b") == before
    assert main(["train", str(runs / "b" / "project.layerlab.json"), "--resume", str(runs / "b"),
                 "--epochs", "2"]) == 0


def test_planned_files_match_what_each_export_writes(runs, tmp_path, capsys):
    project = load_project(runs / "p.layerlab.json")
    for fmt, out in (("native", "nat"), ("source", "src.py"), ("card", "c.md"), ("train-script", "t.py"),
                     ("onnx", "o.onnx"), ("pt2", "p.pt2")):
        code, stdout, _ = _export(capsys, str(runs / "a"), "--format", fmt, "--out", str(tmp_path / out))
        assert code == 0, fmt
        written = {line.removeprefix("wrote ") for line in stdout.splitlines() if line.startswith("wrote ")}
        assert written <= {str(p) for p in planned_files(project, fmt, tmp_path / out)}, fmt
        assert existing_files(project, fmt, tmp_path / out), fmt
