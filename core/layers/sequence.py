"""Sequence layers: embeddings, attention, transformer blocks, recurrent layers. Shapes [B, T, D]."""
from __future__ import annotations

from ._rules import modules, need_float, nn, one
from .spec import Bool, Choice, Float, Int, LayerSpec, ShapeError


def _seq(x, fix="insert Embedding (for token ids) or Reshape to [T, D] before it"):
    need_float(x)
    if x.rank != 2:
        raise ShapeError(f"needs a sequence [B, T, D] but gets {x}", fix)


def _embedding_infer(p, inputs):
    x = one(inputs)
    if x.dtype != "long":
        raise ShapeError(f"needs integer token ids but gets float features {x}",
                         "set the Input's dtype to int64, or use Dense for float features")
    return type(x)((*x.shape, p.dim), "float")


EMBEDDING = LayerSpec(
    name="Embedding", category="Sequence", icon="⌗", key_params=("vocab", "dim"), weighted=True,
    help="Looks up a learned vector for each token id: [B, T] ids to [B, T, dim].",
    params=(Int("vocab", 128, min=1, max=1 << 20, help="Number of distinct token ids (largest id + 1)."),
            Int("dim", 64, min=1, max=8192, help="Vector size per token.")),
    infer=_embedding_infer,
    build=lambda p, x: nn().Embedding(p.vocab, p.dim),
    count=lambda p, x: p.vocab * p.dim,
)


def _posenc_infer(p, inputs):
    x = one(inputs)
    _seq(x)
    if x.shape[0] > p.max_len:
        raise ShapeError(f"encodes at most {p.max_len} positions but gets {x.shape[0]}",
                         f"raise max_len to {x.shape[0]} or more")
    if p.kind == "sinusoidal" and x.shape[1] % 2:
        raise ShapeError(f"sinusoidal encoding needs an even width but gets {x.shape[1]}",
                         "use an even embedding size, or kind learned")
    return x


POSENC = LayerSpec(
    name="PositionalEncoding", category="Sequence", icon="∼", key_params=("kind",),
    help="Adds position information to a sequence, which attention alone does not see.",
    params=(Choice("kind", "sinusoidal", help="Fixed sinusoids or a learned table.",
                   options=("sinusoidal", "learned")),
            Int("max_len", 512, min=1, max=1 << 16, help="Longest sequence it can encode."),
            Float("dropout", 0.0, min=0.0, max=0.99, help="Dropout after adding positions.")),
    infer=_posenc_infer,
    build=lambda p, x: modules().PositionalEncoding(x[0].shape[1], p.max_len, p.kind == "learned", p.dropout),
    count=lambda p, x: p.max_len * x[0].shape[1] if p.kind == "learned" else 0,
)


def _heads_check(p, x):
    _seq(x)
    d = x.shape[1]
    if d % p.heads:
        ok = [h for h in (1, 2, 4, 8, 16) if d % h == 0]
        raise ShapeError(f"has {p.heads} heads but width {d}, which they must divide",
                         f"set heads to one of {', '.join(map(str, ok))}")
    return x


_HEADS = Int("heads", 4, min=1, max=64, help="Attention heads; must divide the width.")
_CAUSAL = Bool("causal", False, help="Each position sees only earlier ones (for next-token prediction).")
_DROP = Float("dropout", 0.0, min=0.0, max=0.99, help="Dropout on attention weights.")

MHSA = LayerSpec(
    name="MultiheadSelfAttention", category="Sequence", icon="✳", key_params=("heads", "causal"),
    weighted=True, module_classes=("SelfAttention",),
    help="Every position attends to every other (or only earlier ones if causal): [B, T, D] to [B, T, D].",
    params=(_HEADS, _CAUSAL, _DROP),
    infer=lambda p, x: _heads_check(p, one(x)),
    build=lambda p, x: modules().SelfAttention(x[0].shape[1], p.heads, p.causal, p.dropout),
    count=lambda p, x: 4 * x[0].shape[1] ** 2 + 4 * x[0].shape[1],
)


def _block_count(p, x):
    d, f = x[0].shape[1], x[0].shape[1] * p.ff_mult
    return 4 * d + (4 * d * d + 4 * d) + (d * f + f) + (f * d + d)


TRANSFORMER = LayerSpec(
    name="TransformerBlock", category="Sequence", icon="⟐", key_params=("heads", "causal"), weighted=True,
    help="Pre-norm transformer block: x + Attention(LayerNorm(x)), then x + MLP(LayerNorm(x)).",
    params=(_HEADS, Int("ff_mult", 4, min=1, max=16, help="MLP width as a multiple of the model width."),
            _CAUSAL, Float("dropout", 0.0, min=0.0, max=0.99, help="Dropout in attention and MLP.")),
    infer=lambda p, x: _heads_check(p, one(x)),
    build=lambda p, x: modules().TransformerBlock(x[0].shape[1], p.heads, x[0].shape[1] * p.ff_mult,
                                                  p.causal, p.dropout),
    count=_block_count,
)


def _rnn(kind: str, gates: int, help: str):
    def infer(p, inputs):
        x = one(inputs)
        _seq(x)
        width = p.hidden * (2 if p.bidirectional else 1)
        return x.with_shape(x.shape[0], width) if p.return_sequences else x.with_shape(width)

    def count(p, inputs):
        d, h, dirs = inputs[0].shape[1], p.hidden, 2 if p.bidirectional else 1
        total = 0
        for layer in range(p.layers):
            n_in = d if layer == 0 else h * dirs
            total += dirs * (gates * h * (n_in + h) + 2 * gates * h)
        return total

    return LayerSpec(
        name=kind, category="Sequence", icon="↻", key_params=("hidden", "return_sequences"), help=help,
        weighted=True, width_param="hidden",
        params=(Int("hidden", 64, min=1, max=8192, help="Hidden state size."),
                Int("layers", 1, min=1, max=8, help="Stacked recurrent layers."),
                Bool("bidirectional", False, help="Also read the sequence backwards (doubles the width)."),
                Bool("return_sequences", True, help="Output every step [B, T, H], or only the last [B, H]."),
                Float("dropout", 0.0, min=0.0, max=0.99, help="Dropout between stacked layers.")),
        infer=infer, count=count,
        build=lambda p, x: modules().Recurrent(kind, x[0].shape[1], p.hidden, p.layers, p.bidirectional,
                                               p.return_sequences, p.dropout),
    )


LSTM = _rnn("LSTM", 4, "Long short-term memory: gated recurrence that keeps information over long sequences.")
GRU = _rnn("GRU", 3, "Gated recurrent unit: an LSTM with fewer gates, often as good and faster.")

ENTRIES = (EMBEDDING, POSENC, MHSA, TRANSFORMER, LSTM, GRU)
