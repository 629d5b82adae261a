"""ONNX operator -> catalogue layer, one handler per operator. A handler reads the node through the
builder `b` (constants, per-sample shapes, values made so far) and either adds a layer, records a
view (a reshape that becomes Flatten/Reshape only when something needs it, or nothing when it
undoes itself), aliases its output, or refuses the node with the reason. Torch-free."""
from __future__ import annotations

import numpy as np

from .onnx_read import attrs, scopes

ACTIVATIONS = {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh"}


def gemm(b, node):
    a = attrs(node)
    w, bias = b.const(node.input[1]), (b.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None)
    x = b.val(node.input[0])
    if w is None or a.get("transA", 0) or x is None or len(x.shape) != 1:
        return b.refuse(node, "only x·Wᵀ + b with constant weights on flat features maps to Dense")
    w = np.asarray(w, np.float32) * a.get("alpha", 1.0)
    w = w if a.get("transB", 0) else w.T
    weights = {"weight": w}
    if bias is not None:
        bias = np.broadcast_to(np.asarray(bias, np.float32) * a.get("beta", 1.0), (w.shape[0],)).copy()
        weights["bias"] = bias
    b.layer("Dense", {"units": int(w.shape[0]), "bias": bias is not None}, [x], node, weights)


def matmul(b, node):
    x, w = b.val(node.input[0]), b.const(node.input[1])
    if x is None or w is None or w.ndim != 2 or len(x.shape) not in (1, 2):
        return b.refuse(node, "only features × a constant 2-D weight maps to Dense")
    nid = b.layer("Dense", {"units": int(w.shape[1]), "bias": False}, [x], node,
                  {"weight": np.ascontiguousarray(np.asarray(w, np.float32).T)})
    b.open_bias[node.output[0]] = nid


def add(b, node):
    left, right = (b.val(i) for i in node.input[:2])
    consts = [b.const(i) for i in node.input[:2]]
    if left is not None and right is not None:
        if left.shape != right.shape:
            return b.refuse(node, f"Add with broadcasting ({list(left.shape)} + {list(right.shape)}) has no layer")
        return b.layer("Add", {"inputs": 2}, [left, right], node)
    src, c = (node.input[0], consts[1]) if left is not None else (node.input[1], consts[0])
    nid = b.open_bias.pop(src, None)
    if nid is not None and c is not None and b.consumers(src) == 1:
        units = b.graph.nodes[nid].params["units"]
        if c.size == units:
            b.graph.set_param(nid, "bias", True)
            b.weights[nid]["bias"] = np.asarray(c, np.float32).reshape(units).copy()
            return b.alias(node.output[0], b.val(src))
    x = b.val(src)
    if c is not None and x is not None and len(x.shape) == 2 and _squeeze_lead(c).shape == x.shape:
        return positional(b, node, x, src, node.input[1] if left is not None else node.input[0])
    return b.refuse(node, "adding a constant tensor has no layer (only a Dense bias after MatMul, "
                          "or a [T, D] position table to a sequence)")


def _squeeze_lead(c):
    c = np.asarray(c)
    while c.ndim > 2 and c.shape[0] == 1:
        c = c[0]
    return c


def positional(b, node, x, src, table_name):
    """sequence + constant [T, D]: PositionalEncoding, sinusoidal when the table is the sinusoid
    table, else learned (the whole table it was sliced from, so max_len survives the trip)."""
    from ..layers.modules import PositionalEncoding

    table = _squeeze_lead(b.const(table_name)).astype(np.float32)
    t, d = x.shape
    full = b.const(b.sliced_from.get(table_name, "")) if table_name in b.sliced_from else None
    if full is not None and np.ndim(full) == 2 and full.shape[1] == d and full.shape[0] >= t:
        table = np.asarray(full, np.float32)
    if d % 2 == 0:
        sines = PositionalEncoding(d, table.shape[0]).table.numpy()
        if np.allclose(sines, table, atol=1e-6, rtol=0):
            return b.layer("PositionalEncoding", {"kind": "sinusoidal", "max_len": int(table.shape[0]),
                                                  "dropout": 0.0}, [x], node)
    b.layer("PositionalEncoding", {"kind": "learned", "max_len": int(table.shape[0]), "dropout": 0.0}, [x], node,
            {"table": table})


def conv(b, node):
    a = attrs(node)
    x, w = b.val(node.input[0]), b.const(node.input[1])
    bias = b.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if x is None or w is None or w.ndim not in (3, 4):
        return b.refuse(node, "only 1-D or 2-D convolutions with constant weights map to Conv1d/Conv2d")
    k = list(w.shape[2:])
    strides, dil = a.get("strides", [1] * len(k)), a.get("dilations", [1] * len(k))
    pads = a.get("pads", [0] * 2 * len(k))
    if a.get("group", 1) != 1:
        return b.refuse(node, f"grouped convolution (group={a['group']}) has no layer")
    if len(set(k)) != 1 or len(set(strides)) != 1 or len(set(dil)) != 1:
        return b.refuse(node, f"kernel {k}, strides {strides}, dilations {dil}: Conv layers take one size for all axes")
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return b.refuse(node, "auto_pad is not mapped: re-export with explicit pads")
    same = dil[0] * (k[0] - 1) // 2
    if len(set(pads)) != 1 or pads[0] not in (0, same) or (pads[0] == same and (k[0] - 1) * dil[0] % 2):
        return b.refuse(node, f"pads {pads} are neither none nor 'same' for kernel {k[0]}")
    params = {"filters": int(w.shape[0]), "kernel_size": int(k[0]), "stride": int(strides[0]),
              "padding": "same" if pads[0] == same and same else "valid", "dilation": int(dil[0]),
              "bias": bias is not None}
    weights = {"weight": np.asarray(w, np.float32)}
    if bias is not None:
        weights["bias"] = np.asarray(bias, np.float32)
    b.layer("Conv2d" if w.ndim == 4 else "Conv1d", params, [x], node, weights)


def pool(b, node):
    a = attrs(node)
    k, strides = a.get("kernel_shape", []), a.get("strides", None) or a.get("kernel_shape", [])
    x = b.val(node.input[0])
    if x is None or len(k) != 2 or len(set(k)) != 1 or len(set(strides)) != 1:
        return b.refuse(node, f"only square 2-D windows map to pooling layers (kernel {k}, strides {strides})")
    pads = a.get("pads", [0, 0, 0, 0])
    if len(set(pads)) != 1 or 2 * pads[0] > k[0] or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])):
        return b.refuse(node, f"pads {pads}, dilated or ceil-mode pooling has no layer")
    if pads[0] and node.op_type == "AveragePool" and not a.get("count_include_pad", 0):
        return b.refuse(node, "padded average pooling that skips the padding has no layer")
    stride = 0 if strides[0] == k[0] else int(strides[0])
    kind = "MaxPool2d" if node.op_type == "MaxPool" else "AvgPool2d"
    b.layer(kind, {"kernel_size": int(k[0]), "stride": stride, "padding": int(pads[0])}, [x], node)


def global_pool(b, node):
    x = b.val(node.input[0])
    if x is None or len(x.shape) not in (2, 3):
        return b.refuse(node, "global pooling needs [B, C, L] or [B, C, H, W]")
    nid = b.layer("GlobalAvgPool", {}, [x], node, out_shape=(x.shape[0],))
    b.view(node.output[0], b.made_val(nid, (x.shape[0],)), (x.shape[0],) + (1,) * (len(x.shape) - 1))


def reduce_mean(b, node):
    a = attrs(node)
    x = b.val(node.input[0])
    axes = b.const(node.input[1]) if len(node.input) > 1 and node.input[1] else a.get("axes")
    if x is None or axes is None:
        return b.refuse(node, "a mean over axes not given as constants has no layer")
    rank = len(x.shape) + 1
    axes = sorted(int(v) % rank for v in np.ravel(axes))
    if len(x.shape) < 2 or axes != list(range(2, rank)):
        return b.refuse(node, f"a mean over axes {axes} has no layer (only over all spatial axes: GlobalAvgPool)")
    # [B, C, H, W] viewed as [B, C, H·W] then averaged over the last axis: pool the original directly
    merged = x.shape != x.base and len(x.shape) == 2 and len(x.base) in (2, 3) and x.base[0] == x.shape[0]
    src = b.made_val(x.nid, x.base) if merged else x
    if len(src.shape) not in (2, 3):
        return b.refuse(node, "a spatial mean needs [B, C, L] or [B, C, H, W]")
    nid = b.layer("GlobalAvgPool", {}, [src], node, out_shape=(x.shape[0],))
    out = (x.shape[0],) if not a.get("keepdims", 1) else (x.shape[0],) + (1,) * (len(x.shape) - 1)
    b.view(node.output[0], b.made_val(nid, (x.shape[0],)), out)


def reshape_like(b, node):
    x, out = b.val(node.input[0]), b.shape(node.output[0])
    if x is None or out is None:
        return b.refuse(node, "a reshape whose result size onnx cannot infer has no layer")
    b.view(node.output[0], x, out)


def batchnorm(b, node):
    a = attrs(node)
    x = b.val(node.input[0])
    ws = [b.const(i) for i in node.input[1:5]]
    if x is None or any(w is None for w in ws) or a.get("training_mode", 0):
        return b.refuse(node, "BatchNormalization needs constant scale, bias, mean and variance (inference mode)")
    names = ("weight", "bias", "running_mean", "running_var")
    b.layer("BatchNorm", {"eps": float(a.get("epsilon", 1e-5)), "momentum": round(1 - float(a.get("momentum", 0.9)), 6)},
            [x], node, {n: np.asarray(w, np.float32) for n, w in zip(names, ws)})


def layernorm(b, node):
    a = attrs(node)
    x, scale = b.val(node.input[0]), b.const(node.input[1])
    bias = b.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if x is None or scale is None or a.get("axis", -1) not in (-1, len(x.shape)):
        return b.refuse(node, "only LayerNormalization over the last axis with constant scale maps to LayerNorm")
    bias = np.zeros_like(scale) if bias is None else bias
    b.layer("LayerNorm", {"eps": float(a.get("epsilon", 1e-5))}, [x], node,
            {"weight": np.asarray(scale, np.float32), "bias": np.asarray(bias, np.float32)})


def activation(b, node):
    a, x = attrs(node), b.val(node.input[0])
    if x is None:
        return b.refuse(node, "an activation of a constant has no layer")
    if node.op_type in ACTIVATIONS:
        return b.layer(ACTIVATIONS[node.op_type], {}, [x], node)
    if node.op_type == "LeakyRelu":
        return b.layer("LeakyReLU", {"negative_slope": float(a.get("alpha", 0.01))}, [x], node)
    if node.op_type == "Elu":
        return b.layer("ELU", {"alpha": float(a.get("alpha", 1.0))}, [x], node)
    if node.op_type == "Gelu" and a.get("approximate", b"none") in (b"none", "none"):
        return b.layer("GELU", {}, [x], node)
    if node.op_type == "Softmax":
        axis = int(a.get("axis", -1))
        return b.layer("Softmax", {"dim": axis if axis < 0 else axis - 1}, [x], node)
    return b.refuse(node, "this activation variant has no layer")


def concat(b, node):
    vals = [b.val(i) for i in node.input]
    axis = int(attrs(node).get("axis", 1))
    if any(v is None for v in vals) or axis == 0:
        return b.refuse(node, "only concatenating computed features along a non-batch axis maps to Concat")
    b.layer("Concat", {"inputs": len(vals), "axis": axis if axis < 0 else axis - 1}, vals, node)


def gather(b, node):
    table, ids = b.const(node.input[0]), b.val(node.input[1])
    if table is None or ids is None or table.ndim != 2 or attrs(node).get("axis", 0) != 0 or ids.dtype != "long":
        return b.refuse(node, "only looking up token ids in a constant table maps to Embedding")
    b.layer("Embedding", {"vocab": int(table.shape[0]), "dim": int(table.shape[1])}, [ids], node,
            {"weight": np.asarray(table, np.float32)})


def self_attention(b, node, match):
    """The op sequence `onnx_patterns.find` recognised as multi-head self-attention, ending at `node`."""
    x = b.val(match.x)
    if x is None or len(x.shape) != 2:
        return b.refuse(node, "self-attention over something that is not a computed [T, D] sequence")
    path = scopes(node)[1:-1]          # LayerLab's own attention layer wraps torch's as `.attn`
    scope = path[-2] if len(path) >= 2 and path[-1] == path[-2] + ".attn" else (path[-1] if path else None)
    nid = b.layer("MultiheadSelfAttention", {"heads": match.heads, "causal": match.causal, "dropout": 0.0},
                  [x], node, match.weights, out_shape=x.shape, scope=scope)
    b.vals[match.y] = b.made_val(nid, x.shape)


def fuse_transformer_blocks(b):
    """x → LayerNorm → attention → (+x) → LayerNorm → Dense → GELU → Dense → (+), each feeding only
    the next, is what one TransformerBlock computes: replace the eight layers with it."""
    g = b.graph

    def only_next(nid, kind):
        outs = g.outputs_of(nid)
        if len(outs) != 1 or g.nodes[outs[0].dst].type != kind:
            return None
        return outs[0].dst

    def src(nid, slot=0):
        return next(e.src for e in g.inputs_of(nid) if e.slot == slot)

    for ln1 in [n.id for n in g.nodes.values() if n.type == "LayerNorm"]:
        if ln1 not in g.nodes:
            continue
        att = only_next(ln1, "MultiheadSelfAttention")
        x0 = src(ln1)
        add1 = att and only_next(att, "Add")
        if not add1 or {src(add1, 0), src(add1, 1)} != {x0, att}:
            continue
        nexts = {g.nodes[e.dst].type: e.dst for e in g.outputs_of(add1)}
        if len(g.outputs_of(add1)) != 2 or set(nexts) != {"LayerNorm", "Add"}:
            continue
        ln2, add2 = nexts["LayerNorm"], nexts["Add"]
        d1 = only_next(ln2, "Dense")
        act = d1 and only_next(d1, "GELU")
        d2 = act and only_next(act, "Dense")
        if not d2 or only_next(d2, "Add") != add2 or {src(add2, 0), src(add2, 1)} != {add1, d2}:
            continue
        width, ff = b._outs[x0][0][-1], g.nodes[d1].params["units"]
        p_att = g.nodes[att].params
        if (ff % width or any(abs(g.nodes[n].params["eps"] - 1e-5) > 1e-9 for n in (ln1, ln2))
                or p_att["dropout"] or len(b._outs[x0][0]) != 2):
            continue
        w = {}
        for prefix, nid in (("norm1.", ln1), ("attn.", att), ("norm2.", ln2), ("mlp.0.", d1), ("mlp.2.", d2)):
            for key, value in b.weights[nid].items():
                w[prefix + key] = value
        for prefix, units in (("mlp.0.", ff), ("mlp.2.", width)):
            w.setdefault(prefix + "bias", np.zeros(units, np.float32))
        inner = (ln1, att, add1, ln2, d1, act, d2, add2)
        name = _common_name([g.nodes[n].name for n in inner])
        consumers = [(e.dst, e.slot) for e in g.outputs_of(add2)]
        for n in inner:
            g.remove_node(n)
        name = name if name and not g.by_name(name) else None
        block = g.add_node("TransformerBlock", {"heads": p_att["heads"], "ff_mult": ff // width,
                                                "causal": p_att["causal"], "dropout": 0.0}, name=name)
        g.connect(x0, block.id)
        for dst, slot in consumers:
            g.connect(block.id, dst, slot)
        b.weights[block.id] = w
        b._outs[block.id] = b._outs[add2]
        b.replace_id(add2, block.id)


def _common_name(names):
    """'block1' from 'block1_norm1', 'block1_attn_attn', … (the exporter's module scopes), else None."""
    first = names[0]
    prefix = first[:first.rfind("_")] if "_" in first else ""
    return prefix if prefix and all(n.startswith(prefix + "_") for n in names[1:2]) else None


def passthrough(b, node):
    x = b.val(node.input[0])
    if x is None:
        return b.refuse(node, "an identity of a constant has no layer")
    b.alias(node.output[0], x)


OPS = {
    "Gemm": gemm, "MatMul": matmul, "Add": add, "Conv": conv, "MaxPool": pool, "AveragePool": pool,
    "GlobalAveragePool": global_pool, "ReduceMean": reduce_mean, "Flatten": reshape_like,
    "Reshape": reshape_like, "Squeeze": reshape_like, "Unsqueeze": reshape_like,
    "BatchNormalization": batchnorm, "LayerNormalization": layernorm, "Concat": concat, "Gather": gather,
    "Identity": passthrough, "Dropout": passthrough,
    **{op: activation for op in ("Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Gelu", "Softmax")},
}
