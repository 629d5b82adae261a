"""LayerLab projects equal to the peers' networks, and a Dataset made of the saved split."""
from __future__ import annotations

import torch


def project_for(kind: str, epochs: int, batch: int, lr: float):
    from layerlab.core.graph import Graph
    from layerlab.core.layout import apply_layout
    from layerlab.core.project import Project, load_project
    from layerlab.core.resources import template_path

    if kind == "cnn":
        project = load_project(template_path("digits_cnn"))
    else:
        g = Graph()
        chain = [("Input", {"shape": [1, 8, 8]}), ("Flatten", None), ("Dense", {"units": 64}), ("ReLU", None),
                 ("Dense", {"units": 10}), ("Output", None)]
        prev = None
        for t, params in chain:
            node = g.add_node(t, params)
            if prev is not None:
                g.connect(prev.id, node.id)
            prev = node
        apply_layout(g)
        project = load_project(template_path("digits_cnn"))
        project = Project.from_dict({**project.to_dict(), "name": "digits_mlp", "graph": g.to_dict()})
    t = project.training
    t.epochs, t.batch_size, t.lr, t.optimizer, t.schedule, t.weight_decay = epochs, batch, lr, "adam", "constant", 0.0
    t.warmup_epochs = 0
    return project


def dataset_from(arrays, project):
    """The trainer's Dataset with the saved (already preprocessed) split; validation = test split."""
    from layerlab.core.data import load

    ds = load(project.data)
    xt, yt, xs, ys = (torch.from_numpy(v) for v in arrays)
    ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.x_test, ds.y_test = xt, yt, xs, ys, xs, ys
    return ds
