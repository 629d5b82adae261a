"""Comparing an export's outputs with LayerLab's own: NaN anywhere is a failure, never 0."""
from __future__ import annotations

import math


def worst_diff(worst: float, got, want) -> float:
    """max(worst, max |got - want|) for numpy arrays or tensors; NaN (or inf) gives inf."""
    d = abs(got - want)
    n = d.numel() if hasattr(d, "numel") else d.size
    m = float(d.max()) if n else 0.0
    return math.inf if not math.isfinite(m) else max(worst, m)
