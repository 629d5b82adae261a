"""ONNX model -> LayerLab graph with weights: walk the nodes in order, let `onnx_ops` map each to a
catalogue layer, lay the graph out, compile it, load the weights, and check with onnxruntime that
the imported network computes what the file computes before anything is written."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..graph import Graph, GraphError, check_name
from .onnx_read import Model, OnnxImportError, read_model, scopes

TOLERANCE = 1e-4


@dataclass(frozen=True)
class Val:
    """A tensor of the ONNX graph as LayerLab sees it: node `nid`'s output (per-sample shape `base`),
    viewed as `shape` (a reshape not made into a layer yet)."""
    nid: str
    shape: tuple
    base: tuple
    dtype: str = "float"


@dataclass
class Imported:
    project: object            # Project
    compiled: object           # Compiled, weights loaded, eval mode
    preprocessing: dict
    info: dict = field(default_factory=dict)


class Builder:
    def __init__(self, model: Model):
        self.m = model
        self.graph = Graph()
        self.vals: dict[str, Val] = {}
        self.weights: dict[str, dict] = {}
        self.open_bias: dict[str, str] = {}
        self.refused: list[str] = []
        self.poisoned: set[str] = set()     # outputs of refused nodes: their consumers stay quiet
        self._made: dict[tuple, str] = {}
        self._outs: dict[str, tuple] = {}
        self.sliced_from: dict[str, str] = {}

    # ------------------------------------------------------------ what handlers read
    def const(self, name):
        return self.m.consts.get(name)

    def val(self, name) -> Val | None:
        return self.vals.get(name)

    def shape(self, name) -> tuple | None:
        full = self.m.shapes.get(name)
        if not full or any(d is None for d in full[1:]):
            return None
        return tuple(int(d) for d in full[1:])

    def consumers(self, name) -> int:
        return self.m.consumers.get(name, 0)

    def made_val(self, nid: str, shape: tuple) -> Val:
        return Val(nid, tuple(shape), tuple(shape), self._outs.get(nid, ("", "float"))[1])

    def fold(self, node) -> bool:
        """A node computed from constants only (a slice of a table, shape arithmetic) becomes a
        constant, evaluated by onnx's reference implementation; a slice from row 0 remembers the
        table it was cut from (`sliced_from`)."""
        ins = [i for i in node.input if i]
        if not ins or any(self.const(i) is None for i in ins):
            return False
        from onnx.reference import ReferenceEvaluator

        try:
            outs = ReferenceEvaluator(node).run(None, {i: self.const(i) for i in ins})
        except Exception:
            return False
        for name, value in zip(node.output, outs):
            self.m.consts[name] = np.asarray(value)
        if node.op_type == "Slice" and np.asarray(self.const(node.input[1])).tolist() == [0]:
            axes = self.const(node.input[3]) if len(node.input) > 3 and node.input[3] else np.array([0])
            steps = self.const(node.input[4]) if len(node.input) > 4 and node.input[4] else np.array([1])
            if np.asarray(axes).tolist() == [0] and np.asarray(steps).tolist() == [1]:
                self.sliced_from[node.output[0]] = node.input[0]
        return True

    # ------------------------------------------------------------ what handlers do
    def refuse(self, node, why: str) -> None:
        self.poisoned.update(node.output)
        self.refused.append(f"{node.op_type} node {node.name or node.output[0]!r}: {why}")

    def alias(self, out: str, val: Val) -> None:
        self.vals[out] = val

    def view(self, out: str, src: Val, shape: tuple) -> None:
        shape = tuple(int(d) for d in shape)
        if int(np.prod(shape)) != int(np.prod(src.base)):
            return self.refused.append(f"reshape to {out!r}: {list(shape)} does not hold {list(src.base)}")
        self.vals[out] = Val(src.nid, shape, src.base, src.dtype)

    def replace_id(self, old: str, new: str) -> None:
        """Node `old` was fused into `new`: values made from it now come from `new`."""
        for name, v in list(self.vals.items()):
            if v.nid == old:
                self.vals[name] = Val(new, v.shape, v.base, v.dtype)
        for (nid, shape), made in list(self._made.items()):
            if nid == old:
                self._made[(new, shape)] = self._made.pop((nid, shape))

    def materialize(self, v: Val) -> str:
        if v.shape == v.base:
            return v.nid
        key = (v.nid, v.shape)
        if key not in self._made:
            kind, params = ("Flatten", {}) if len(v.shape) == 1 else ("Reshape", {"shape": list(v.shape)})
            node = self.graph.add_node(kind, params)
            self.graph.connect(v.nid, node.id)
            self._made[key] = node.id
            self._outs[node.id] = (v.shape, v.dtype)
        return self._made[key]

    def layer(self, type: str, params: dict, inputs: list[Val], node, weights: dict | None = None,
              out_shape: tuple | None = None, scope: str | None = None) -> str:
        srcs = [self.materialize(v) for v in inputs]
        made = self.graph.add_node(type, params, name=self._name(type, node, weights, scope))
        for slot, src in enumerate(srcs):
            self.graph.connect(src, made.id, slot)
        shape = out_shape or self.shape(node.output[0])
        if shape is None:
            raise OnnxImportError(f"{self.m.path}: onnx could not infer the shape of {node.output[0]!r} "
                                  f"({node.op_type}): re-export with fixed sizes besides the batch axis")
        self._outs[made.id] = (shape, "float")
        self.weights[made.id] = dict(weights or {})
        if out_shape is None:
            self.vals[node.output[0]] = Val(made.id, shape, shape)
        return made.id

    def _name(self, type: str, node, weights, scope: str | None = None) -> str | None:
        """The torch module's name when the exporter kept it (weights 'network.conv1.weight', or
        the node's module scope, 'network.block1.attn'), else None (the graph numbers it)."""
        hint = scope or next((i.removesuffix(".weight") for i in node.input[:2]
                              if weights and i.endswith(".weight")), "")
        if not hint and len(scopes(node)) >= 3:
            hint = scopes(node)[-2]
        hint = re.sub(r"\W", "_", hint.removeprefix("network.")).strip("_")
        if not hint or hint[0].isdigit():
            return None
        try:
            check_name(hint)
        except GraphError:
            return None
        return None if self.graph.by_name(hint) else hint


def import_onnx(path: str | os.PathLike) -> Imported:
    """Read `path` into an editable graph with its weights; OnnxImportError names every operator
    that does not map (with its node) or any other reason, and nothing is half-made."""
    from . import onnx_ops, onnx_patterns

    model = read_model(path)
    b = Builder(model)
    ends, inside, notes = onnx_patterns.find(model)
    pre, skip = _preprocessing(model)
    inp = b.graph.add_node("Input", {"shape": list(model.input_shape), "dtype": model.input_dtype}, name="x")
    first = Val(inp.id, model.input_shape, model.input_shape, "long" if model.input_dtype == "int64" else "float")
    b._outs[inp.id] = (model.input_shape, first.dtype)
    b.vals[model.input_name] = first
    for k, node in enumerate(model.proto.graph.node):
        if node.op_type == "Constant" or k in inside:
            continue
        if node.name in skip:
            for o in node.output:
                b.vals[o] = first          # the network starts where LayerLab's preprocessing ends
            continue
        if k in ends:                      # the last node of an op sequence one layer computes
            if ends[k].x in b.poisoned:
                b.poisoned.add(ends[k].y)
            else:
                onnx_ops.self_attention(b, node, ends[k])
            continue
        handler = onnx_ops.OPS.get(node.op_type)
        if any(i in b.poisoned for i in node.input):
            b.poisoned.update(node.output)
        elif b.fold(node):
            pass
        elif handler is None:
            b.refuse(node, "no catalogue layer does this")
        else:
            handler(b, node)
    out_name = model.proto.graph.output[0].name
    if b.refused:
        n = len(b.refused)
        why = f" ({'; '.join(notes[:2])})" if notes else ""
        raise OnnxImportError(f"{model.path.name}: {n} operator{'s' if n != 1 else ''} cannot be mapped to "
                              f"LayerLab layers: {'; '.join(b.refused[:6])}{' …' if n > 6 else ''}{why}")
    onnx_ops.fuse_transformer_blocks(b)
    if out_name not in b.vals:
        raise OnnxImportError(f"{model.path.name}: the output {out_name!r} is a constant, not computed from the input")
    out = b.graph.add_node("Output", {}, name="out")
    b.graph.connect(b.materialize(b.vals[out_name]), out.id)
    return _finish(b, model, pre)


def _preprocessing(model: Model) -> tuple[dict | None, set[str]]:
    """A LayerLab export carries its preprocessing as the first nodes (module scope 'preprocess'):
    they become preprocessing.json instead of layers."""
    import json

    if model.metadata.get("layerlab.preprocessing_included") != "true":
        return None, set()
    try:
        pre = json.loads(model.metadata.get("layerlab.preprocessing", "null"))
    except ValueError:
        return None, set()
    skip = {n.name for n in model.proto.graph.node if scopes(n)[1:2] == ["preprocess"]}
    return pre, skip


def _finish(b: Builder, model: Model, pre: dict | None) -> Imported:
    from ..analysis import analyze
    from ..compiler import compile_graph
    from ..export.outcome import ExportError
    from ..export.preprocessing import check_preprocessing
    from ..layout import apply_layout
    from ..project import Project

    apply_layout(b.graph)
    a = analyze(b.graph)
    if not a.ok:
        raise OnnxImportError(f"{model.path.name}: the imported graph does not check ({a.errors[0]}): "
                              "this model uses a layer arrangement LayerLab cannot express")
    compiled = compile_graph(b.graph, a)
    _load(compiled, b)
    try:
        pre = check_preprocessing(pre, compiled.input_type)
    except ExportError as e:
        raise OnnxImportError(f"{model.path.name}: its LayerLab preprocessing is unusable ({e})") from None
    name = model.metadata.get("layerlab.project") or model.path.stem
    project = Project(graph=b.graph, name=name[:200])
    if pre["kind"] != "none":
        project.data.preprocessing = pre["kind"]
    diff = _verify(model, compiled, pre)
    layers = sum(1 for n in b.graph.nodes.values() if not n.spec.role)
    return Imported(project, compiled, pre, {"layers": layers, "max_abs_diff": diff,
                                              "onnx_nodes": len(model.proto.graph.node)})


def _load(compiled, b: Builder) -> None:
    import torch

    state = {}
    for name, nid in compiled.node_of_module.items():
        module = getattr(compiled.module, name)
        given = b.weights.get(nid, {})
        for key, tensor in module.state_dict().items():
            if key == "num_batches_tracked":
                state[f"{name}.{key}"] = tensor
                continue
            if key not in given or tuple(given[key].shape) != tuple(tensor.shape):
                raise OnnxImportError(f"{b.m.path.name}: layer {name!r} needs {key} shaped {tuple(tensor.shape)} "
                                      f"but the model gives {None if key not in given else tuple(given[key].shape)}")
            state[f"{name}.{key}"] = torch.from_numpy(np.array(given[key], dtype=np.float32))
    compiled.module.load_state_dict(state, strict=False)
    compiled.module.eval()


def _verify(model: Model, compiled, pre: dict) -> float | None:
    """Max |onnxruntime(file) - LayerLab(imported)| on seeded inputs; refuses above TOLERANCE."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    import torch

    from ..export.prepared import example_raw_batch
    from ..export.preprocessing import deployable

    session = ort.InferenceSession(str(model.path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for i, n in enumerate((1, 5)):
        x = example_raw_batch(compiled, pre, batch=n, seed=200 + i)
        got = session.run(None, {model.input_name: x.numpy()})[0]
        with torch.no_grad():
            want = deployable(compiled.module, pre)(x).numpy()
        if got.shape != want.shape:
            raise OnnxImportError(f"{model.path.name}: the imported graph gives {want.shape[1:]} per batch, the "
                                  f"model {got.shape[1:]}: this arrangement does not import faithfully")
        worst = max(worst, float(np.abs(got.astype(np.float64) - want).max()))
    if worst > TOLERANCE:
        raise OnnxImportError(f"{model.path.name}: the imported graph differs from the model by {worst:.2e}: "
                              "this arrangement does not import faithfully; nothing was written")
    return worst


def write_imported(imp: Imported, out: str | os.PathLike, force: bool = False) -> list[Path]:
    """A LayerLab folder (project.layerlab.json, weights.safetensors, preprocessing.json, export.json)
    at `out`, made in a temporary folder beside it and renamed into place: never half-written; an
    existing `out` is replaced only with `force`."""
    from ..export.outcome import ExportError
    from ..export.prepared import Prepared
    from ..export.native import export_native

    out = Path(out)
    if out.exists() and not force:
        raise OnnxImportError(f"{out} already exists: choose another --out, or pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise OnnxImportError(f"{out} is a file: --out names the folder to create")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=out.parent))
    try:
        prep = Prepared(imp.project, imp.compiled, imp.preprocessing, None, {})
        written = export_native(prep, tmp / "folder")
        old = None
        if out.exists():
            old = tmp / "replaced"
            os.replace(out, old)
        os.replace(tmp / "folder", out)
    except (ExportError, OSError) as e:
        raise OnnxImportError(f"{out}: could not write the imported project ({e})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / p.name for p in written]
