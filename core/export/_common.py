"""What every export format shares: the trained network with its weights, the preprocessing
that travels with it (as a checked dict and as a torch module), and safe names."""
from __future__ import annotations

import json
import keyword
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compiler import Compiled, compile_graph
from ..project import Project
from ..weights import WeightsError, load_weights, nonfinite

PRE_KINDS = ("none", "center", "standardize", "minmax", "pca_whiten")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ExportError(ValueError):
    """An export that cannot be made; the message says why and what to do."""


class Exported(list):
    """The paths an export wrote (a plain list of Path), plus `info`: facts for the report
    (opset, max difference measured against LayerLab's own model, ...)."""

    def __init__(self, paths=(), info: dict[str, Any] | None = None):
        super().__init__(Path(p) for p in paths)
        self.info = dict(info or {})


def identifier(name: str) -> str:
    """`name` if it is a safe Python identifier for generated code, else ExportError."""
    if not isinstance(name, str) or not IDENT.match(name) or keyword.iskeyword(name):
        raise ExportError(f"{name!r} cannot be a name in generated code: rename the layer "
                          "(letters, digits and _, starting with a letter)")
    return name


def class_name(project_name: str, taken: frozenset[str] = frozenset()) -> str:
    """A CamelCase class name from the project name, made only of [A-Za-z0-9]."""
    words = re.findall(r"[A-Za-z0-9]+", project_name or "")
    name = "".join(w[:1].upper() + w[1:] for w in words)[:64]
    if not name or not name[0].isalpha():
        name = "Network" + name
    if keyword.iskeyword(name) or name in taken:
        name += "Model"
    return identifier(name)


# ---------------------------------------------------------------- preprocessing
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


def deployable(network, pre: dict):
    """network(preprocess(x)) as one module: raw inputs in, outputs out."""
    from torch import nn

    class Deployable(nn.Module):
        def __init__(self, preprocess, network):
            super().__init__()
            self.preprocess = preprocess
            self.network = network

        def forward(self, x):
            return self.network(self.preprocess(x))

    return Deployable(preprocess_module(pre), network).eval()


# ---------------------------------------------------------------- the network with its weights
@dataclass
class Prepared:
    project: Project
    compiled: Compiled
    preprocessing: dict
    weights_path: Path | None
    weights_metadata: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    @property
    def module(self):
        return self.compiled.module


def prepare(project: Project, weights_path, preprocessing: dict | None = None) -> Prepared:
    """Compile the project's graph, load the weights (safetensors only; a pickle is refused),
    and check the preprocessing (given, or the run folder's preprocessing.json)."""
    from ..compiler import CompileError

    try:
        compiled = compile_graph(project.graph)
    except CompileError as e:
        raise ExportError(str(e)) from None
    metadata: dict[str, str] = {}
    if weights_path is not None:
        try:
            metadata = load_weights(compiled.module, compiled.node_of_module, weights_path)
        except WeightsError as e:
            raise ExportError(str(e)) from None
    compiled.module.eval()
    bad = nonfinite(compiled.module.state_dict())
    if preprocessing is None:
        preprocessing = preprocessing_beside(weights_path)
    pre = check_preprocessing(preprocessing, compiled.input_type)
    warnings = []
    if bad:
        warnings.append(f"the weights hold NaN or infinity ({', '.join(bad[:3])}{', …' if len(bad) > 3 else ''}): "
                        "the run diverged; export an earlier checkpoint or retrain")
    if weights_path is None:
        warnings.append("no weights given: the export holds the untrained, freshly initialized network")
    wanted = project.data.preprocessing
    if pre["kind"] != wanted and compiled.input_type.dtype == "float":
        warnings.append(f"the project preprocesses with {wanted} but the export applies {pre['kind']}"
                        + (" (no preprocessing.json beside the weights): pass the run's preprocessing.json"
                           if pre["kind"] == "none" else ""))
    return Prepared(project, compiled, pre, Path(weights_path) if weights_path else None, metadata, warnings)


def save_weights_readable(module, node_of_module: dict[str, str], path, metadata: dict[str, str] | None = None):
    """core.weights.save_weights, then make sure core.weights.read_weights will accept the file.

    read_weights sniffs the first bytes for a pickle (0x80) or a zip ("PK"), but a safetensors file
    starts with its header length as a little-endian u64, whose low byte is 0x80 for one header
    size in 256: such a file would be refused as a pickle. Padding the metadata changes the length."""
    from ..weights import save_weights

    meta = dict(metadata or {})
    for pad in range(8):
        save_weights(module, node_of_module, path, metadata=meta or None)  # {} + no tensors: a broken file
        with open(path, "rb") as f:
            head = f.read(2)
        if head[:1] != b"\x80" and head != b"PK":
            return
        meta["pad"] = " " * (pad + 1)
    raise ExportError(f"{path}: could not write weights that LayerLab can read back")


def example_batch(compiled: Compiled, batch: int = 8, seed: int = 0, vocab: int | None = None):
    """A reproducible batch shaped like the network's input (token ids below the vocabulary)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    t = compiled.input_type
    if t.dtype == "long":
        if vocab is None:
            vocab = min((m.num_embeddings for m in compiled.module.modules()
                         if isinstance(m, torch.nn.Embedding)), default=2)
        return torch.randint(0, vocab, (batch, *t.shape), generator=g)
    return torch.randn(batch, *t.shape, generator=g)


def example_raw_batch(compiled: Compiled, pre: dict, batch: int = 8, seed: int = 0):
    """Raw inputs that look like data to the network: standard normal *after* preprocessing
    (z / scale + shift, or z @ matrix⁻¹ + shift), so checks run where the network was trained
    rather than on inputs the preprocessing would blow up."""
    import torch

    x = example_batch(compiled, batch, seed)
    if pre["kind"] == "none" or compiled.input_type.dtype != "float":
        return x
    z = x.reshape(batch, -1).double()
    shift = torch.tensor(pre["shift"], dtype=torch.float64)
    if pre["kind"] == "pca_whiten":
        raw = z @ torch.linalg.pinv(torch.tensor(pre["matrix"], dtype=torch.float64)) + shift
    else:
        raw = z / torch.tensor(pre["scale"], dtype=torch.float64) + shift
    return raw.float().reshape(x.shape)


def quiet_exporters():
    """Context: silence the exporters' chatter (torchvision not installed, deprecations)."""
    import contextlib
    import logging
    import warnings

    @contextlib.contextmanager
    def ctx():
        loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export",
                                                   "onnxscript", "torch._dynamo")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)

    return ctx()
