"""Looking at what a trained classifier does: its confusion matrix and, for 2-D inputs, its
decision regions on a grid. Both run in eval mode without gradients and restore the mode."""
from __future__ import annotations

import numpy as np
import torch

from .probes import probe_mode


def _module(model):
    from ..compiler import Compiled
    return model.module if isinstance(model, Compiled) else model


def _device(module) -> torch.device:
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _outputs(module, x: torch.Tensor, batch: int) -> torch.Tensor:
    """Outputs on the CPU, computed batch by batch on the model's device."""
    dev = _device(module)
    with probe_mode(module):
        parts = [module(x[i:i + batch].to(dev)).float().cpu() for i in range(0, max(len(x), 1), batch)]
    return torch.cat(parts)


def predict_classes(out: torch.Tensor) -> torch.Tensor:
    """Logits -> class ids: argmax over the last axis, or logit > 0 for one binary unit."""
    if out.shape[-1] == 1:
        return (out[..., 0] > 0).long()
    return out.argmax(-1)


def confusion_matrix(model, x, y, num_classes: int, batch: int = 512) -> np.ndarray:
    """[num_classes, num_classes] int64 counts: rows = true class, columns = predicted class.
    Per-position targets [N, T] (with outputs [N, T, V]) count every position."""
    module = _module(model)
    x, y = torch.as_tensor(x), torch.as_tensor(y).long()
    pred = predict_classes(_outputs(module, x, batch)).reshape(-1).cpu()
    true = y.reshape(-1).cpu()
    if len(pred) != len(true):
        raise ValueError(f"the network gives {len(pred)} predictions for {len(true)} targets: per-position "
                         "targets need a per-position output [B, T, classes]")
    if len(true) and (int(true.min()) < 0 or int(true.max()) >= num_classes):
        raise ValueError(f"targets must be class ids from 0 to {num_classes - 1} "
                         f"(got {int(true.min())} to {int(true.max())})")
    pred = pred.clamp(0, num_classes - 1)  # a wider output layer than classes: count extras as the last
    counts = torch.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).numpy().copy()


def decision_boundary(model, raw_x, preprocessor=None, resolution: int = 100, margin: float = 0.5,
                      kind: str = "probs", batch: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate the network on a resolution×resolution grid over raw_x's range (± margin, in
    raw feature units). The grid is built in RAW feature space, so it can be drawn under the
    raw data, and passed through `preprocessor.transform` (the data set's, fitted on the
    train split; None = no preprocessing) before the network.

    Returns (xs, ys, grid) with grid[i, j] the result at (xs[j], ys[i]) (row-major, as
    pyqtgraph's ImageItem(axisOrder='row-major') expects):
      kind "probs": class probabilities [res, res, C] (softmax; sigmoid for one output unit)
      kind "class": predicted class ids [res, res]
      kind "value": raw outputs [res, res, K] (regression)"""
    if kind not in ("probs", "class", "value"):
        raise ValueError(f"kind must be probs, class or value (got {kind!r})")
    raw = np.asarray(torch.as_tensor(raw_x).detach().cpu(), dtype=np.float64)
    if raw.ndim != 2 or raw.shape[1] != 2 or len(raw) == 0:
        raise ValueError(f"a decision boundary needs samples with 2 features, shaped [N, 2] (got {list(raw.shape)}): "
                         "it is only drawn for 2-D inputs")
    lo, hi = raw.min(0) - margin, raw.max(0) + margin
    xs = np.linspace(lo[0], hi[0], resolution)
    ys = np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys)  # gx[i, j] = xs[j], gy[i, j] = ys[i]
    points = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32))
    if preprocessor is not None:
        points = torch.as_tensor(preprocessor.transform(points), dtype=torch.float32)
    out = _outputs(_module(model), points, batch).detach().float().cpu()
    out = out.reshape(len(points), -1)
    if kind == "class":
        grid = predict_classes(out)
        return xs, ys, grid.reshape(resolution, resolution).numpy().copy()
    if kind == "probs":
        out = torch.sigmoid(out) if out.shape[1] == 1 else torch.softmax(out, 1)
    return xs, ys, out.reshape(resolution, resolution, -1).numpy().copy()
