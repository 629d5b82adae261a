"""Small torch modules for layers that torch.nn lacks in the exact form LayerLab needs.

This file imports nothing from LayerLab on purpose: code export copies it verbatim into
the generated source, so exported models run where LayerLab is not installed.
"""
import math

import torch
from torch import nn


class GlobalAvgPool(nn.Module):
    """Mean over every spatial axis: [B, C, *S] -> [B, C]."""

    def forward(self, x):
        return x.flatten(2).mean(dim=2)


class Reshape(nn.Module):
    """Reshape each sample, keeping the batch axis."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self):
        return f"shape={self.shape}"


class PositionalEncoding(nn.Module):
    """Adds position information to [B, T, D]: fixed sinusoids or a learned table."""

    def __init__(self, d_model, max_len=512, learned=False, dropout=0.0):
        super().__init__()
        self.learned = learned
        if learned:
            self.table = nn.Parameter(torch.zeros(max_len, d_model))
            nn.init.normal_(self.table, std=0.02)
        else:
            pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
            div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
            table = torch.zeros(max_len, d_model)
            table[:, 0::2] = torch.sin(pos * div)
            table[:, 1::2] = torch.cos(pos * div[: d_model // 2])
            self.register_buffer("table", table, persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(x + self.table[: x.shape[1]])


def causal_mask(t, device):
    """True above the diagonal: position i may not attend to j > i."""
    return torch.ones(t, t, dtype=torch.bool, device=device).triu(1)


class SelfAttention(nn.Module):
    """Multi-head self-attention on [B, T, D], optionally causal."""

    def __init__(self, d_model, heads, causal=False, dropout=0.0):
        super().__init__()
        self.causal = causal
        self.attn = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)

    def forward(self, x):
        mask = causal_mask(x.shape[1], x.device) if self.causal else None
        out, _ = self.attn(x, x, x, attn_mask=mask, need_weights=False)
        return out


class TransformerBlock(nn.Module):
    """Pre-norm block: x + Attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, d_model, heads, ff_dim, causal=False, dropout=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, heads, causal, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, ff_dim), nn.GELU(), nn.Linear(ff_dim, d_model),
                                 nn.Dropout(dropout))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Recurrent(nn.Module):
    """LSTM or GRU on [B, T, D]; the whole sequence or the final hidden state."""

    def __init__(self, kind, input_size, hidden, layers=1, bidirectional=False, return_sequences=True,
                 dropout=0.0):
        super().__init__()
        cls = nn.LSTM if kind == "LSTM" else nn.GRU
        self.rnn = cls(input_size, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
                       dropout=dropout if layers > 1 else 0.0)
        self.return_sequences = return_sequences
        self.bidirectional = bidirectional

    def forward(self, x):
        out, state = self.rnn(x)
        if self.return_sequences:
            return out
        h = state[0] if isinstance(state, tuple) else state
        if self.bidirectional:
            return torch.cat([h[-2], h[-1]], dim=1)
        return h[-1]
