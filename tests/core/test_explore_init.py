"""`explore_init` and `layerlab explore-init`: one forward pass per init scheme, per-layer
activation statistics; bad projects are one line on stderr and exit 2."""
import json

import pytest

from layerlab.core.cli import main
from layerlab.core.graph import Graph
from layerlab.core.project import Project, load_project, save_project
from layerlab.core.resources import template_path
from layerlab.core.specs import DataSpec
from layerlab.core.train.explore import explore_init

from .conftest import chain


@pytest.fixture(scope="module")
def deep_mlp():
    return load_project(template_path("deep_mlp"))  # five hidden ReLU layers on the spiral


def dense_stds(rows):
    return [r["std"] for r in rows if r["type"] == "Dense"]


def test_he_keeps_the_spread_and_small_normal_collapses_it(deep_mlp):
    hidden = [n.type for n in deep_mlp.graph.nodes.values()].count("ReLU")
    assert hidden == 5
    result = explore_init(deep_mlp, ["he_normal", "small_normal"], batch_size=256)
    assert list(result) == ["he_normal", "small_normal"]
    he, small = dense_stds(result["he_normal"]), dense_stds(result["small_normal"])
    assert len(he) == 6
    assert all(0.3 < s / he[0] < 3 for s in he[:-1]), he       # roughly constant through the hidden layers
    assert small[-1] / small[0] < 1e-4 and all(b < a for a, b in zip(small, small[1:])), small
    row = result["he_normal"][1]
    assert set(row) == {"name", "type", "mean", "std", "dead_fraction", "saturated_fraction"}
    assert row["type"] == "ReLU" and 0 <= row["dead_fraction"] < 0.5


def test_same_seed_same_numbers_and_unknown_schemes_refused(deep_mlp):
    a = explore_init(deep_mlp, ["xavier_normal"], batch_size=64, seed=3)
    b = explore_init(deep_mlp, ["xavier_normal"], batch_size=64, seed=3)
    assert a == b
    with pytest.raises(ValueError, match="unknown init scheme 'bogus'"):
        explore_init(deep_mlp, ["bogus"])


def test_cli_prints_a_table_per_init(deep_mlp, capsys):
    path = template_path("deep_mlp")
    assert main(["explore-init", str(path), "--inits", "he_normal,small_normal", "--batch", "64"]) == 0
    out = capsys.readouterr().out
    assert out.count("init ") == 2 and "init he_normal" in out and "init small_normal" in out
    for word in ("layer", "type", "mean", "std", "dead", "fc1", "relu5", "Dense", "ReLU", "%"):
        assert word in out
    assert main(["explore-init", str(path), "--inits", "auto", "--batch", "32", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["auto"]
    assert rows[0]["name"] == "fc1"


def _bad_project(tmp_path, kind):
    path = tmp_path / "p.layerlab.json"
    if kind == "not json":
        path.write_text("{nope")
        return path
    g = Graph()
    if kind == "does not compile":
        chain(g, ("Input", {"shape": [1, 8, 8]}), ("Dense", {"units": 10}), "Output")
    else:  # network for 4 features, data with 2
        chain(g, ("Input", {"shape": [4]}), ("Dense", {"units": 3}), "Output")
    save_project(Project(g, DataSpec(dataset="spiral")), path)
    return path


@pytest.mark.parametrize("kind", ["not json", "does not compile", "data does not fit", "missing"])
def test_cli_bad_project_is_one_line_exit_2(tmp_path, capsys, kind):
    path = tmp_path / "missing.layerlab.json" if kind == "missing" else _bad_project(tmp_path, kind)
    assert main(["explore-init", str(path), "--batch", "16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("layerlab explore-init: ") and len(err.strip().splitlines()) == 1, err


def test_cli_unknown_init_exit_2(capsys):
    assert main(["explore-init", str(template_path("deep_mlp")), "--inits", "he_normal,nope"]) == 2
    assert "unknown init scheme 'nope'" in capsys.readouterr().err


def test_tiny_spreads_are_computed_in_float64_not_shown_as_zero():
    """Issue 18 item 6: 20 ReLU layers at small init shrink the std to ~1e-30; float32 squares
    of such deviations underflow, so the spread used to read exactly 0."""
    g = Graph()
    layers = [("Input", {"shape": [2]})]
    for _ in range(20):
        layers += [("Dense", {"units": 16}), "ReLU"]
    chain(g, *layers, ("Dense", {"units": 3}), "Output")
    project = Project(graph=g, data=DataSpec(dataset="spiral"))
    stds = dense_stds(explore_init(project, ["small_normal"], batch_size=128)["small_normal"])
    assert len(stds) == 21 and stds[-1] < 1e-20, stds
    assert all(s > 0 for s in stds), stds
    assert all(b < a for a, b in zip(stds, stds[1:])), stds
