"""Generated code is made only of validated values: fuzzed project names, descriptions and node
names never reach the code outside string literals and comments (the class name is a sanitized
[A-Za-z0-9] identifier), and the file always compiles and computes what LayerLab computes."""
import ast
import dataclasses
import io
import re
import tokenize

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerlab.core.export import source
from layerlab.core.export.prepared import prepare
from layerlab.core.export.train_script import generate as generate_script
from layerlab.core.graph import Graph, GraphError, check_name
from layerlab.core.project import Project, load_project
from layerlab.core.resources import template_path

SKIP = {tokenize.STRING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
        tokenize.ENDMARKER}


def code_tokens(src: str, class_name: str) -> list[str]:
    """Every token that is code (not a string literal or comment), the class name made generic."""
    return ["<CLASS>" if t.type == tokenize.NAME and t.string == class_name else t.string
            for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type not in SKIP]


@pytest.fixture(scope="module")
def prep():
    project = load_project(template_path("mlp"))
    pre = {"kind": "standardize", "input_shape": [2], "shift": [0.25, -1.5], "scale": [2.0, 0.5]}
    return prepare(project, None, pre)


@pytest.fixture(scope="module")
def baseline(prep):
    p = dataclasses.replace(prep, project=Project(graph=prep.project.graph, name="Base", description=""))
    src, cls = source.generate(p, "model.safetensors")
    return code_tokens(src, cls)


@given(name=st.text(max_size=60), description=st.text(max_size=200))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_project_text_reaches_only_the_docstring(prep, baseline, name, description):
    p = dataclasses.replace(prep, project=Project(graph=prep.project.graph, name=name, description=description))
    src, cls = source.generate(p, "model.safetensors")
    tree = ast.parse(src)                                   # always valid Python
    compile(tree, "<generated>", "exec")
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", cls)
    assert code_tokens(src, cls) == baseline                # the code is the same whatever the text
    doc = ast.get_docstring(tree, clean=False)
    assert doc.startswith(f"{name}: a network exported") and description.strip() in doc


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_docstring_literal_round_trips_any_text(text):
    assert ast.literal_eval(source.docstring(text)) == text


def _valid(name: str) -> bool:
    try:
        check_name(name)
        return True
    except GraphError:
        return False


NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True).filter(_valid)


@given(st.lists(NAMES, min_size=7, max_size=7, unique=True))
@settings(max_examples=40, deadline=None)
def test_node_names_become_attributes_and_the_code_still_matches(names):
    g = Graph()
    layers = [("Input", {"shape": [3]}), ("Dense", {"units": 4}), ("ReLU", {}), ("Dense", {"units": 4}),
              ("Tanh", {}), ("Dense", {"units": 2}), ("Output", {})]
    prev = None
    for (kind, params), name in zip(layers, names):
        node = g.add_node(kind, params, name=name)
        if prev is not None:
            g.connect(prev.id, node.id)
        prev = node
    project = Project(graph=g, name="Fuzz")
    p = prepare(project, None, None)
    src, cls = source.generate(p, "w.safetensors")
    module = compile(src, "<generated>", "exec")
    for name in names[1:-1]:
        assert f"self.{name} = " in src and f"self.{name}(" in src
    ns = {"__name__": "generated"}
    exec(module, ns)
    net = ns[cls]()
    net.load_state_dict(p.module.state_dict())
    x = torch.randn(5, 3)
    with torch.no_grad():
        assert torch.allclose(net(x), p.module(x), atol=1e-6)


@given(name=st.text(max_size=40), description=st.text(max_size=80), target=st.text(max_size=20))
@settings(max_examples=12, deadline=None)
def test_training_script_specs_are_literals(name, description, target):
    project = load_project(template_path("mlp"))
    project.name, project.description = name, description
    project.data.dataset, project.data.path, project.data.target = "csv", f"data/{target}.csv", target
    text, _ = generate_script(project)
    tree = ast.parse(text)
    values = {t.targets[0].id: ast.literal_eval(t.value) for t in tree.body
              if isinstance(t, ast.Assign) and isinstance(t.targets[0], ast.Name)
              and t.targets[0].id in ("PROJECT_NAME", "DATA")}
    assert values["PROJECT_NAME"] == name and values["DATA"]["target"] == target
