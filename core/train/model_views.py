"""What the dashboard's inspection views compute from a live trainer: saliency, feature maps,
the decision boundary, the confusion matrix, and samples from a next-token model. Each takes the trainer and plain parameters and
returns a dict of numbers, strings and numpy arrays, so it can run in the training process and
its result cross the process boundary (wire.py). `JOBS` names them for the protocol."""
from __future__ import annotations

import time


def _split(trainer):
    s = trainer.setup
    if len(s.data["x_val"]):
        return "val", s.data["x_val"], s.data["y_val"]
    return "train", s.data["x_train"], s.data["y_train"]


def saliency_view(trainer, index: int = 0, method: str = "gradient", layer: str | None = None) -> dict:
    import torch

    from .probes import probe_mode
    from .saliency import saliency
    s = trainer.setup
    split, xs, ys = _split(trainer)
    i = min(max(0, int(index)), len(xs) - 1)
    x = xs[i]
    with probe_mode(s.compiled.module):
        out = s.compiled.module(x.unsqueeze(0))[0].float()
    probs = torch.softmax(out, -1) if out.dim() == 1 and out.numel() > 1 else None
    attr = saliency(s.compiled, x, None, method, layer if method == "gradcam" else None)
    ds = trainer.dataset
    return {"index": i, "count": len(xs), "x": x.detach().float().cpu().numpy().copy(), "attr": attr,
            "true": ys[i].detach().cpu().numpy().copy(), "pred": int(out.argmax()) if out.dim() == 1 else None,
            "conf": float(probs.max()) if probs is not None else None, "method": method,
            "task": ds.task, "class_names": list(ds.class_names or []),
            "feature_names": list(getattr(ds, "feature_names", []) or []),
            "convs": [n for n, m in s.compiled.module.named_children() if type(m).__name__.startswith("Conv")]}


def feature_maps_view(trainer, index: int = 0, layer: str | None = None) -> dict:
    from .saliency import feature_maps
    s = trainer.setup
    mod = s.compiled.module
    layers = [n.target for n in mod.graph.nodes if n.op == "call_module"]
    shapes, node_of = s.compiled.analysis.shapes, s.compiled.node_of_module
    spatial = [n for n in layers if n in node_of and len(shapes[node_of[n]].shape) == 3]
    if not spatial:
        raise ValueError("no layer of this network outputs feature maps [C, H, W]: add a Conv2d layer")
    name = layer if layer in spatial else spatial[0]
    _, xs, _ = _split(trainer)
    i = min(max(0, int(index)), len(xs) - 1)
    return {"layer": name, "layers": spatial, "maps": feature_maps(s.compiled, xs[i], name), "index": i,
            "count": len(xs)}


def boundary_view(trainer, resolution: int = 90) -> dict:
    from .inspection import decision_boundary
    ds = trainer.dataset
    raw = ds.raw_x_train
    if raw.dim() != 2 or raw.shape[1] != 2:
        raise ValueError("the decision boundary is drawn for data sets with 2 input features")
    xs, ys, grid = decision_boundary(trainer.setup.compiled, raw, ds.preprocessor, int(resolution),
                                     kind="probs" if ds.task == "classification" else "value")
    n = min(len(raw), 600)
    return {"xs": xs, "ys": ys, "grid": grid, "points": raw[:n].numpy().copy(),
            "labels": ds.y_train[:n].numpy().copy(), "task": ds.task}


def confusion_view(trainer) -> dict:
    from .inspection import confusion_matrix
    ds = trainer.dataset
    if ds.task != "classification":
        raise ValueError("a confusion matrix needs a classification task")
    split, xs, ys = _split(trainer)
    return {"cm": confusion_matrix(trainer.setup.compiled, xs, ys, int(ds.num_classes)),
            "names": list(ds.class_names), "split": split}


def generate_view(trainer, **params) -> dict:
    from .generate import generate_view as generate
    return generate(trainer, **params)


JOBS = {"saliency": saliency_view, "feature_maps": feature_maps_view, "boundary": boundary_view,
        "confusion": confusion_view, "generate": generate_view}


def run_job(trainer, key: str, params: dict) -> tuple[object, str, float]:
    """(value, error, seconds) of JOBS[key](trainer, **params), with the global RNG saved and
    restored (SmoothGrad draws noise; a seeded run must train the same whether or not someone
    looked at it). Errors become the result: a failed inspection must never end the run."""
    import torch
    rng = torch.get_rng_state()
    t0 = time.perf_counter()
    value, error = None, ""
    try:
        if trainer is None or getattr(trainer, "setup", None) is None:
            raise ValueError("no model yet: it exists once the run has started")
        fn = JOBS.get(key)
        if fn is None:
            raise ValueError(f"unknown inspection {key!r}")
        value = fn(trainer, **params)
    except Exception as e:  # noqa: BLE001 - reported in the view that asked
        error = f"{type(e).__name__}: {e}"
    finally:
        torch.set_rng_state(rng)
    return value, error, time.perf_counter() - t0
