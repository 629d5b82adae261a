"""Op sequences that one catalogue layer computes, found before the node-by-node walk.

Multi-head self-attention is exported as dozens of nodes (projections, head split by
Reshape/Transpose/Gather, scaled QKᵀ, a mask, Softmax, ·V, head merge, output projection) that no
layer maps one to one; `find(model)` recognises the whole region from its Softmax outwards and
hands the walk one `Attention` match (input tensor, output tensor, heads, causal, torch-layout
weights) to import as a MultiheadSelfAttention layer. Anything it cannot account for leaves the
region to the per-operator handlers, which then name what they refuse. Torch-free."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .onnx_read import Model, attrs

VIEWS = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Flatten"}
REGION_OPS = VIEWS | {"Shape", "Slice", "Concat", "Gather", "Cast", "Mul", "Div", "Add", "MatMul", "Gemm",
                      "Softmax", "Split", "Constant"}


class NotAttention(Exception):
    pass


@dataclass
class Attention:
    x: str                     # the tensor attended over, [B, T, D]
    y: str                     # the attention's output, [B, T, D]
    heads: int
    causal: bool
    weights: dict              # SelfAttention's state_dict keys -> numpy arrays
    nodes: set = field(default_factory=set)   # indices of every node the layer replaces


def raw_shapes(proto) -> dict[str, tuple]:
    """Tensor -> dims as onnx inferred them: ints, symbol names (the batch axis), or None."""
    out = {}
    for vi in [*proto.graph.input, *proto.graph.value_info, *proto.graph.output]:
        t = vi.type.tensor_type
        if t.HasField("shape"):
            out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                                 for d in t.shape.dim)
    return out


def find(model: Model) -> tuple[dict[int, Attention], set[int], list[str]]:
    """(index of the node that ends a match -> match, indices of every node inside a match,
    why Softmax nodes that were not matched are not attention)."""
    nodes = list(model.proto.graph.node)
    ctx = _Ctx(model, nodes)
    ends, inside, notes = {}, set(), []
    for i, n in enumerate(nodes):
        if n.op_type != "Softmax" or i in inside:
            continue
        try:
            match = _attention(ctx, i)
        except NotAttention as e:
            notes.append(f"Softmax node {n.name or n.output[0]!r} is not self-attention LayerLab knows ({e})")
            continue
        end = ctx.producer[match.y]
        ends[end] = match
        inside |= match.nodes - {end}
    return ends, inside, notes


class _Ctx:
    def __init__(self, model: Model, nodes):
        self.m, self.nodes = model, nodes
        self.producer = {o: i for i, n in enumerate(nodes) for o in n.output}
        self.users: dict[str, list[int]] = {}
        for i, n in enumerate(nodes):
            for name in n.input:
                self.users.setdefault(name, []).append(i)
        self.raw = raw_shapes(model.proto)
        self.outputs = {o.name for o in model.proto.graph.output}
        inp = self.raw.get(model.input_name, (None,))
        self.batch = inp[0] if inp else None

    def const(self, name):
        return self.m.consts.get(name)

    def node_of(self, tensor):
        i = self.producer.get(tensor)
        return (None, None) if i is None else (i, self.nodes[i])

    def only_user(self, tensor):
        users = self.users.get(tensor, [])
        if len(users) != 1 or tensor in self.outputs:
            raise NotAttention(f"{tensor!r} is used {len(users)} times")
        return users[0], self.nodes[users[0]]

    def batch_first(self, tensor, width=None):
        s = self.raw.get(tensor)
        return (s is not None and len(s) == 3 and s[0] == self.batch and isinstance(s[1], int)
                and isinstance(s[2], int) and (width is None or s[2] == width))


def _scalar(c):
    return c is not None and np.asarray(c).size == 1


def _const_and_other(ctx, node):
    a, b = node.input[0], node.input[1]
    if ctx.const(b) is not None and ctx.const(a) is None:
        return ctx.const(b), a
    if ctx.const(a) is not None and ctx.const(b) is None:
        return ctx.const(a), b
    return None, None


def _attention(ctx: _Ctx, si: int) -> Attention:
    soft = ctx.nodes[si]
    rank = len(ctx.raw.get(soft.output[0], ()))
    if int(attrs(soft).get("axis", -1)) not in (-1, rank - 1):
        raise NotAttention("it is not over the last axis")
    # backwards from the Softmax: [mask add], [scale], scores = Q·Kᵀ
    t, mask, scale = soft.input[0], None, 1.0
    while True:
        _, p = ctx.node_of(t)
        if p is None:
            raise NotAttention("its input is not computed")
        c, other = _const_and_other(ctx, p) if p.op_type in ("Add", "Mul", "Div") else (None, None)
        if p.op_type == "Add" and c is not None and mask is None:
            mask, t = np.asarray(c, np.float64), other
        elif p.op_type == "Mul" and _scalar(c):
            scale, t = scale * float(np.ravel(c)[0]), other
        elif p.op_type == "Div" and _scalar(c) and p.input[1] != other:
            scale, t = scale / float(np.ravel(c)[0]), other
        elif p.op_type == "MatMul" and c is None and ctx.const(p.input[0]) is None:
            scores = p
            break
        else:
            raise NotAttention(f"{p.op_type} before it is not a mask, a scale or Q·Kᵀ")
    dims = ctx.raw.get(scores.output[0], ())
    if len(dims) != 4 or not all(isinstance(d, int) for d in dims[1:]) or dims[2] != dims[3]:
        raise NotAttention(f"the scores are shaped {list(dims)}, not [batch, heads, T, T]")
    heads, length = dims[1], dims[2]
    # forwards: weights · V
    t = soft.output[0]
    while True:
        _, u = ctx.only_user(t)
        if u.op_type in ("Dropout", "Identity"):
            t = u.output[0]
            continue
        if u.op_type != "MatMul" or u.input[0] != t:
            raise NotAttention("its result does not multiply V")
        mixed = u
        break
    q, k, v = (_projection(ctx, scores.input[0]), _projection(ctx, scores.input[1]),
               _projection(ctx, mixed.input[1]))
    x = q["x"]
    if k["x"] != x or v["x"] != x:
        raise NotAttention("queries, keys and values are not projections of one tensor (cross-attention)")
    d = ctx.raw[x][2]
    if d % heads:
        raise NotAttention(f"{heads} heads do not divide the width {d}")
    rows = [_rows(p, d, role) for p, role in ((q, "queries"), (k, "keys"), (v, "values"))]
    total = scale * q["scale"] * k["scale"]
    if v["scale"] != 1.0 or abs(total * np.sqrt(d // heads) - 1) > 1e-4:
        raise NotAttention(f"scores are scaled by {total:.4g}, not 1/√{d // heads}")
    causal = _causal(mask, length)
    out_w, out_b, y = _output(ctx, mixed.output[0], x, d)
    weights = {"attn.in_proj_weight": np.concatenate([w for w, _ in rows]).astype(np.float32),
               "attn.in_proj_bias": np.concatenate([b for _, b in rows]).astype(np.float32),
               "attn.out_proj.weight": out_w.astype(np.float32), "attn.out_proj.bias": out_b.astype(np.float32)}
    region = _region(ctx, y, x)
    return Attention(x, y, heads, causal, weights, region)


def _projection(ctx: _Ctx, t: str) -> dict:
    """Back from a query/key/value tensor through views, a head selection and scales to the
    projection x·Wᵀ + b of the attended tensor."""
    scale, index = 1.0, None
    while True:
        _, p = ctx.node_of(t)
        if p is None:
            raise NotAttention(f"{t!r} is not computed from the attended tensor")
        c, other = _const_and_other(ctx, p) if p.op_type in ("Mul", "Div", "Add") else (None, None)
        if p.op_type in VIEWS:
            t = p.input[0]
        elif p.op_type == "Mul" and _scalar(c):
            scale, t = scale * float(np.ravel(c)[0]), other
        elif p.op_type == "Div" and _scalar(c) and p.input[1] != other:
            scale, t = scale / float(np.ravel(c)[0]), other
        elif p.op_type == "Gather" and _scalar(ctx.const(p.input[1])) and index is None:
            index, t = int(np.ravel(ctx.const(p.input[1]))[0]), p.input[0]
        elif p.op_type == "Add" and c is not None:
            _, mm = ctx.node_of(other)
            if mm is None or mm.op_type != "MatMul" or ctx.const(mm.input[1]) is None:
                raise NotAttention("a bias is added to something other than a projection")
            w = np.asarray(ctx.const(mm.input[1]), np.float64)
            return _proj_found(ctx, w.T, np.ravel(c), mm.input[0], scale, index)
        elif p.op_type == "MatMul" and ctx.const(p.input[1]) is not None:
            w = np.asarray(ctx.const(p.input[1]), np.float64)
            return _proj_found(ctx, w.T, None, p.input[0], scale, index)
        elif p.op_type == "Gemm" and ctx.const(p.input[1]) is not None:
            a = attrs(p)
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise NotAttention("a scaled or transposed Gemm projection")
            w = np.asarray(ctx.const(p.input[1]), np.float64)
            c = ctx.const(p.input[2]) if len(p.input) > 2 and p.input[2] else None
            return _proj_found(ctx, w if a.get("transB", 0) else w.T, None if c is None else np.ravel(c),
                               p.input[0], scale, index)
        else:
            raise NotAttention(f"{p.op_type} node {p.name!r} on the way to a projection")


def _proj_found(ctx, w, bias, src, scale, index):
    """w: [out, in] (torch layout). The attended tensor: back through views to [batch, T, in]."""
    t = src
    while not ctx.batch_first(t, w.shape[1]):
        _, p = ctx.node_of(t)
        if p is None or p.op_type not in VIEWS:
            raise NotAttention("the projected tensor is not a [batch, T, D] sequence")
        t = p.input[0]
    bias = np.zeros(w.shape[0]) if bias is None else np.broadcast_to(bias, (w.shape[0],))
    return {"w": w, "b": bias, "x": t, "scale": scale, "index": index}


def _rows(p, d, role):
    w, b, i = p["w"], p["b"], p["index"]
    if w.shape[1] != d:
        raise NotAttention(f"the {role} projection takes width {w.shape[1]}, not {d}")
    if w.shape[0] == d and i is None:
        return w, b
    parts = w.shape[0] // d
    if w.shape[0] % d == 0 and i is not None and 0 <= i < parts:
        return w[i * d:(i + 1) * d], b[i * d:(i + 1) * d]
    raise NotAttention(f"the {role} projection gives width {w.shape[0]}, not {d}")


def _causal(mask, length) -> bool:
    if mask is None:
        return False
    m = np.asarray(mask)
    while m.ndim > 2 and m.shape[0] == 1:
        m = m[0]
    if m.shape != (length, length):
        raise NotAttention(f"a mask shaped {list(np.shape(mask))} is not one [T, T] mask")
    upper = np.triu(np.ones((length, length), bool), 1)
    if not m.any():
        return False
    if np.all(m[~upper] == 0) and np.all(m[upper] <= -1e4):
        return True
    raise NotAttention("its mask is neither none nor causal")


def _output(ctx, t, x, d):
    """Forwards from weights·V through the head merge to the output projection (and bias), then
    through views back to a [batch, T, D] tensor like the input."""
    while True:
        _, u = ctx.only_user(t)
        if u.op_type in VIEWS:
            t = u.output[0]
            continue
        if u.op_type == "Gemm" and u.input[0] == t and ctx.const(u.input[1]) is not None:
            a = attrs(u)
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise NotAttention("a scaled or transposed Gemm output projection")
            w = np.asarray(ctx.const(u.input[1]), np.float64)
            w = w if a.get("transB", 0) else w.T
            c = ctx.const(u.input[2]) if len(u.input) > 2 and u.input[2] else None
            b = np.zeros(w.shape[0]) if c is None else np.broadcast_to(np.ravel(c), (w.shape[0],))
        elif u.op_type == "MatMul" and u.input[0] == t and ctx.const(u.input[1]) is not None:
            w, b = np.asarray(ctx.const(u.input[1]), np.float64).T, np.zeros(d)
        else:
            raise NotAttention(f"{u.op_type} after the heads is not the output projection")
        break
    if w.shape != (d, d):
        raise NotAttention(f"the output projection is {list(w.shape)}, not [{d}, {d}]")
    t = u.output[0]
    _, u = ctx.only_user(t)
    c, other = _const_and_other(ctx, u) if u.op_type == "Add" else (None, None)
    if c is not None and np.asarray(c).size == d and not b.any():
        b, t = np.ravel(c), u.output[0]
    while not (ctx.batch_first(t, d) and ctx.raw[t] == ctx.raw[x]):
        _, u = ctx.only_user(t)
        if u.op_type not in VIEWS:
            raise NotAttention(f"{u.op_type} after the output projection")
        t = u.output[0]
    return w, np.asarray(b, np.float64), t


def _region(ctx, y, x) -> set[int]:
    """Every node between x and y; none of their results may be used outside."""
    region, stack = set(), [ctx.producer[y]]
    while stack:
        i = stack.pop()
        if i in region:
            continue
        region.add(i)
        for name in ctx.nodes[i].input:
            if name and name != x and ctx.const(name) is None and name in ctx.producer:
                stack.append(ctx.producer[name])
            elif name and name != x and ctx.const(name) is None and name not in ctx.producer:
                raise NotAttention(f"it reads {name!r}, another input of the model")
    for i in region:
        n = ctx.nodes[i]
        if n.op_type not in REGION_OPS:
            raise NotAttention(f"it contains a {n.op_type} node")
        for o in n.output:
            if o != y and (o in ctx.outputs or any(u not in region for u in ctx.users.get(o, []))):
                raise NotAttention(f"{o!r} inside it is used outside it")
    return region
