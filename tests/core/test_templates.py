"""Bundled templates compile and run; each names the data set it is meant for."""
import pytest
import torch

from layerlab.core.analysis import analyze
from layerlab.core.compiler import compile_graph, example_input
from layerlab.core.project import load_project
from layerlab.core.resources import example_project, template_names, template_path
from layerlab.core.specs import BUILTIN_DATASETS

REQUIRED = {"mlp", "deep_mlp", "digits_cnn", "resnet_block", "tiny_transformer"}


def test_required_templates_exist():
    assert REQUIRED <= set(template_names())
    assert example_project().is_file()


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_template_compiles_and_runs(name):
    p = load_project(template_path(name))
    a = analyze(p.graph)
    assert a.problems == [], [str(x) for x in a.problems]
    c = compile_graph(p.graph, a)
    with torch.no_grad():
        y = c.module.eval()(example_input(c.input_type, batch=2, vocab=128))
    assert tuple(y.shape) == (2, *c.output_type.shape)
    assert p.data.dataset in BUILTIN_DATASETS and p.description
    assert p.data.problems() == [] and p.training.problems() == []


def test_template_shapes_match_their_descriptions():
    shapes = {n: analyze(load_project(template_path(n)).graph) for n in REQUIRED}
    mlp = shapes["mlp"]
    assert [str(mlp.shapes[n]) for n in mlp.order if "Dense" in load_project(template_path("mlp")).graph.nodes[n].type] \
        == ["[B, 16]", "[B, 16]", "[B, 3]"]
    deep = load_project(template_path("deep_mlp")).graph
    assert sum(n.type == "ReLU" for n in deep.nodes.values()) == 5
    cnn = shapes["digits_cnn"]
    assert str(cnn.shapes[cnn.input_id]) == "[B, 1, 8, 8]" and str(cnn.shapes[cnn.output_id]) == "[B, 10]"
    res = load_project(template_path("resnet_block")).graph
    assert [n.type for n in res.nodes.values()].count("Add") == 1
    tr = load_project(template_path("tiny_transformer")).graph
    blocks = [n for n in tr.nodes.values() if n.type == "TransformerBlock"]
    assert len(blocks) == 2 and all(b.params["causal"] for b in blocks)
