"""What result.json carries about a finished run beyond its epoch metrics, for the trainer and for
rank 0 of a DDP run alike (`end_report`) and for the exported train script (`run_fields`, which
it copies): the per-class report of each split's confusion matrix
with the class names, and from the model's outputs on the validation and test splits the
calibration (val/test_ece, reliability: calibration.py), a binary run's ROC / PR curves
(val/test_roc_auc, val/test_pr_auc, curves: curves.py) and a next-token run's perplexity
(val/test_perplexity: generate.py).

Each split goes through the model once: the outputs a caller already has (the trainer's final
test evaluation and last validation pass hand their own over) are used as they are, the other splits get one forward pass
in eval mode with the evaluation's batch and autocast, so the numbers equal those of a separate
pass per measure.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .calibration import _rows, kind_of, reliability
from .curves import curves, scores_of
from .generate import perplexity_of
from .metrics import class_report

SPLITS = ("val", "test")


def forward(model, x: torch.Tensor, batch: int, autocast=None) -> list[torch.Tensor]:
    """The model's outputs on x in eval mode, chunk by chunk (as metrics.evaluate computes them)."""
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.inference_mode():
            for lo in range(0, x.shape[0], batch):
                if autocast is not None:
                    with autocast():
                        outs.append(model(x[lo:lo + batch]).float())
                else:
                    outs.append(model(x[lo:lo + batch]))
    finally:
        model.train(was_training)
    return outs


def end_report(project, dataset, s, confusions: dict, outputs: dict | None = None) -> dict[str, Any]:
    """result.json's end-of-run fields. `s`: the run's set-up (setup.build: compiled, data,
    eval_batch, autocast); `confusions`: split -> confusion matrix of its latest evaluation;
    `outputs`: split -> the output chunks a caller already computed with the final weights."""
    from .calibration import _width
    from .generate import GenerateError, check_sequence

    try:
        check_sequence(project)
        sequence = True
    except GenerateError:
        sequence = False
    kind = kind_of(dataset.task, project.training.loss, _width(s.compiled))
    return run_fields(s.compiled.module, s.data, kind, int(getattr(dataset, "num_classes", 0) or 0) == 2, sequence,
                      getattr(dataset, "class_names", None), confusions, s.eval_batch, s.autocast, outputs)


def run_fields(model, data: dict, kind, binary: bool, sequence: bool, names, confusions: dict, batch: int,
               autocast=None, outputs: dict | None = None) -> dict[str, Any]:
    """`end_report` for a model and its data splits as plain values (the exported train script
    calls it too): `kind` as calibration.kind_of says (None: no probabilities), `binary` for two
    classes, `sequence` for a next-token model."""
    out: dict[str, Any] = {"class_report": {k: class_report(v, names) for k, v in confusions.items()}}
    if kind is not None:
        out["reliability"] = {}
    drawn: dict[str, Any] = {}
    for split in SPLITS:
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        if sequence and x.shape[0] == 0:
            out[f"{split}_perplexity"] = None
        if (kind is None and not sequence) or x.shape[0] == 0:
            continue
        chunks = (outputs or {}).get(split)
        if chunks is None:
            chunks = forward(model, x, batch, autocast)
        raw = chunks[0] if len(chunks) == 1 else torch.cat(chunks)
        if sequence:
            out[f"{split}_perplexity"] = perplexity_of(raw.float(), y)
        if kind is None:
            continue
        rows, targets = (t.cpu() for t in _rows(raw, y, kind))
        rep = reliability(rows, targets, kind)
        out[f"{split}_ece"] = rep["ece"]
        out["reliability"][split] = rep
        if binary and y.dim() == 1:
            scores, t = scores_of(rows, kind), targets.numpy()
            if scores is not None and len(np.unique(t)) >= 2:     # one class only: no curve to draw
                c = drawn[split] = curves(scores, t)
                out[f"{split}_roc_auc"], out[f"{split}_pr_auc"] = c["roc_auc"], c["pr_auc"]
    if drawn:
        out["curves"] = drawn
    return out
