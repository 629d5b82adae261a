"""Sweep ranges: any TrainSpec field or layer parameter, parsed from TARGET=SPEC, checked against the
target, applied to a copy of the project (never the project itself)."""
import pytest

from layerlab.core.experiments.space import Range, SpaceError, apply, check, parse_range, targets
from layerlab.core.project import load_project
from layerlab.core.resources import template_path


@pytest.fixture
def spiral():
    return load_project(template_path("mlp"))


def test_ranges_parse_with_their_kind_from_the_target(spiral):
    assert parse_range(spiral, "training.lr=1e-4:1e-1:log") == Range("training.lr", "float", 1e-4, 0.1, True)
    assert parse_range(spiral, "fc1.units=8:64") == Range("fc1.units", "int", 8, 64, False)
    assert parse_range(spiral, "training.optimizer=adam,sgd").choices == ["adam", "sgd"]
    assert parse_range(spiral, "training.early_stopping=true,false").choices == [True, False]
    assert parse_range(spiral, "training.schedule=*").choices[0] == "constant"


@pytest.mark.parametrize("text, words", [
    ("training.nope=1:2", "not a sweepable setting"),
    ("fc9.units=1:2", "no layer named 'fc9'"),
    ("fc1.nope=1:2", "has no parameter 'nope'"),
    ("x.shape=1:2", "is a shape"),
    ("training.lr=0:1:log", "LOW > 0"),
    ("training.lr=1:0.1", "LOW < HIGH"),
    ("fc1.units=0:8", "leaves the allowed"),
    ("training.optimizer=adam,lbfgs", "no option 'lbfgs'"),
    ("training.lr", "TARGET=LOW:HIGH"),
    ("lr=1:2", "training.FIELD or LAYER.PARAM"),
])
def test_bad_ranges_are_one_line_with_the_fix(spiral, text, words):
    with pytest.raises(SpaceError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_range(spiral, text)


def test_apply_changes_a_copy_only(spiral):
    before = spiral.to_dict()
    copy = apply(spiral, {"training.lr": 0.05, "fc1.units": 32, "training.optimizer": "sgd"})
    assert (copy.training.lr, copy.training.optimizer) == (0.05, "sgd")
    assert copy.graph.by_name("fc1").params["units"] == 32
    assert spiral.to_dict() == before


def test_every_layer_parameter_and_training_field_is_a_target(spiral):
    names = {t.name for t in targets(spiral)}
    assert {"training.lr", "training.weight_decay", "training.batch_size", "fc1.units", "fc2.bias"} <= names
    assert "x.shape" not in names and "training.init_overrides" not in names


def test_grid_values_are_log_spaced_and_ints_are_whole(spiral):
    assert Range("training.lr", "float", 1e-3, 1e-1, True).grid(3) == [0.001, 0.01, 0.1]
    assert Range("fc1.units", "int", 8, 10).grid(5) == [8, 9, 10]
    with pytest.raises(SpaceError, match="takes a int range"):
        check(spiral, Range("fc1.units", "float", 1, 2))
