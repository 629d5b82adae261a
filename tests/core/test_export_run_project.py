"""Exporting an earlier run after the graph was edited (issue 18 item 2): the current project no
longer fits the run's weights, so the export uses the project the run trained (its run folder keeps
it) and says so, in `core.export.export`'s report and in `layerlab export`'s output."""
import json

import pytest
import torch

from layerlab.core.cli import main
from layerlab.core.compiler import compile_graph
from layerlab.core.export import export
from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_path
from layerlab.core.train import Trainer
from layerlab.core.weights import load_weights


@pytest.fixture(scope="module")
def edited(tmp_path_factory):
    """One real epoch of the mlp template, then its project saved with a Dense's units changed."""
    tmp = tmp_path_factory.mktemp("edited")
    project = load_project(template_path("mlp"))
    project.training.epochs = 1
    run = tmp / "runs" / "run1"
    Trainer(project, run_dir=run).fit()
    dense = next(n for n in project.graph.nodes.values() if n.type == "Dense")
    project.graph.set_param(dense.id, "units", dense.params["units"] + 5)
    path = tmp / "spiral.layerlab.json"
    save_project(project, path)
    return project, path, run


def _run_network(run):
    compiled = compile_graph(load_project(run / "project.layerlab.json").graph)
    load_weights(compiled.module, compiled.node_of_module, run / "best.safetensors")
    return compiled.module.eval()


def test_export_uses_the_runs_own_project_and_says_so(edited, tmp_path):
    project, _, run = edited
    done = export(project, run / "best.safetensors", "native", tmp_path / "model")
    assert done.info["run_project"] == (f"used the run's own project ({run / 'project.layerlab.json'}): "
                                        "the current graph differs from the one this run trained")
    exported = load_project(tmp_path / "model" / "project.layerlab.json")
    assert exported.to_dict()["graph"] == load_project(run / "project.layerlab.json").to_dict()["graph"]
    x = torch.randn(16, 2)
    with torch.no_grad():
        from layerlab.core.export import load_native
        native = load_native(tmp_path / "model")
        assert torch.equal(native[1].module(x), _run_network(run)(x))
    # the same graph (only moved on the canvas): the current project, no note
    same = load_project(run / "project.layerlab.json")
    node = next(iter(same.graph.nodes.values()))
    same.graph.move(node.id, (node.pos[0] + 40, node.pos[1]))
    again = export(same, run / "best.safetensors", "native", tmp_path / "model2")
    assert "run_project" not in again.info


def test_cli_export_of_an_earlier_run_succeeds_and_names_its_project(edited, tmp_path, capsys):
    _, path, run = edited
    out = tmp_path / "model.onnx"
    assert main(["export", str(path), "--weights", str(run / "best.safetensors"), "--format", "onnx",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"used the run's own project ({run / 'project.layerlab.json'})" in text
    assert "the current graph differs" in text
    import onnxruntime
    x = torch.randn(16, 2)
    sess = onnxruntime.InferenceSession(str(out))
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        from layerlab.core.export.preprocessing import preprocessing_beside, preprocess_module
        want = _run_network(run)(preprocess_module(preprocessing_beside(run / "best.safetensors"))(x))
    assert torch.allclose(torch.from_numpy(got), want, atol=1e-5)
    assert main(["export", str(path), "--weights", str(run / "best.safetensors"), "--format", "native",
                 "--out", str(tmp_path / "n"), "--json"]) == 0
    assert "run's own project" in json.loads(capsys.readouterr().out)["run_project"]
