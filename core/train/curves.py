"""ROC and precision–recall curves of a binary classifier, from its scores on the validation and
test splits (the positive class is class 1).

Scores are probabilities of class 1: softmax[:, 1] for a two-unit cross-entropy output, the
sigmoid for one-unit BCE; hinge outputs are margins, not probabilities, so those runs get none.
ROC AUC is the trapezoid area under (FPR, TPR) over every distinct score (ties handled as one
threshold), as scikit-learn's roc_auc_score; the PR AUC is the average precision
Σ (R_n − R_{n−1}) P_n, as sklearn's average_precision_score (no interpolation, which
overestimates). The stored curves are downsampled to ≤ MAX_POINTS points; the areas are computed
on the full curves. `by_threshold` holds the confusion counts at thresholds 0, 0.01, …, 1
(positive when score ≥ t), which the dashboard's threshold slider shows."""
from __future__ import annotations

from typing import Any

import numpy as np

MAX_POINTS = 200
GRID = 101          # thresholds 0, 0.01, ..., 1


def _counts(scores, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds descending, cumulative TP, cumulative FP) at each distinct score."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    t = np.asarray(y).reshape(-1) == 1
    order = np.argsort(-s, kind="mergesort")
    s, t = s[order], t[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]     # the last index of each distinct score
    tp = np.cumsum(t)[last]
    fp = (last + 1) - tp
    return s[last], tp.astype(np.float64), fp.astype(np.float64)


def roc(scores, y) -> dict[str, Any]:
    """{"fpr", "tpr", "threshold", "auc"}: the full ROC curve, starting at (0, 0)."""
    thr, tp, fp = _counts(scores, y)
    pos, neg = tp[-1] if len(tp) else 0.0, fp[-1] if len(fp) else 0.0
    if pos == 0 or neg == 0:
        raise ValueError("ROC needs both classes in the split")
    tpr, fpr = np.r_[0.0, tp / pos], np.r_[0.0, fp / neg]
    return {"fpr": fpr, "tpr": tpr, "threshold": np.r_[np.inf, thr], "auc": float(np.trapezoid(tpr, fpr))}


def pr(scores, y) -> dict[str, Any]:
    """{"recall", "precision", "threshold", "auc"}: the full PR curve (recall rising from 0, where
    precision is taken as 1, as sklearn draws it) and the average precision as its area."""
    thr, tp, fp = _counts(scores, y)
    pos = tp[-1] if len(tp) else 0.0
    if pos == 0:
        raise ValueError("a precision-recall curve needs positive samples in the split")
    precision, recall = tp / (tp + fp), tp / pos
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return {"recall": np.r_[0.0, recall], "precision": np.r_[1.0, precision], "threshold": np.r_[np.inf, thr],
            "auc": ap}


def by_threshold(scores, y, grid: int = GRID) -> dict[str, list]:
    """Confusion counts (tp, fp, tn, fn) at `grid` evenly spaced thresholds in [0, 1]."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    t = np.asarray(y).reshape(-1) == 1
    ths = np.linspace(0.0, 1.0, grid)
    predicted = s[None, :] >= ths[:, None]
    tp = (predicted & t).sum(1)
    fp = (predicted & ~t).sum(1)
    pos, neg = int(t.sum()), int((~t).sum())
    return {"threshold": [round(float(x), 6) for x in ths], "tp": tp.tolist(), "fp": fp.tolist(),
            "tn": (neg - fp).tolist(), "fn": (pos - tp).tolist()}


def downsample(*columns, limit: int = MAX_POINTS) -> list[list[float]]:
    """The same ≤ `limit` rows of each column, evenly spaced by index, first and last kept;
    infinities (the curve's start threshold) become None for JSON."""
    n = len(columns[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int)) if n else np.zeros(0, int)
    return [[float(v) if np.isfinite(v) else None for v in np.asarray(c, dtype=np.float64)[keep]] for c in columns]


def curves(scores, y) -> dict[str, Any]:
    """One split's curves for result.json: ROC and PR (downsampled), their areas, the counts."""
    r, p = roc(scores, y), pr(scores, y)
    fpr, tpr, rt = downsample(r["fpr"], r["tpr"], r["threshold"])
    rec, prec, pt = downsample(p["recall"], p["precision"], p["threshold"])
    t = np.asarray(y).reshape(-1) == 1
    return {"roc_auc": r["auc"], "pr_auc": p["auc"], "positives": int(t.sum()), "negatives": int((~t).sum()),
            "roc": {"fpr": fpr, "tpr": tpr, "threshold": rt},
            "pr": {"recall": rec, "precision": prec, "threshold": pt}, "by_threshold": by_threshold(scores, y)}


def scores_of(rows, kind: str):
    """Class-1 probabilities from output rows (calibration.outputs): None for other kinds."""
    import torch
    if kind == "binary":
        return torch.sigmoid(rows.float()).numpy()
    if kind == "softmax" and rows.dim() == 2 and rows.shape[1] == 2:
        return torch.softmax(rows.float(), -1)[:, 1].numpy()
    return None
