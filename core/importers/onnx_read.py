"""Reading an ONNX file defensively: a regular file under a size cap, no external data, shapes
inferred by onnx itself, constants (initializers and Constant nodes) as numpy arrays, and the
input's per-sample shape. Torch-free."""
from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 2 << 30          # protobuf's own limit for one message


class OnnxImportError(ValueError):
    """An ONNX model that cannot become a LayerLab graph; the message says why and what to do."""


@dataclass
class Model:
    path: Path
    proto: object                              # onnx.ModelProto after shape inference
    consts: dict[str, object]                  # name -> numpy array
    shapes: dict[str, tuple | None]            # tensor -> full shape (batch axis first), None unknown
    input_name: str
    input_shape: tuple[int, ...]               # per sample
    input_dtype: str                           # "float32" | "int64"
    metadata: dict[str, str] = field(default_factory=dict)
    consumers: dict[str, int] = field(default_factory=dict)


def read_model(path: str | os.PathLike) -> Model:
    import onnx
    from onnx import numpy_helper

    p = Path(path)
    if not p.exists():
        raise OnnxImportError(f"{p}: no such file")
    if not p.is_file():
        raise OnnxImportError(f"{p}: not a regular file: choose a .onnx model file")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise OnnxImportError(f"{p}: {size / 2**30:.1f} GiB is more than one ONNX file can hold (2 GiB): "
                              "models with external data are not imported")
    try:
        proto = onnx.load(str(p), load_external_data=False)
    except Exception as e:  # protobuf raises DecodeError and others for garbage
        raise OnnxImportError(f"{p}: not an ONNX model ({type(e).__name__}): choose a .onnx file") from None
    external = [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise OnnxImportError(f"{p}: weights such as {external[0]!r} live in a separate data file: save the "
                              "model as a single .onnx file (onnx.save with save_as_external_data=False)")
    try:
        proto = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    except Exception as e:
        raise OnnxImportError(f"{p}: onnx cannot infer its shapes ({str(e).splitlines()[0][:200]}): "
                              "check the model with onnx.checker") from None
    consts = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(a.t)
    shapes = _shapes(proto)
    name, shape, dtype = _the_input(proto, consts, p)
    consumers: dict[str, int] = {}
    for node in proto.graph.node:
        for i in node.input:
            consumers[i] = consumers.get(i, 0) + 1
    for o in proto.graph.output:
        consumers[o.name] = consumers.get(o.name, 0) + 1
    meta = {m.key: m.value for m in proto.metadata_props}
    return Model(p, proto, consts, shapes, name, shape, dtype, meta, consumers)


def _shapes(proto) -> dict[str, tuple | None]:
    out = {}
    for vi in [*proto.graph.input, *proto.graph.value_info, *proto.graph.output]:
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            out[vi.name] = None
            continue
        out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
    return out


def _the_input(proto, consts, p: Path) -> tuple[str, tuple[int, ...], str]:
    from onnx import TensorProto

    inputs = [i for i in proto.graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise OnnxImportError(f"{p}: the model takes {len(inputs)} inputs; LayerLab graphs take one")
    if len(proto.graph.output) != 1:
        raise OnnxImportError(f"{p}: the model has {len(proto.graph.output)} outputs; LayerLab graphs have one")
    vi = inputs[0]
    t = vi.type.tensor_type
    dtype = {TensorProto.FLOAT: "float32", TensorProto.INT64: "int64"}.get(t.elem_type)
    if dtype is None:
        raise OnnxImportError(f"{p}: input {vi.name!r} has element type {t.elem_type}; LayerLab takes float32 "
                              "features or int64 token ids")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    if len(dims) < 2 or any(d is None or d < 1 for d in dims[1:]):
        raise OnnxImportError(f"{p}: input {vi.name!r} is shaped {dims}; LayerLab needs a batch axis first and "
                              "fixed sizes after it: re-export with only the batch axis dynamic")
    return vi.name, tuple(int(d) for d in dims[1:]), dtype


def scopes(node) -> list[str]:
    """The torch module path the exporter recorded for a node ([] when none)."""
    for m in node.metadata_props:
        if m.key == "pkg.torch.onnx.name_scopes":
            for parse in (json.loads, ast.literal_eval):
                try:
                    value = parse(m.value)
                    return [str(v) for v in value] if isinstance(value, list) else []
                except (ValueError, SyntaxError):
                    continue
    return []


def attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}
