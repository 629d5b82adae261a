"""Shared builders for the training tests (no tests here): tiny projects and hand-made data sets."""
from __future__ import annotations

import torch

from layerlab.core.data.dataset import Dataset
from layerlab.core.data.preprocess import Preprocessor
from layerlab.core.graph import Graph
from layerlab.core.project import Project
from layerlab.core.specs import DataSpec, TrainSpec


def chain(graph: Graph, *layers, names=None):
    nodes, prev = [], None
    for i, item in enumerate(layers):
        t, params = (item, {}) if isinstance(item, str) else item
        node = graph.add_node(t, params, name=names[i] if names else None)
        if prev is not None:
            graph.connect(prev.id, node.id)
        nodes.append(node)
        prev = node
    return nodes


def project(*layers, names=None, data: DataSpec | None = None, **training) -> Project:
    g = Graph()
    chain(g, *layers, names=names)
    spec = TrainSpec(**{"epochs": 3, "probe_every": 0, **training})
    return Project(graph=g, data=data or DataSpec(), training=spec, name="test")


def mlp(inputs=2, hidden=(16,), classes=3, act="ReLU", **training) -> Project:
    layers = [("Input", {"shape": [inputs]})]
    for h in hidden:
        layers += [("Dense", {"units": h}), act]
    layers += [("Dense", {"units": classes}), "Output"]
    names = ["x"] + [n for i in range(len(hidden)) for n in (f"fc{i + 1}", f"act{i + 1}")] + ["logits", "out"]
    return project(*layers, names=names, **training)


def dataset(x_train, y_train, x_val=None, y_val=None, x_test=None, y_test=None, task="classification",
            num_classes=None, name="toy") -> Dataset:
    x_val = x_train if x_val is None else x_val
    y_val = y_train if y_val is None else y_val
    x_test = x_val if x_test is None else x_test
    y_test = y_val if y_test is None else y_test
    if num_classes is None:
        num_classes = int(y_train.max()) + 1 if task == "classification" else 0
    return Dataset(name=name, task=task, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
                   x_test=x_test, y_test=y_test, num_classes=num_classes,
                   class_names=[str(i) for i in range(num_classes)], feature_names=[],
                   input_shape=tuple(x_train.shape[1:]),
                   input_dtype="long" if x_train.dtype == torch.long else "float",
                   preprocessor=Preprocessor("none", tuple(x_train.shape[1:])), raw_x_train=x_train)


def blobs(n=300, classes=3, dims=2, seed=0, spread=0.3) -> Dataset:
    """Well separated Gaussian blobs: any sensible set-up learns them in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dims, generator=g) * 3

    def make(m):
        y = torch.randint(0, classes, (m,), generator=g)
        return centers[y] + spread * torch.randn(m, dims, generator=g), y
    (xt, yt), (xv, yv), (xs, ys) = make(n), make(n // 3), make(n // 3)
    return dataset(xt, yt, xv, yv, xs, ys, num_classes=classes, name="blobs")


def regression(n=300, dims=3, outputs=1, seed=0, noise=0.05) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(dims, outputs, generator=g)

    def make(m):
        x = torch.randn(m, dims, generator=g)
        return x, x @ w + noise * torch.randn(m, outputs, generator=g)
    (xt, yt), (xv, yv), (xs, ys) = make(n), make(n // 3), make(n // 3)
    return dataset(xt, yt, xv, yv, xs, ys, task="regression", num_classes=0, name="linear")


def images(n=120, classes=3, seed=0) -> Dataset:
    """1×8×8 images: a class-specific pattern plus noise."""
    g = torch.Generator().manual_seed(seed)
    patterns = torch.randn(classes, 1, 8, 8, generator=g)

    def make(m):
        y = torch.randint(0, classes, (m,), generator=g)
        return patterns[y] + 0.5 * torch.randn(m, 1, 8, 8, generator=g), y
    (xt, yt), (xv, yv) = make(n), make(n // 2)
    return dataset(xt, yt, xv, yv, num_classes=classes, name="images")


class Recorder:
    """on_event that keeps every event; `of(T)` filters by type."""

    def __init__(self, hook=None):
        self.events = []
        self.hook = hook

    def __call__(self, e):
        self.events.append(e)
        if self.hook is not None:
            self.hook(e)

    def of(self, cls):
        return [e for e in self.events if isinstance(e, cls)]

    def names(self):
        return [type(e).__name__ for e in self.events]
