"""Issue 11 item 14: an exported digits network says exactly what inputs it takes (scikit-learn's
digit images divided by 16), and doing what its docstring says with the raw sklearn digits gives
the predictions LayerLab's own evaluation gives for the same samples."""
import importlib.util
import re
import sys

import numpy as np
import sklearn.datasets
import torch

from layerlab.core.compiler import compile_graph
from layerlab.core.data import load as load_data
from layerlab.core.export import export
from layerlab.core.project import load_project
from layerlab.core.resources import template_path
from layerlab.core.train.trainer import Trainer
from layerlab.core.weights import load_weights


def _import(path):
    spec = importlib.util.spec_from_file_location("exported_digits", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules.pop("exported_digits", None)
    spec.loader.exec_module(mod)
    return mod


def test_exported_digits_take_sklearn_digits_as_documented(tmp_path):
    project = load_project(template_path("digits_cnn"))
    project.training.epochs = 1
    result = Trainer(project, run_dir=tmp_path / "run").fit()
    assert result.status == "finished"
    weights = tmp_path / "run" / "best.safetensors"

    # LayerLab's own evaluation of the test split (the data as the trainer sees it)
    ds = load_data(project.data)
    compiled = compile_graph(project.graph)
    load_weights(compiled.module, compiled.node_of_module, weights)
    with torch.no_grad():
        ours = compiled.module.eval()(ds.x_test).argmax(1)

    source = export(project, weights, "source", tmp_path / "src" / "digits_cnn.py")[0]
    export(project, weights, "card", tmp_path / "card.md")
    text = source.read_text()
    doc = text.split('"""')[1]
    assert "grey levels 0-16) divided by 16" in doc and "raw samples" not in doc
    example = next(line.strip() for line in doc.splitlines() if "load_digits().images / 16.0" in line)
    card = (tmp_path / "card.md").read_text()
    assert "divided by 16" in card and example in card

    # the same samples, as scikit-learn hands them out: find each test sample among the raw digits
    raw = sklearn.datasets.load_digits().images                       # grey levels 0-16
    pre = ds.preprocessor.to_dict()                                   # standardize: undone here
    assert pre["kind"] == "standardize"
    flat = ds.x_test.reshape(len(ds.x_test), -1).double()
    unscaled = flat / torch.tensor(pre["scale"], dtype=torch.float64) + torch.tensor(pre["shift"], dtype=torch.float64)
    grey = np.rint(unscaled.numpy().reshape(-1, 64) * 16).astype(np.int64)
    where = {img.astype(np.int64).tobytes(): i for i, img in enumerate(raw.reshape(-1, 64))}
    index = [where[g.tobytes()] for g in grey]                        # every test sample is a raw digit

    scope = {"torch": torch, "sklearn": sklearn}
    exec(example, scope)                                              # the docstring's own example
    mod = _import(source)
    model = mod.load()
    theirs = mod.predict(model, scope["x"][index]).argmax(1)
    assert torch.equal(theirs, ours)
    # the raw 0-16 values the old docstring invited give other answers
    wrong = mod.predict(model, torch.tensor(raw[index], dtype=torch.float32)[:, None]).argmax(1)
    assert not torch.equal(wrong, ours)
