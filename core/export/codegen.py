"""Code generation from validated values: Python literals (repr of exact int / float / str, finite
numbers only), escaped docstrings for free text, constructor calls read back from built torch
modules, and the helper layer classes copied verbatim from core/layers/modules.py."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Callable

from .names import identifier
from .outcome import ExportError


# ---------------------------------------------------------------- literals
def lit(v: Any) -> str:
    """A Python literal for a validated value (never raw text)."""
    import math

    if v is None or isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return repr(int(v))
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ExportError(f"cannot write the non-finite number {v!r} into source code")
        return repr(float(v))
    if isinstance(v, str):
        return repr(str(v))
    if isinstance(v, (tuple, list)):
        items = [lit(x) for x in v]
        return "(" + items[0] + ",)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    raise ExportError(f"cannot write a {type(v).__name__} into source code")


def docstring(text: str) -> str:
    """A triple-quoted literal that evaluates to `text` exactly, whatever `text` holds: backslashes
    and quotes are escaped and every non-printable character (bar newline) becomes an escape."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n" or ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return '"""' + "".join(out) + '"""'


def _float_rows(values, indent: str, width: int = 96) -> str:
    lines, line = [], indent
    for v in values:
        item = lit(float(v)) + ", "
        if len(line) + len(item) > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += item
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def _scalar(t):
    t = tuple(t) if isinstance(t, (tuple, list)) else (t,)
    return t[0] if all(v == t[0] for v in t) else t


# ---------------------------------------------------------------- constructors from built modules
def _emitters() -> dict[type, Callable[[Any], tuple[str, list, dict]]]:
    from torch import nn

    from ..layers import modules as M

    def conv(name):
        return lambda m: (f"nn.{name}", [m.in_channels, m.out_channels, _scalar(m.kernel_size)],
                          {"stride": _scalar(m.stride), "padding": _scalar(m.padding),
                           "dilation": _scalar(m.dilation), "bias": m.bias is not None})

    def pool(name):
        return lambda m: (f"nn.{name}", [m.kernel_size], {"stride": m.stride, **({"padding": m.padding}
                                                                               if m.padding else {})})

    def bn(name):
        return lambda m: (f"nn.{name}", [m.num_features], {"eps": float(m.eps), "momentum": float(m.momentum)})

    def plain(name):
        return lambda m: (f"nn.{name}", [], {})

    return {
        nn.Linear: lambda m: ("nn.Linear", [m.in_features, m.out_features], {"bias": m.bias is not None}),
        nn.Conv1d: conv("Conv1d"), nn.Conv2d: conv("Conv2d"),
        nn.MaxPool2d: pool("MaxPool2d"), nn.AvgPool2d: pool("AvgPool2d"),
        nn.BatchNorm1d: bn("BatchNorm1d"), nn.BatchNorm2d: bn("BatchNorm2d"),
        nn.LayerNorm: lambda m: ("nn.LayerNorm", [_scalar(m.normalized_shape)], {"eps": float(m.eps)}),
        nn.GroupNorm: lambda m: ("nn.GroupNorm", [m.num_groups, m.num_channels], {"eps": float(m.eps)}),
        nn.RMSNorm: lambda m: ("nn.RMSNorm", [_scalar(m.normalized_shape)], {"eps": float(m.eps)}),
        nn.Dropout: lambda m: ("nn.Dropout", [float(m.p)], {}),
        nn.Dropout2d: lambda m: ("nn.Dropout2d", [float(m.p)], {}),
        nn.ReLU: plain("ReLU"), nn.SiLU: plain("SiLU"), nn.Sigmoid: plain("Sigmoid"), nn.Tanh: plain("Tanh"),
        nn.GELU: lambda m: ("nn.GELU", [], {} if m.approximate == "none" else {"approximate": str(m.approximate)}),
        nn.LeakyReLU: lambda m: ("nn.LeakyReLU", [float(m.negative_slope)], {}),
        nn.ELU: lambda m: ("nn.ELU", [float(m.alpha)], {}),
        nn.Softmax: lambda m: ("nn.Softmax", [], {"dim": int(m.dim)}),
        nn.Flatten: lambda m: ("nn.Flatten", [], {} if (m.start_dim, m.end_dim) == (1, -1)
                               else {"start_dim": m.start_dim, "end_dim": m.end_dim}),
        nn.Embedding: lambda m: ("nn.Embedding", [m.num_embeddings, m.embedding_dim], {}),
        M.GlobalAvgPool: lambda m: ("GlobalAvgPool", [], {}),
        M.Reshape: lambda m: ("Reshape", [tuple(m.shape)], {}),
        M.PositionalEncoding: lambda m: ("PositionalEncoding", [m.table.shape[1], m.table.shape[0]],
                                         {"learned": bool(m.learned), "dropout": float(m.dropout.p)}),
        M.SelfAttention: lambda m: ("SelfAttention", [m.attn.embed_dim, m.attn.num_heads],
                                    {"causal": bool(m.causal), "dropout": float(m.attn.dropout)}),
        M.TransformerBlock: lambda m: ("TransformerBlock", [m.norm1.normalized_shape[0], m.attn.attn.num_heads,
                                                            m.mlp[0].out_features],
                                       {"causal": bool(m.attn.causal), "dropout": float(m.mlp[3].p)}),
        M.Recurrent: lambda m: ("Recurrent", ["LSTM" if isinstance(m.rnn, nn.LSTM) else "GRU", m.rnn.input_size,
                                              m.rnn.hidden_size],
                                {"layers": m.rnn.num_layers, "bidirectional": bool(m.bidirectional),
                                 "return_sequences": bool(m.return_sequences), "dropout": float(m.rnn.dropout)}),
    }


def constructor(module) -> str:
    emit = _emitters().get(type(module))
    if emit is None:
        raise ExportError(f"the source format cannot write a {type(module).__name__} layer yet: "
                          "use the ONNX or torch.export format")
    ctor, args, kwargs = emit(module)
    parts = [lit(a) for a in args] + [f"{identifier(k)}={lit(v)}" for k, v in kwargs.items()]
    return f"{ctor}({', '.join(parts)})"


# ---------------------------------------------------------------- helper classes, copied verbatim
def module_definitions() -> frozenset[str]:
    """Every top-level class and function of core/layers/modules.py (read, not imported: no torch)."""
    from .. import layers

    tree = ast.parse(Path(layers.__file__).with_name("modules.py").read_text(encoding="utf-8"))
    return frozenset(n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef)))


def helper_sources(class_names: set[str]) -> tuple[list[str], set[str]]:
    """Top-level definitions of core/layers/modules.py that the given classes need (with their
    dependencies), in file order, and the module-level names they use (e.g. math)."""
    from ..layers import modules as M

    text = Path(M.__file__).read_text(encoding="utf-8")
    tree = ast.parse(text)
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    uses = {name: {x.id for x in ast.walk(node) if isinstance(x, ast.Name)} for name, node in defs.items()}
    needed, stack = set(), list(class_names)
    while stack:
        name = stack.pop()
        if name in needed or name not in defs:
            continue
        needed.add(name)
        stack.extend(uses[name] & set(defs))
    ordered = [n for n in defs if n in needed]
    globals_used = set().union(*(uses[n] for n in ordered)) if ordered else set()
    return [ast.get_source_segment(text, defs[n]) for n in ordered], globals_used
