"""The preprocessing that travels with an exported network: a checked dict (read from a run's
preprocessing.json) and the same arithmetic as a torch module."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from .outcome import ExportError

PRE_KINDS = ("none", "center", "standardize", "minmax", "pca_whiten")


def check_preprocessing(pre: dict | None, input_type=None) -> dict:
    """A validated, normalized copy of a preprocessor dict (see core.data):
    {"kind": none|center|standardize|minmax, "input_shape", "shift": [d], "scale": [d]} meaning
    x' = (flatten(x) - shift) * scale reshaped back; or {"kind": "pca_whiten", "input_shape",
    "shift": [d], "matrix": [[d×d]]} meaning x' = (flatten(x) - shift) @ matrix."""
    if pre is None:
        return {"kind": "none", "input_shape": list(input_type.shape) if input_type else []}
    if not isinstance(pre, dict):
        raise ExportError("preprocessing must be an object (the run's preprocessing.json)")
    kind = pre.get("kind", "none")
    if kind not in PRE_KINDS:
        raise ExportError(f"preprocessing kind {kind!r} is unknown: use one of {', '.join(PRE_KINDS)}")
    shape = pre.get("input_shape")
    if shape is None and input_type is not None:
        shape = list(input_type.shape)
    if not isinstance(shape, (list, tuple)) or not all(_is_int(s) and s > 0 for s in shape):
        raise ExportError(f"preprocessing input_shape must be a list of positive sizes (got {shape!r})")
    shape = [int(s) for s in shape]
    if input_type is not None and tuple(shape) != tuple(input_type.shape):
        raise ExportError(f"the preprocessing was fitted on inputs shaped {shape} but the network takes "
                          f"{list(input_type.shape)}: export with the run's own preprocessing.json")
    out: dict[str, Any] = {"kind": kind, "input_shape": shape}
    if kind == "none":
        return out
    if input_type is not None and input_type.dtype != "float":
        raise ExportError(f"{kind} preprocessing needs float inputs; this network takes token ids")
    d = math.prod(shape)
    out["shift"] = _floats(pre.get("shift"), d, "shift")
    if kind == "pca_whiten":
        matrix = pre.get("matrix")
        if not isinstance(matrix, (list, tuple)) or len(matrix) != d:
            raise ExportError(f"preprocessing matrix must be {d}×{d}")
        out["matrix"] = [_floats(row, d, "matrix row") for row in matrix]
    else:
        scale = pre.get("scale")
        out["scale"] = [1.0] * d if scale is None else _floats(scale, d, "scale")
    return out


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _floats(values, d: int, what: str) -> list[float]:
    if not isinstance(values, (list, tuple)) or len(values) != d:
        raise ExportError(f"preprocessing {what} must hold {d} numbers")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ExportError(f"preprocessing {what} holds {v!r}: every value must be a finite number")
        out.append(float(v))
    return out


def read_preprocessing(path: str | os.PathLike) -> dict:
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{p}: no such preprocessing file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ExportError(f"{p}: not a preprocessing JSON file ({e})") from None


def preprocessing_beside(weights_path) -> dict | None:
    """A run folder keeps preprocessing.json beside its weights: use it when none is given."""
    if weights_path is None:
        return None
    candidate = Path(weights_path).parent / "preprocessing.json"
    return read_preprocessing(candidate) if candidate.is_file() else None


def preprocess_module(pre: dict):
    """The preprocessing as a torch module (buffers, no parameters): exports include it."""
    import torch
    from torch import nn

    class Preprocess(nn.Module):
        def __init__(self, pre: dict):
            super().__init__()
            self.kind = pre["kind"]
            if self.kind != "none":
                self.register_buffer("shift", torch.tensor(pre["shift"], dtype=torch.float32))
            if "scale" in pre:
                self.register_buffer("scale", torch.tensor(pre["scale"], dtype=torch.float32))
            if "matrix" in pre:
                self.register_buffer("matrix", torch.tensor(pre["matrix"], dtype=torch.float32))

        def forward(self, x):
            if self.kind == "none":
                return x
            flat = x.reshape(x.shape[0], -1) - self.shift
            flat = flat @ self.matrix if self.kind == "pca_whiten" else flat * self.scale
            return flat.reshape(x.shape)

    return Preprocess(pre)


def deployable(network, pre: dict, temperature: float | None = None):
    """network(preprocess(x)) as one module: raw inputs in, outputs out; with a calibration
    temperature the outputs are the calibrated logits network(preprocess(x)) / T."""
    from torch import nn

    class Deployable(nn.Module):
        def __init__(self, preprocess, network):
            super().__init__()
            self.preprocess = preprocess
            self.network = network

        def forward(self, x):
            return self.network(self.preprocess(x))

    class Calibrated(Deployable):
        def forward(self, x):
            return self.network(self.preprocess(x)) / temperature

    cls = Deployable if temperature is None else Calibrated
    return cls(preprocess_module(pre), network).eval()
