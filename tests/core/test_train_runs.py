"""Run folders moved or linked when a project is saved somewhere (core.train.runs.adopt_runs)."""
from layerlab.core.train.runs import adopt_runs


def _run(folder):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")


def test_adopt_runs_moves_run_folders_and_leaves_the_rest(tmp_path):
    src, dst = tmp_path / "old", tmp_path / "new" / "runs"
    _run(src / "r1")
    _run(src / "r2")
    (src / "notes").mkdir()                       # not a run folder: stays
    (dst / "r1").mkdir(parents=True)              # a name already taken: the moved one gets -2
    moved = adopt_runs(src, dst)
    assert sorted(p.name for p in moved) == ["r1-2", "r2"]
    assert (dst / "r1-2" / "config.json").is_file() and not (src / "r1").exists()
    assert (src / "notes").is_dir()
    assert adopt_runs(src, dst) == []


def test_adopt_runs_links_when_asked_and_never_to_itself(tmp_path):
    src, dst = tmp_path / "old", tmp_path / "new"
    _run(src / "r1")
    assert [p.name for p in adopt_runs(src, dst, link=True)] == ["r1"]
    assert (dst / "r1").is_symlink() and (src / "r1").is_dir()
    assert adopt_runs(dst, dst) == []
