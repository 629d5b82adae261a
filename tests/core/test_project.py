"""Project files: round-trip, atomic saves, migrations, and clear errors for bad content."""
import json
import os

import pytest

from layerlab.core import project as project_mod
from layerlab.core.project import Project, ProjectError, load_project, save_project
from layerlab.core.specs import DataSpec, TrainSpec


def test_round_trip_keeps_everything(tmp_path, mlp_graph):
    p = Project(mlp_graph, DataSpec("moons", val_fraction=0.2), TrainSpec(epochs=3, init_overrides={"n2": "zeros"}),
                "Moons", "two moons")
    path = tmp_path / "m.layerlab.json"
    save_project(p, path)
    q = load_project(path)
    assert q.to_dict() == p.to_dict()
    doc = json.loads(path.read_text())
    assert doc["format"] == "layerlab.project" and doc["version"] == project_mod.VERSION


def test_failed_save_leaves_the_old_file_intact(tmp_path, mlp_graph, monkeypatch):
    path = tmp_path / "p.layerlab.json"
    save_project(Project(mlp_graph, name="old"), path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_project(Project(mlp_graph, name="new"), path)
    assert path.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["p.layerlab.json"]  # no temp file left behind


def test_version_0_migrates(tmp_path):
    doc = {"format": "layerlab.project", "version": 0, "graph": {
        "nodes": [{"id": "n1", "type": "Input", "params": {"shape": [2]}}, {"id": "n2", "type": "Output"}],
        "edges": [["n1", "n2", 0]]}}
    path = tmp_path / "old.layerlab.json"
    path.write_text(json.dumps(doc))
    p = load_project(path)
    assert [(e.src, e.dst, e.slot) for e in p.graph.edges] == [("n1", "n2", 0)]


@pytest.mark.parametrize("content,msg", [
    ("{", "invalid JSON at line 1, column 2"),
    ("[]", "top level must be a JSON object"),
    ('{"format": "something.else", "version": 1}', "format is 'something.else'"),
    ('{"format": "layerlab.project", "version": 99, "graph": {"nodes": []}}', "newer than this LayerLab"),
    ('{"format": "layerlab.project", "version": "1"}', "no valid version"),
    ('{"format": "layerlab.project", "version": 1, "graph": {"nodes": []}, "training": {"lr": "fast"}}',
     "training.lr must be float"),
    ('{"format": "layerlab.project", "version": 1, "graph": {"nodes": []}, "data": {"colour": 1}}',
     "data.colour is not a known setting"),
    ('{"format": "layerlab.project", "version": 1, "graph": {"nodes": [{"id": "n1", "type": "Nope"}]}}',
     "unknown layer type 'Nope'"),
])
def test_malformed_files_give_one_line_errors(tmp_path, content, msg):
    path = tmp_path / "bad.layerlab.json"
    path.write_text(content)
    with pytest.raises(ProjectError, match=msg) as info:
        load_project(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_binary_and_folder_paths(tmp_path):
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "none.layerlab.json")
    with pytest.raises(ProjectError, match="is a folder"):
        load_project(tmp_path)
    (tmp_path / "bin.layerlab.json").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ProjectError, match="not a text file"):
        load_project(tmp_path / "bin.layerlab.json")


def test_spec_problems_name_setting_and_fix():
    t = TrainSpec(lr=0, optimizer="adagrad", epochs=0)
    msgs = t.problems()
    assert any("training.lr must be > 0" in m for m in msgs)
    assert any("training.optimizer 'adagrad' is unknown: use one of sgd" in m for m in msgs)
    assert any("training.epochs must be ≥ 1" in m for m in msgs)
    assert TrainSpec().problems() == [] and DataSpec().problems() == []
    assert any("leave under 10% for training" in m for m in DataSpec(val_fraction=0.5, test_fraction=0.45).problems())
