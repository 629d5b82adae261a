"""Convolution and pooling layers."""
from __future__ import annotations

from ._rules import conv_out, modules, need_float, need_rank, nn, one, same_padding
from .spec import Bool, Choice, Int, LayerSpec, ShapeError

_PAD_HELP = "same keeps the size at stride 1 (odd kernels); valid uses no padding."


def _padding(p) -> int:
    return same_padding(p.kernel_size, getattr(p, "dilation", 1)) if p.padding == "same" else 0


def _conv_infer(rank: int):
    what = "a sequence of channels [B, C, L]" if rank == 2 else "images [B, C, H, W]"
    fix = ("insert Reshape to make [C, L]" if rank == 2 else
           "insert Reshape to make [C, H, W] (e.g. 1, 8, 8 for digits)")

    def infer(p, inputs):
        x = one(inputs)
        need_float(x)
        need_rank(x, (rank,), what, fix)
        pad = _padding(p)
        spatial = [conv_out(s, p.kernel_size, p.stride, pad, p.dilation) for s in x.shape[1:]]
        if min(spatial) < 1:
            size = "×".join(map(str, x.shape[1:]))
            raise ShapeError(f"kernel {p.kernel_size} does not fit its {size} input",
                             "lower kernel_size, use padding same, or remove a pooling layer before it")
        return x.with_shape(p.filters, *spatial)
    return infer


def _conv_params(extra=()):
    return (Int("filters", 16, min=1, max=4096, help="Output channels (one per learned kernel)."),
            Int("kernel_size", 3, min=1, max=31, help="Kernel width (and height)."),
            Int("stride", 1, min=1, max=16, help="Step between kernel positions; 2 halves the size."),
            Choice("padding", "same", help=_PAD_HELP, options=("same", "valid")),
            Int("dilation", 1, min=1, max=16, help="Spacing between kernel taps."),
            Bool("bias", True, help="Turn off when BatchNorm follows: its shift replaces the bias."),
            *extra)


def _conv_build(cls_name):
    def build(p, x):
        cls = getattr(nn(), cls_name)
        return cls(x[0].shape[0], p.filters, p.kernel_size, stride=p.stride, padding=_padding(p),
                   dilation=p.dilation, bias=p.bias)
    return build


def _conv_count(k_axes):
    return lambda p, x: x[0].shape[0] * p.filters * p.kernel_size ** k_axes + (p.filters if p.bias else 0)


CONV1D = LayerSpec(
    name="Conv1d", category="Convolution", icon="⫼", key_params=("filters", "kernel_size", "stride"),
    has_bias_param=True, weighted=True, linear=True, width_param="filters",
    help="1-D convolution over [B, C, L]: sliding kernels along a sequence or signal.",
    params=_conv_params(), infer=_conv_infer(2), build=_conv_build("Conv1d"), count=_conv_count(1),
)

CONV2D = LayerSpec(
    name="Conv2d", category="Convolution", icon="⊞", key_params=("filters", "kernel_size", "stride"),
    has_bias_param=True, weighted=True, linear=True, width_param="filters",
    help="2-D convolution over images [B, C, H, W]: learned local filters shared across positions.",
    params=_conv_params(), infer=_conv_infer(3), build=_conv_build("Conv2d"), count=_conv_count(2),
)


def _pool_infer(p, inputs):
    x = one(inputs)
    need_rank(x, (3,), "feature maps [B, C, H, W]", "use it after a Conv2d, or Reshape to [C, H, W]")
    stride = p.stride or p.kernel_size
    if 2 * p.padding > p.kernel_size:
        raise ShapeError(f"padding {p.padding} is more than half its window {p.kernel_size}",
                         f"set padding to {p.kernel_size // 2} or less")
    out = [conv_out(s, p.kernel_size, stride, p.padding) for s in x.shape[1:]]
    if min(out) < 1:
        raise ShapeError(f"window {p.kernel_size} is larger than its {x.shape[1]}×{x.shape[2]} input",
                         "use a smaller kernel_size or remove an earlier pooling layer")
    return x.with_shape(x.shape[0], *out)


def _pool_params():
    return (Int("kernel_size", 2, min=1, max=16, help="Window size."),
            Int("stride", 0, min=0, max=16, help="Step between windows; 0 means equal to kernel_size."),
            Int("padding", 0, min=0, max=8, help="Border added on each side (ResNet's stem pools 3×3, "
                "stride 2, padding 1); at most half the window."))


MAXPOOL2D = LayerSpec(
    name="MaxPool2d", category="Convolution", icon="⊡", key_params=("kernel_size",), key_layer=False,
    help="Keeps the largest value in each window: halves H and W with kernel 2.",
    params=_pool_params(), infer=_pool_infer,
    build=lambda p, x: nn().MaxPool2d(p.kernel_size, stride=p.stride or p.kernel_size, padding=p.padding),
)

AVGPOOL2D = LayerSpec(
    name="AvgPool2d", category="Convolution", icon="⊟", key_params=("kernel_size",), key_layer=False,
    help="Averages each window: smoother down-sampling than max pooling.",
    params=_pool_params(), infer=_pool_infer,
    build=lambda p, x: nn().AvgPool2d(p.kernel_size, stride=p.stride or p.kernel_size, padding=p.padding),
)


def _gap_infer(p, inputs):
    x = one(inputs)
    need_rank(x, (2, 3), "channels with spatial axes [B, C, L] or [B, C, H, W]",
              "use it after a convolution")
    return x.with_shape(x.shape[0])


GLOBALAVGPOOL = LayerSpec(
    name="GlobalAvgPool", category="Convolution", icon="◎",
    help="Averages every channel over all positions: [B, C, H, W] to [B, C]. A parameter-free "
         "alternative to Flatten before the classifier.",
    infer=_gap_infer, build=lambda p, x: modules().GlobalAvgPool(),
)

ENTRIES = (CONV1D, CONV2D, MAXPOOL2D, AVGPOOL2D, GLOBALAVGPOOL)
