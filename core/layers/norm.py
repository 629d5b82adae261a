"""Normalization layers."""
from __future__ import annotations

from ._rules import need_float, need_rank, nn, one
from .spec import Float, Int, LayerSpec, ShapeError

_EPS = Float("eps", 1e-5, min=1e-12, max=1.0, help="Added to the variance for stability.")


def _bn_infer(p, inputs):
    x = one(inputs)
    need_float(x)
    need_rank(x, (1, 2, 3), "[B, C], [B, C, L] or [B, C, H, W]", "insert Flatten or Reshape before it")
    return x


def _bn_build(p, x):
    c = x[0].shape[0]
    cls = nn().BatchNorm2d if x[0].rank == 3 else nn().BatchNorm1d
    return cls(c, eps=p.eps, momentum=p.momentum)


BATCHNORM = LayerSpec(
    name="BatchNorm", category="Normalization", icon="β", key_params=(),
    module_classes=("BatchNorm1d", "BatchNorm2d"), cancels_bias=True,
    help="Normalizes each channel over the batch, then scales and shifts (BatchNorm1d or 2d, chosen "
         "from the input). Makes a preceding layer's bias redundant.",
    params=(Float("momentum", 0.1, min=0.0, max=1.0, help="Running-statistics update rate."), _EPS),
    infer=_bn_infer, build=_bn_build, count=lambda p, x: 2 * x[0].shape[0],
)


def _last_dim_infer(p, inputs):
    x = one(inputs)
    need_float(x)
    if x.rank == 0:
        raise ShapeError(f"needs features but gets {x}", "reshape the input")
    return x


LAYERNORM = LayerSpec(
    name="LayerNorm", category="Normalization", icon="λ",
    help="Normalizes each sample over its last axis (features): independent of batch size, the norm "
         "of transformers.",
    params=(_EPS,), infer=_last_dim_infer,
    build=lambda p, x: nn().LayerNorm(x[0].shape[-1], eps=p.eps), count=lambda p, x: 2 * x[0].shape[-1],
)


def _gn_infer(p, inputs):
    x = one(inputs)
    need_float(x)
    need_rank(x, (1, 2, 3), "[B, C], [B, C, L] or [B, C, H, W]", "insert Flatten or Reshape before it")
    c = x.shape[0]
    if c % p.groups:
        ok = [g for g in range(1, c + 1) if c % g == 0 and g <= 64]
        raise ShapeError(f"has {p.groups} groups but {c} channels, which they must divide",
                         f"set groups to one of {', '.join(map(str, ok[-6:]))}")
    return x


GROUPNORM = LayerSpec(
    name="GroupNorm", category="Normalization", icon="γ", key_params=("groups",),
    help="Normalizes groups of channels per sample: BatchNorm's benefits at small batch sizes.",
    params=(Int("groups", 8, min=1, max=1024, help="Channel groups; must divide the channel count."), _EPS),
    infer=_gn_infer,
    build=lambda p, x: nn().GroupNorm(p.groups, x[0].shape[0], eps=p.eps), count=lambda p, x: 2 * x[0].shape[0],
)

RMSNORM = LayerSpec(
    name="RMSNorm", category="Normalization", icon="ρ",
    help="Scales each sample by the root-mean-square of its last axis (no centring): LayerNorm's "
         "cheaper cousin in modern transformers.",
    params=(Float("eps", 1e-6, min=1e-12, max=1.0, help="Added to the mean square for stability."),),
    infer=_last_dim_infer,
    build=lambda p, x: nn().RMSNorm(x[0].shape[-1], eps=p.eps), count=lambda p, x: x[0].shape[-1],
)

ENTRIES = (BATCHNORM, LAYERNORM, GROUPNORM, RMSNORM)
