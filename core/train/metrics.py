"""Evaluation metrics, computed on the device with one host sync per evaluation.

Classification: accuracy and macro-F1 (scikit-learn's definition: the unweighted mean of the
per-class F1 over every class present in the targets or the predictions). Per-position
(sequence) targets count every position. Balanced accuracy (the mean recall over the classes
present in the targets) rides along as `<split>_balanced_accuracy`, and `class_report` gives the
per-class precision / recall / F1 of a confusion matrix (result.json, the confusion tab). Regression: MAE (mean over all outputs) and R²
(per-output 1 − SS_res/SS_tot, averaged over outputs; a constant target column scores 1 when
predicted exactly, else 0, as scikit-learn's force_finite does).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

CLASSIFICATION = ("accuracy", "f1")
REGRESSION = ("mae", "r2")


def metric_names(task: str, prefix: str = "val_") -> list[str]:
    return [prefix + m for m in (CLASSIFICATION if task == "classification" else REGRESSION)]


def confusion(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[num_classes, num_classes] counts, rows = true class, columns = predicted class."""
    idx = target.reshape(-1).long() * num_classes + pred.reshape(-1).long()
    return torch.bincount(idx, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def accuracy_f1(cm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cm = cm.double()
    tp = cm.diagonal()
    true_n, pred_n = cm.sum(1), cm.sum(0)
    acc = tp.sum() / cm.sum().clamp_min(1)
    present = (true_n + pred_n) > 0
    f1 = torch.where(present, 2 * tp / (true_n + pred_n).clamp_min(1), torch.zeros_like(tp))
    macro = f1.sum() / present.sum().clamp_min(1)
    return acc, macro


def regression_stats(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pred = pred.reshape(target.shape[0], -1).double()
    target = target.reshape(target.shape[0], -1).double()
    mae = (pred - target).abs().mean()
    ss_res = ((target - pred) ** 2).sum(0)
    ss_tot = ((target - target.mean(0)) ** 2).sum(0)
    exact = (ss_res == 0).double()
    r2 = torch.where(ss_tot > 0, 1 - ss_res / ss_tot.clamp_min(1e-300), exact)
    return mae, r2.mean()


def predictor(loss: str, output_width: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Logits -> class ids for a classification loss."""
    if loss == "bce_logits" and output_width == 1:
        return lambda out: (out.reshape(out.shape[0], -1)[:, 0] > 0).long()
    return lambda out: out.argmax(-1)


def _f1_from_counts(cm: np.ndarray) -> tuple[float, float]:
    cm = cm.astype(np.float64)
    tp, true_n, pred_n = np.diag(cm), cm.sum(1), cm.sum(0)
    total = cm.sum()
    present = (true_n + pred_n) > 0
    f1 = np.where(present, 2 * tp / np.maximum(true_n + pred_n, 1), 0.0)
    return float(tp.sum() / max(total, 1)), float(f1.sum() / max(present.sum(), 1))


def evaluate(model, loss_fn, x: torch.Tensor, y: torch.Tensor, task: str, num_classes: int,
             predict: Callable | None = None, transform: Callable | None = None, batch: int = 4096,
             autocast=None, prefix: str = "val_", confusions: dict | None = None,
             outputs: dict | None = None) -> dict[str, float]:
    """Loss and task metrics over (x, y) in eval mode; `transform` maps outputs before regression
    metrics (a sigmoid for multi-label BCE). Returns {} for an empty split. A classification
    split's confusion matrix goes into `confusions[split]` when given, and the model's output
    chunks into `outputs[split]` (end_report.py reuses the final test pass's). Runs once per
    epoch, so it keeps the op count low: one forward per chunk, then the counts go to the host once."""
    n = x.shape[0]
    if n == 0:
        return {}
    was_training = model.training
    model.eval()
    losses, preds, kept = [], [], []
    try:
        with torch.inference_mode():
            for lo in range(0, n, batch):
                xb, yb = x[lo:lo + batch], y[lo:lo + batch]
                if autocast is not None:
                    with autocast():
                        out = model(xb).float()
                else:
                    out = model(xb)
                if outputs is not None:
                    kept.append(out)
                losses.append(loss_fn(out, yb) * xb.shape[0])
                preds.append(predict(out) if task == "classification" else (transform(out) if transform else out))
            loss = (losses[0] if len(losses) == 1 else torch.stack(losses).sum()) / n
            pred = preds[0] if len(preds) == 1 else torch.cat(preds)
            if task == "classification":
                cm = confusion(pred, y, num_classes).cpu().numpy()
                a, b = _f1_from_counts(cm)
            else:
                # float64 on the host: MPS has no float64, and [N, k] predictions are small
                a, b = (float(v) for v in torch.stack(regression_stats(pred.cpu(), y.cpu())).tolist())
            value = float(loss)
    finally:
        model.train(was_training)
    names = ["loss", *(CLASSIFICATION if task == "classification" else REGRESSION)]
    out = {prefix + k: v for k, v in zip(names, (value, a, b))}
    if task == "classification":
        out.update(class_summary(cm, prefix))
        if confusions is not None:
            confusions[prefix.rstrip("_")] = cm
    if outputs is not None:
        outputs[prefix.rstrip("_")] = kept
    return out


def class_report(cm, names=None) -> dict:
    """Per-class precision, recall, F1 and support of a confusion matrix (rows true, columns
    predicted), with accuracy, macro-F1 (as `accuracy_f1`) and balanced accuracy, as plain lists and
    floats. A class never predicted has precision 0 and one never seen recall 0 (scikit-learn's
    zero_division=0); balanced accuracy averages recall over the classes seen."""
    cm = np.asarray(cm, dtype=np.float64)
    k = cm.shape[0]
    tp, true_n, pred_n = np.diag(cm), cm.sum(1), cm.sum(0)
    precision = np.where(pred_n > 0, tp / np.maximum(pred_n, 1), 0.0)
    recall = np.where(true_n > 0, tp / np.maximum(true_n, 1), 0.0)
    present = (true_n + pred_n) > 0
    f1 = np.where(present, 2 * tp / np.maximum(true_n + pred_n, 1), 0.0)
    seen = true_n > 0
    names = list(names) if names is not None and len(names) == k else [str(i) for i in range(k)]
    return {"classes": names, "precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(),
            "support": [int(v) for v in true_n],
            "accuracy": float(tp.sum() / max(cm.sum(), 1)),
            "balanced_accuracy": float(recall[seen].mean()) if seen.any() else 0.0,
            "macro_f1": float(f1.sum() / max(present.sum(), 1))}


def class_summary(cm, prefix: str = "val_") -> dict[str, float]:
    """The per-split scalars `evaluate` adds for classification: balanced accuracy."""
    cm = np.asarray(cm, dtype=np.float64)
    true_n = cm.sum(1)
    seen = true_n > 0
    recall = np.diag(cm)[seen] / true_n[seen]
    return {f"{prefix}balanced_accuracy": float(recall.mean()) if seen.any() else 0.0}
