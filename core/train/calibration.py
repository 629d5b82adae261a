"""Calibration of a classifier: the expected calibration error (ECE) with its reliability
diagram, and temperature scaling (Guo et al. 2017).

ECE: the samples (every position, for per-position targets) are put in 15 equal-width bins by
their confidence (the probability of the predicted class); ECE = Σ_bins n_b/N · |acc_b − conf_b|.
Probabilities: softmax for cross-entropy, sigmoid for one-unit binary BCE (confidence max(p, 1−p))
and for one-vs-rest BCE units (the predicted unit's sigmoid). Hinge outputs are margins, not
probabilities: no ECE.

Temperature scaling divides the logits by one scalar T > 0 fitted on the validation split by
minimizing the NLL (LBFGS on log T, so T stays positive). Dividing by T > 0 keeps every argmax,
so accuracy is unchanged; predictions here always come from the unscaled logits.

end_report.py puts val_ece, test_ece and the reliability bins in result.json;
`calibrate(...)` fits T for a model in memory; `calibrate_run(run_dir)` does it for a run folder
and writes calibration.json, which every export reads (`for_weights`).
"""
from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

BINS = 15
FILE = "calibration.json"
FIT_ROWS = 500_000      # rows (samples × positions) the temperature is fitted on, at most


class CalibrationError(ValueError):
    """Why a run cannot be calibrated, in one line."""


def kind_of(task: str, loss: str, out_width: int) -> str | None:
    """How outputs become probabilities: "softmax", "binary", "sigmoid", or None (no probabilities)."""
    if task != "classification":
        return None
    if loss == "cross_entropy":
        return "softmax"
    if loss == "bce_logits":
        return "binary" if out_width == 1 else "sigmoid"
    return None


def _rows(out: torch.Tensor, y: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs as [rows, units] float32 and targets as [rows] (positions of sequences are rows)."""
    if kind == "binary":
        return out.reshape(-1).float(), y.reshape(-1)
    return out.reshape(-1, out.shape[-1]).float(), y.reshape(-1)


def confidence(logits: torch.Tensor, kind: str, t: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(confidence, prediction) per row; the prediction ignores t (it cannot change it)."""
    if kind == "binary":
        p = torch.sigmoid(logits / t)
        return torch.maximum(p, 1 - p), (logits > 0).long()
    pred = logits.argmax(-1)
    if kind == "softmax":
        conf = torch.softmax(logits / t, -1).gather(-1, pred[:, None])[:, 0]
    else:
        conf = torch.sigmoid(logits.gather(-1, pred[:, None])[:, 0] / t)
    return conf, pred


class Bins:
    """Running per-bin sums of confidence and correctness: chunks add up without keeping outputs."""

    def __init__(self, bins: int = BINS):
        self.n = bins
        self.count = torch.zeros(bins, dtype=torch.float64)
        self.conf = torch.zeros(bins, dtype=torch.float64)
        self.correct = torch.zeros(bins, dtype=torch.float64)

    def add(self, conf: torch.Tensor, correct: torch.Tensor) -> None:
        conf = conf.detach().double().cpu()
        # bin b holds (b/n, (b+1)/n]; a confidence of exactly 0 joins the first bin
        idx = (torch.ceil(conf * self.n).long() - 1).clamp(0, self.n - 1)
        self.count += torch.bincount(idx, minlength=self.n).double()
        self.conf += torch.bincount(idx, weights=conf, minlength=self.n)
        self.correct += torch.bincount(idx, weights=correct.detach().double().cpu(), minlength=self.n)

    def report(self) -> dict[str, Any]:
        total = float(self.count.sum())
        has = self.count > 0
        conf = torch.where(has, self.conf / self.count.clamp_min(1), torch.zeros_like(self.conf))
        acc = torch.where(has, self.correct / self.count.clamp_min(1), torch.zeros_like(self.conf))
        ece = float(((self.count / max(total, 1.0)) * (acc - conf).abs()).sum())
        return {"ece": ece, "bins": self.n, "count": [int(c) for c in self.count.tolist()],
                "confidence": [float(c) if h else None for c, h in zip(conf.tolist(), has.tolist())],
                "accuracy": [float(a) if h else None for a, h in zip(acc.tolist(), has.tolist())]}


def reliability(logits: torch.Tensor, y: torch.Tensor, kind: str, t: float = 1.0) -> dict[str, Any]:
    """ECE and the reliability diagram's bins for outputs already shaped as rows (`_rows`)."""
    bins = Bins()
    conf, pred = confidence(logits, kind, t)
    bins.add(conf, (pred == y.long()).double())
    return bins.report()


def outputs(model, x: torch.Tensor, y: torch.Tensor, kind: str, batch: int = 4096, autocast=None):
    """The model's outputs on (x, y) in eval mode as rows (`_rows`), on the host in float32."""
    was_training = model.training
    model.eval()
    outs, ys = [], []
    try:
        with torch.inference_mode():
            for lo in range(0, x.shape[0], batch):
                if autocast is not None:
                    with autocast():
                        out = model(x[lo:lo + batch]).float()
                else:
                    out = model(x[lo:lo + batch])
                o, t = _rows(out, y[lo:lo + batch], kind)
                outs.append(o.cpu())
                ys.append(t.cpu())
    finally:
        model.train(was_training)
    return torch.cat(outs), torch.cat(ys)


def nll(logits: torch.Tensor, y: torch.Tensor, kind: str, t) -> torch.Tensor:
    """Mean negative log-likelihood of the targets under logits / t."""
    z = logits / t
    if kind == "softmax":
        return F.cross_entropy(z, y.long())
    if kind == "binary":
        return F.binary_cross_entropy_with_logits(z, y.to(z.dtype))
    return F.binary_cross_entropy_with_logits(z, F.one_hot(y.long(), z.shape[-1]).to(z.dtype))


def fit_temperature(logits: torch.Tensor, y: torch.Tensor, kind: str) -> float:
    """The T > 0 minimizing the NLL of logits / T: LBFGS on log T (float64, strong Wolfe line
    search) from T = 1. At most FIT_ROWS rows, a seeded subset beyond that."""
    if logits.shape[0] > FIT_ROWS:
        keep = torch.randperm(logits.shape[0], generator=torch.Generator().manual_seed(0))[:FIT_ROWS]
        logits, y = logits[keep], y[keep]
    z = logits.detach().double()
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=1.0, max_iter=100, tolerance_grad=1e-10, tolerance_change=1e-12,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nll(z, y, kind, log_t.exp())
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    t = float(log_t.detach().exp())
    if not math.isfinite(t) or t <= 0:
        raise CalibrationError(f"the temperature fit did not converge (T = {t})")
    return t


def _width(compiled) -> int:
    return compiled.output_type.shape[-1] if compiled.output_type.shape else 1


def calibrate(model, data: dict[str, torch.Tensor], kind: str, batch: int = 4096, autocast=None) -> dict[str, Any]:
    """Fit T on data's validation split; ECE and reliability before and after on val and test.
    Accuracy is the same before and after (the argmax does not change): it is reported once."""
    if data["x_val"].shape[0] == 0:
        raise CalibrationError("the run has no validation split to fit the temperature on: "
                               "set data.val_fraction above 0 and retrain")
    result: dict[str, Any] = {"kind": kind}
    rows = {}
    for split in ("val", "test"):
        if data[f"x_{split}"].shape[0]:
            rows[split] = outputs(model, data[f"x_{split}"], data[f"y_{split}"], kind, batch, autocast)
    t = fit_temperature(*rows["val"], kind)
    result["temperature"] = t
    for split, (z, y) in rows.items():
        before, after = reliability(z, y, kind), reliability(z, y, kind, t)
        _, pred = confidence(z, kind)
        result[split] = {"ece_before": before["ece"], "ece_after": after["ece"],
                         "nll_before": float(nll(z.double(), y, kind, 1.0)),
                         "nll_after": float(nll(z.double(), y, kind, t)),
                         "accuracy": float((pred == y.long()).double().mean()),
                         "reliability_before": before, "reliability_after": after}
    return result


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def for_weights(weights_path) -> tuple[float | None, str]:
    """(T, note) for exporting `weights_path`: the T of the calibration.json beside it when it
    was fitted on this very file (same SHA-256), else None with a note saying why not (or "")."""
    from .run_files import read_json

    if weights_path is None:
        return None, ""
    path = Path(weights_path)
    cal = read_json(path.parent / FILE)
    if not cal:
        return None, ""
    fits = cal.get("fits") if isinstance(cal.get("fits"), list) else [cal]
    try:
        digest = sha256(path)
    except OSError:
        digest = None
    for fit in fits:
        if isinstance(fit, dict) and digest is not None and fit.get("weights_sha256") == digest:
            t = fit.get("temperature")
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
                return None, f"{path.parent / FILE} holds no valid temperature: not applied"
            return float(t), ""
    return None, (f"the run's calibration.json was fitted on other weights than {path.name}: "
                  "the temperature is not applied (calibrate again)")
