"""Checks run before training: settings, network, data, loss and device must fit together.

`preflight(project, dataset)` returns `analysis.Problem`s (message + fix, severity "error" blocks
training, "warning" does not); the GUI shows them, the trainer refuses to start on an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..analysis import Problem, analyze
from .losses import CLASS_LOSSES, REGRESSION_LOSSES

MONITOR_TASK = {"val_accuracy": "classification", "val_f1": "classification", "val_mae": "regression",
                "val_r2": "regression"}


def _dims(shape) -> str:
    return ", ".join(str(s) for s in shape)


def _tt(shape) -> str:
    return "[" + ", ".join(["B", *map(str, shape)]) + "]"


def _keeps_values(spec) -> bool:
    return spec.keeps_values


def _producer(graph, node_id: str, skip):
    """Walk back from a node through single-input layers whose spec `skip(spec)` is true."""
    node = graph.nodes[node_id]
    while skip(node.spec):
        ins = graph.inputs_of(node.id)
        if len(ins) != 1:
            break
        node = graph.nodes[ins[0].src]
    return node


def device_problem(device: str) -> Problem | None:
    import torch
    if device == "cuda" and not torch.cuda.is_available():
        return Problem(None, "training.device is cuda but no CUDA GPU is available", "set device to auto or cpu")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        return Problem(None, "training.device is mps but Apple's Metal backend is not available",
                       "set device to auto or cpu")
    return None


@dataclass
class _Fit:
    """What the network's end is checked against: the data set's task and targets, and the loss."""
    dname: str
    task: str
    k: int
    target_shape: tuple[int, ...]
    loss: str


def before_training(project, dataset, base_dir=None) -> list[Problem]:
    """What the trainer and every DDP rank refuse to start on: `preflight` and the transfer-learning
    checks (freeze.problems: stale layer ids, nothing left to train, start weights missing beside the
    project in `base_dir`)."""
    from .freeze import problems

    return preflight(project, dataset) + problems(project, base_dir)


def preflight(project, dataset=None) -> list[Problem]:
    """Every reason the project cannot train as set up (errors first), plus warnings."""
    t, graph = project.training, project.graph
    out = [Problem(None, m) for m in t.problems() + project.data.problems()]
    a = analyze(graph)
    out += a.errors
    if (p := device_problem(t.device)) is not None:
        out.append(p)
    if not a.ok or dataset is None or a.input_id is None or a.output_id is None:
        return _sorted(out)
    fit = _Fit(getattr(dataset, "name", "") or project.data.dataset, dataset.task, int(dataset.num_classes or 0),
               tuple(dataset.y_train.shape[1:]), t.loss)
    out += _input_problems(graph, a, dataset, fit.dname)
    out += _loss_problems(t, dataset, fit)
    last_problems, width_node = _before_output(graph, a, fit.loss)
    out += last_problems
    out += _output_problems(a, width_node, fit)
    out += _size_problems(t, dataset, fit.dname)
    out += _imbalance_problems(t, dataset, fit)
    out += _augment_problems(t, project.data.dataset, project.data.preprocessing, dataset, fit)
    return _sorted(out)


def _input_problems(graph, a, dataset, dname: str) -> list[Problem]:
    out = []
    inp, in_t = graph.nodes[a.input_id], a.shapes[a.input_id]
    want = tuple(int(s) for s in dataset.input_shape)
    if tuple(in_t.shape) != want:
        out.append(Problem(inp.id, f"{inp.label} takes {_tt(in_t.shape)} but {dname} gives {_tt(want)}",
                           f"set its shape to {_dims(want)}"))
    data_long = dataset.input_dtype == "long"
    if data_long != (in_t.dtype == "long"):
        out.append(Problem(inp.id, f"{inp.label} takes {'int64 token ids' if in_t.dtype == 'long' else 'float32 features'}"
                                   f" but {dname} gives {'int64 token ids' if data_long else 'float32 features'}",
                           f"set its dtype to {'int64' if data_long else 'float32'}"))
    if data_long and dataset.x_train.numel():
        top = int(dataset.x_train.max())
        for e in graph.outputs_of(inp.id):
            node = graph.nodes[e.dst]
            if node.spec.has_param("vocab") and int(node.params.get("vocab", 0)) <= top:
                out.append(Problem(node.id, f"{node.label} has vocab {node.params.get('vocab')} but {dname} uses "
                                            f"token ids up to {top}", f"set vocab to {top + 1} or more"))
    return out


def _loss_problems(t, dataset, fit: _Fit) -> list[Problem]:
    out, loss, task, dname = [], fit.loss, fit.task, fit.dname
    if task == "classification" and loss in REGRESSION_LOSSES:
        out.append(Problem(None, f"training.loss {loss} is a regression loss but {dname} has class labels",
                           "use cross_entropy (or hinge / bce_logits), or set data.task to regression"))
    if task == "regression" and loss in CLASS_LOSSES:
        out.append(Problem(None, f"training.loss {loss} needs class labels but {dname} has continuous targets",
                           "use mse, mae or huber, or set data.task to classification"))
    if task == "regression" and loss == "bce_logits" and dataset.y_train.numel():
        lo, hi = float(dataset.y_train.min()), float(dataset.y_train.max())
        if lo < 0 or hi > 1:
            out.append(Problem(None, f"training.loss bce_logits needs targets in [0, 1] but {dname} has values "
                                     f"from {lo:.3g} to {hi:.3g}", "use mse, mae or huber"))
    if t.monitor in MONITOR_TASK and MONITOR_TASK[t.monitor] != task:
        other = "val_loss, val_accuracy or val_f1" if task == "classification" else "val_loss, val_mae or val_r2"
        out.append(Problem(None, f"training.monitor {t.monitor} needs a {MONITOR_TASK[t.monitor]} task but {dname} "
                                 f"is {task}", f"monitor {other}"))
    return out


def _before_output(graph, a, loss: str):
    """Problems with the layer right before the Output, and the layer that sets the output width."""
    feed = graph.inputs_of(a.output_id)
    last = _producer(graph, feed[0].src, _keeps_values) if feed else None
    if last is None:
        return [], None
    out, act = [], last.spec.activation
    if act == "softmax" and loss in ("cross_entropy", "bce_logits"):
        out.append(Problem(last.id, f"{last.label} comes right before the Output, but {loss} applies "
                                    f"{'log-softmax' if loss == 'cross_entropy' else 'the sigmoid'} itself",
                           "delete the Softmax: the loss and the predictions work on raw logits"))
    elif act == "sigmoid" and loss in ("cross_entropy", "bce_logits"):
        out.append(Problem(last.id, f"{last.label} comes right before the Output, but {loss} expects raw "
                                    f"logits{' and applies the sigmoid itself' if loss == 'bce_logits' else ''}",
                           "delete the Sigmoid"))
    elif act in ("softmax", "sigmoid", "relu", "tanh") and loss == "hinge":
        out.append(Problem(last.id, f"{last.label} squashes the scores before the hinge loss",
                           "delete it: the margin loss wants raw scores", "warning"))
    elif act in ("relu", "leaky_relu") and loss in ("cross_entropy", "bce_logits"):
        out.append(Problem(last.id, f"{last.label} comes right before the Output, so logits cannot go "
                                    "negative", "delete it: end with Dense", "warning"))
    return out, _producer(graph, last.id, lambda spec: spec.keeps_values or bool(spec.activation))


def _output_problems(a, width_node, fit: _Fit) -> list[Problem]:
    """The output's shape and width against the targets (a class per sample or per position, or values)."""
    out_t, dname, k, loss = a.shapes[a.output_id], fit.dname, fit.k, fit.loss
    width = out_t.shape[-1] if out_t.shape else 1
    at = width_node.id if width_node is not None else a.output_id
    prefix = f"{width_node.label} gives" if width_node is not None else "The network gives"
    param = width_node.spec.width_param if width_node is not None else ""

    def set_width(n: int, extra: str = "") -> str:
        return (f"set {param} to {n}{extra}" if param else f"end the network with Dense(units={n}){extra}")

    def outputs(n: int) -> str:
        return f"{n} output{'s' if n != 1 else ''}"

    if fit.task == "classification" and len(fit.target_shape) == 1:       # per-position targets [N, T]
        steps = fit.target_shape[0]
        if len(out_t.shape) != 2 or out_t.shape[0] != steps:
            return [Problem(a.output_id, f"The Output gives {_tt(out_t.shape)} but {dname} has a class at each "
                                         f"of {steps} positions", f"make it [B, {steps}, {k}] (a Dense with "
                                         f"{k} units on each position of the sequence)")]
        if width != k and loss != "bce_logits":
            return [Problem(at, f"{prefix} {width} outputs per position but {dname} has {k} classes", set_width(k))]
        return []
    if fit.task == "classification":
        out = []
        if len(out_t.shape) != 1:
            out.append(Problem(a.output_id, f"The Output gives {_tt(out_t.shape)} per batch but {dname} has one "
                                            f"class per sample", f"reduce it to [B, {k}]: Flatten or GlobalAvgPool "
                                            "before the last Dense"))
        elif loss == "bce_logits":
            if not (width == k or (width == 1 and k == 2)):
                fix = set_width(1, " (binary)") if k == 2 else set_width(k, " (one-vs-rest) or use cross_entropy")
                out.append(Problem(at, f"{prefix} {outputs(width)} but {dname} has {k} classes", fix))
        elif width != k:
            out.append(Problem(at, f"{prefix} {outputs(width)} but {dname} has {k} classes", set_width(k)))
        if loss == "hinge" and k < 2:
            out.append(Problem(None, "training.loss hinge needs at least 2 classes", "use bce_logits"))
        return out
    want_k = math.prod(fit.target_shape) if fit.target_shape else 1
    what = f"{want_k} target value{'s' if want_k != 1 else ''}"
    if len(out_t.shape) != 1:
        return [Problem(a.output_id, f"The Output gives {_tt(out_t.shape)} but {dname} has {what} per "
                                     "sample", f"reduce it to [B, {want_k}] (Flatten before the last Dense)")]
    if width != want_k:
        return [Problem(at, f"{prefix} {outputs(width)} but {dname} has {what}", set_width(want_k))]
    return []


def _size_problems(t, dataset, dname: str) -> list[Problem]:
    out = []
    n_train = int(dataset.x_train.shape[0])
    if n_train == 0:
        out.append(Problem(None, f"{dname} has no training samples", "lower data.val_fraction and data.test_fraction"))
    elif t.batch_size > n_train:
        out.append(Problem(None, f"training.batch_size {t.batch_size} is larger than the {n_train} training samples",
                           f"each epoch is one batch of {n_train}; lower batch_size", "warning"))
    if int(dataset.x_val.shape[0]) == 0:
        out.append(Problem(None, f"{dname} has no validation samples, so val metrics are empty and the best "
                                 "epoch is chosen by the training loss", "raise data.val_fraction", "warning"))
    return out


def _imbalance_problems(t, dataset, fit: _Fit) -> list[Problem]:
    """Class weights and the balanced sampler need class labels (the sampler one per sample), custom
    weights one per class; an imbalanced training split with neither is a warning."""
    from .imbalance import class_counts, imbalance
    weights, sampler = getattr(t, "class_weights", "none"), getattr(t, "sampler", "shuffle")
    if fit.task != "classification":
        return [Problem(None, f"training.{name} {value} needs class labels but {fit.dname} has continuous targets",
                        f"set training.{name} to {plain}")
                for name, value, plain in (("class_weights", weights, "none"), ("sampler", sampler, "shuffle"))
                if value != plain]
    out = []
    if sampler == "balanced" and len(fit.target_shape) > 0:
        out.append(Problem(None, f"training.sampler balanced needs one class per sample but {fit.dname} has a class "
                                 "at each position", "set training.sampler to shuffle (class weights work per position)"))
    if weights == "custom" and len(t.custom_class_weights) != fit.k:
        names = ", ".join(str(n) for n in list(getattr(dataset, "class_names", None) or [])[:20])
        out.append(Problem(None, f"training.custom_class_weights has {len(t.custom_class_weights)} weights but "
                                 f"{fit.dname} has {fit.k} classes",
                           f"give one weight per class ({fit.k}), in class order" + (f": {names}" if names else "")))
    if len(fit.target_shape) > 0:        # per-position tokens: skewed by nature (letters, words)
        return out
    found = imbalance(class_counts(dataset.y_train, fit.k), getattr(dataset, "class_names", None))
    if found is not None and weights == "none" and sampler == "shuffle":
        out.append(Problem(None, f"{fit.dname} is imbalanced: {found[1]}, so the loss is dominated by the large "
                                 "classes and the small ones' recall suffers",
                           "set training.class_weights to balanced (or training.sampler to balanced) and watch "
                           "balanced accuracy and macro-F1 rather than accuracy", "warning"))
    return out


def _augment_problems(t, name: str, preprocessing: str, dataset, fit: _Fit) -> list[Problem]:
    """A flip the data set's definition says changes the label (FLIP_CHANGES_LABEL), and settings
    that do not apply to this kind of data (they are ignored); pixel-moving transforms on images
    preprocessed per pixel position (measured to hurt: tests/core/test_augment.py)."""
    from ..data.builtin import FLIP_CHANGES_LABEL
    from .augment import GEOMETRIC, ignored, modality
    settings = getattr(t, "augment", None) or {}
    out = []
    for key in FLIP_CHANGES_LABEL.get(name, ()):
        if settings.get(key):
            out.append(Problem(None, f"training.augment {key} on {fit.dname}: a flipped sample means something else "
                                     "(a mirrored 2 is not a 2), so the model learns wrong labels",
                               f"set training.augment {key} to 0; use crop_pad, rotate or scale instead", "warning"))
    kind = modality(dataset.x_train)
    moves = [k for k in GEOMETRIC if settings.get(k)]
    if kind == "image" and moves and preprocessing not in ("none",):
        out.append(Problem(None, f"training.augment {', '.join(moves)} moves pixels, but data.preprocessing "
                                 f"{preprocessing} scales each pixel position on its own, so a moved stroke is "
                                 "scaled for another place (on a quarter of digits: 0.87 test accuracy vs 0.93 without)",
                           "set data.preprocessing to none (BatchNorm after the first conv rescales) or use only "
                           "brightness, contrast, noise and erasing", "warning"))
    for key in ignored(settings, kind):
        out.append(Problem(None, f"training.augment {key} does not apply to {fit.dname} ({kind} data) and is ignored",
                           f"set training.augment {key} to 0", "warning"))
    return out


def _sorted(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"] + [p for p in problems if p.severity != "error"]
