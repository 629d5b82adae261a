"""Crafted project files (issue 13): one line, never a traceback; bounded names; controls stripped."""
import json
import os
import stat
import time

import pytest

from layerlab.core.cli import main
from layerlab.core.graph import MAX_NODES
from layerlab.core.project import ProjectError, clean_stale_temps, load_project, save_project
from layerlab.core.resources import template_path


def _doc():
    return json.loads(template_path("mlp").read_text())


def _write(tmp_path, doc, text=None):
    p = tmp_path / "p.layerlab.json"
    p.write_text(text if text is not None else json.dumps(doc))
    return p


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "1" * 4000, "1e400"])
def test_non_finite_or_huge_units_are_one_line_problems(tmp_path, capsys, value):
    text = json.dumps(_doc()).replace('"units": 16', f'"units": {value}', 1)
    code, out, err = _cli(capsys, "validate", str(_write(tmp_path, None, text)))
    assert code == 1 and "Traceback" not in out + err
    assert any("units" in line and len(line) < 300 for line in out.splitlines() if line.startswith("error"))


def test_an_integer_of_5000_digits_is_refused_at_load(tmp_path):
    text = json.dumps(_doc()).replace('"seed": 0', '"seed": ' + "9" * 5000, 1)
    with pytest.raises(ProjectError, match="number too long"):
        load_project(_write(tmp_path, None, text))


def test_options_nested_400_deep_are_refused_at_load(tmp_path):
    doc = _doc()
    deep = 1
    for _ in range(400):
        deep = {"a": deep}
    doc["data"]["options"] = {"noise": deep}
    with pytest.raises(ProjectError, match="nests"):
        load_project(_write(tmp_path, doc))


def test_node_ids_with_a_dot_are_refused_at_load(tmp_path):
    doc = _doc()
    old = doc["graph"]["nodes"][1]["id"]
    doc["graph"]["nodes"][1]["id"] = "n2.x"
    for e in doc["graph"]["edges"]:
        e["src"], e["dst"] = [("n2.x" if v == old else v) for v in (e["src"], e["dst"])]
    with pytest.raises(ProjectError, match="no '.'"):
        load_project(_write(tmp_path, doc))


def test_huge_names_are_shortened_in_messages(tmp_path):
    doc = _doc()
    doc["graph"]["nodes"][1]["name"] = "x" * 10_000_000
    with pytest.raises(ProjectError) as e:
        load_project(_write(tmp_path, doc))
    assert len(str(e.value)) < 400
    doc = _doc()
    doc["name"] = "y" * 10_000_000
    with pytest.raises(ProjectError, match="name is 10,000,000 characters") as e:
        load_project(_write(tmp_path, doc))
    assert len(str(e.value)) < 400


def test_escape_sequences_never_reach_the_terminal(tmp_path, capsys):
    doc = _doc()
    doc["name"] = "evil\x1b]0;owned\x07\x1b[2J\x9b31m\u202e"
    doc["data"]["target"] = "\x1b[2Jcol"
    doc["training"]["lr"] = -1.0
    code, out, err = _cli(capsys, "validate", str(_write(tmp_path, doc)))
    assert code == 1
    for ch in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert ch not in out + err
    code, out, err = _cli(capsys, "train", str(_write(tmp_path, doc)))
    assert code == 2 and "\x1b" not in out + err


@pytest.mark.parametrize("section,key,value", [("training", "lr", "NaN"), ("data", "val_fraction", "-Infinity"),
                                               ("training", "weight_decay", "NaN")])
def test_validate_refuses_settings_that_train_refuses(tmp_path, capsys, section, key, value):
    doc = _doc()
    doc[section][key] = "@@"
    p = _write(tmp_path, None, json.dumps(doc).replace('"@@"', value))
    code, out, err = _cli(capsys, "validate", str(p))
    assert code == 1 and f"{section}.{key}" in out
    code, out, err = _cli(capsys, "train", str(p), "--out", str(tmp_path / "run"))
    assert code == 2 and f"{section}.{key}" in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == len(set(lines)) and not any(line.endswith(": ") for line in lines)


def test_a_data_refusal_is_printed_once_without_a_dangling_colon(tmp_path, capsys):
    doc = _doc()
    doc["data"] = {"dataset": "csv", "path": "missing.csv"}
    code, out, err = _cli(capsys, "train", str(_write(tmp_path, doc)), "--out", str(tmp_path / "run"))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "missing.csv" in lines[0] and not lines[0].endswith(": ")


def test_too_many_nodes_are_refused_clearly(tmp_path):
    doc = _doc()
    doc["graph"]["nodes"] += [{"id": f"k{i}", "type": "ReLU", "name": f"r{i}"} for i in range(MAX_NODES)]
    with pytest.raises(ProjectError, match="at most 50,000 nodes"):
        load_project(_write(tmp_path, doc))


def test_a_network_over_the_memory_budget_fails_validation(tmp_path, capsys, monkeypatch):
    doc = _doc()
    doc["graph"]["nodes"][0]["params"]["shape"] = [65536]
    for n in doc["graph"]["nodes"]:
        if n["type"] == "Dense":
            n["params"]["units"] = 65536
    code, out, err = _cli(capsys, "validate", str(_write(tmp_path, doc)))
    assert code == 1 and "over LayerLab's budget" in out and "LAYERLAB_MEMORY_BUDGET" in out
    monkeypatch.setenv("LAYERLAB_MEMORY_BUDGET", "1TB")
    code, out, err = _cli(capsys, "validate", str(_write(tmp_path, doc)))
    assert code == 0


def test_a_project_path_that_is_not_a_regular_file_is_refused(tmp_path):
    fifo = tmp_path / "pipe.layerlab.json"
    os.mkfifo(fifo)
    with pytest.raises(ProjectError, match="not a regular file"):
        load_project(fifo)
    with pytest.raises(ProjectError, match="not a regular file"):
        load_project("/dev/zero")


def test_saving_keeps_the_files_mode(tmp_path):
    p = _write(tmp_path, _doc())
    os.chmod(p, 0o664)
    save_project(load_project(p), p)
    assert stat.S_IMODE(p.stat().st_mode) == 0o664
    os.chmod(p, 0o640)
    save_project(load_project(p), p)
    assert stat.S_IMODE(p.stat().st_mode) == 0o640


def test_a_new_file_gets_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o002)
    try:
        p = tmp_path / "new.layerlab.json"
        save_project(load_project(template_path("mlp")), p)
        assert stat.S_IMODE(p.stat().st_mode) == 0o664
    finally:
        os.umask(old)


def test_stale_temps_of_killed_saves_are_removed_and_nothing_else(tmp_path):
    p = _write(tmp_path, _doc())
    stale = tmp_path / ".p.layerlab.json.abcd1234.tmp"
    fresh = tmp_path / ".p.layerlab.json.zzzz9999.tmp"      # a save running right now
    other = [tmp_path / ".other.layerlab.json.abcd1234.tmp", tmp_path / ".p.layerlab.json.tmp",
             tmp_path / "p.layerlab.json.abcd1234.tmp", tmp_path / ".p.layerlab.json.abcd1234.tmp.keep"]
    for f in [stale, fresh, *other]:
        f.write_text("x")
    old = time.time() - 3600
    for f in [stale, *other]:
        os.utime(f, (old, old))
    save_project(load_project(p), p)
    assert not stale.exists() and fresh.exists() and all(f.exists() for f in other)
    assert clean_stale_temps(p) == []


def test_validate_refuses_a_device_that_train_refuses(tmp_path, capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA, so the setting is valid here")
    doc = _doc()
    doc["training"]["device"] = "cuda"
    code, out, err = _cli(capsys, "validate", str(_write(tmp_path, doc)))
    assert code == 1 and "no CUDA GPU is available" in out


def test_an_export_of_a_network_over_budget_is_refused_in_one_line(tmp_path, capsys):
    doc = _doc()
    doc["graph"]["nodes"][0]["params"]["shape"] = [65536]
    for n in doc["graph"]["nodes"]:
        if n["type"] == "Dense":
            n["params"]["units"] = 65536
    code, out, err = _cli(capsys, "export", str(_write(tmp_path, doc)), "--format", "train-script",
                          "--out", str(tmp_path / "s.py"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "over LayerLab's budget" in err
    assert not (tmp_path / "s.py").exists()
