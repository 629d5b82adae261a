"""Structure and dense layers: Input, Output, Dense, Flatten, Reshape, Dropout, Add, Concat."""
from __future__ import annotations

import math

from ._rules import modules, need_float, need_rank, nn, one
from .merge import Cat, Sum
from .spec import Bool, Choice, Dims, Float, Int, LayerSpec, ShapeError, TensorType


def _input_infer(p, inputs):
    return TensorType(p.shape, "long" if p.dtype == "int64" else "float")


INPUT = LayerSpec(
    name="Input", category="Structure", icon="⇥", inputs=0, key_params=("shape",), role="input",
    help="Where samples enter the network. shape excludes the batch axis (2 for points, 1,8,8 for "
         "digits images, 32 for 32 token ids).",
    params=(Dims("shape", (2,), help="Per-sample shape without the batch axis, e.g. 1, 8, 8."),
            Choice("dtype", "float32", help="float32 for features; int64 for token ids (feed Embedding).",
                   options=("float32", "int64"))),
    infer=_input_infer,
)

OUTPUT = LayerSpec(
    name="Output", category="Structure", icon="⇤", role="output",
    help="The network's result: logits for classification (no Softmax before cross-entropy), "
         "values for regression.",
    infer=lambda p, x: one(x),
)


def _dense_infer(p, inputs):
    x = one(inputs)
    need_float(x)
    if x.rank == 0:
        raise ShapeError(f"needs features but gets a scalar {x}", "reshape the input")
    if x.rank > 2:
        raise ShapeError(f"needs a flat input but gets {x}",
                         "insert Flatten (or GlobalAvgPool) before it")
    return x.with_shape(*x.shape[:-1], p.units)


DENSE = LayerSpec(
    name="Dense", category="Core", icon="▦", key_params=("units",), has_bias_param=True,
    weighted=True, linear=True, width_param="units", module_classes=("Linear",),
    help="Fully connected layer: every output unit sees every input feature (acts on the last axis).",
    params=(Int("units", 64, min=1, max=1 << 16, help="Output features."),
            Bool("bias", True, help="Turn off when a norm layer follows: its shift replaces the bias.")),
    infer=_dense_infer,
    build=lambda p, x: nn().Linear(x[0].shape[-1], p.units, bias=p.bias),
    count=lambda p, x: x[0].shape[-1] * p.units + (p.units if p.bias else 0),
)


def _flatten_infer(p, inputs):
    x = one(inputs)
    return x.with_shape(math.prod(x.shape))


FLATTEN = LayerSpec(
    name="Flatten", category="Core", icon="▤", keeps_values=True, key_layer=False,
    help="Flattens each sample to one axis, e.g. [B, 8, 4, 4] to [B, 128], before a Dense layer.",
    infer=_flatten_infer,
    build=lambda p, x: nn().Flatten(),
)


def _reshape_infer(p, inputs):
    x = one(inputs)
    total = math.prod(x.shape)
    known = math.prod(d for d in p.shape if d != -1)
    if -1 in p.shape:
        if total % known:
            raise ShapeError(f"cannot reshape {x} ({total} values) to {list(p.shape)}",
                             f"choose sizes whose product divides {total}")
        return x.with_shape(*(total // known if d == -1 else d for d in p.shape))
    if known != total:
        raise ShapeError(f"cannot reshape {x} ({total} values) to {list(p.shape)} ({known} values)",
                         f"choose sizes whose product is {total}, or use -1 for one axis")
    return x.with_shape(*p.shape)


RESHAPE = LayerSpec(
    name="Reshape", category="Core", icon="⬚", key_params=("shape",), keeps_values=True, key_layer=False,
    help="Reshapes each sample (the batch axis is kept); one size may be -1 to infer it.",
    params=(Dims("shape", (-1,), infer_one=True, help="New per-sample shape, e.g. 1, 8, 8 or -1."),),
    infer=_reshape_infer,
    build=lambda p, x: modules().Reshape(p.shape),
)

DROPOUT = LayerSpec(
    name="Dropout", category="Regularization", icon="⁘", key_params=("p",), keeps_values=True,
    key_layer=False,
    help="Zeroes each activation with probability p during training (scaled by 1/(1-p)); off at evaluation.",
    params=(Float("p", 0.5, min=0.0, max=0.99, help="Drop probability."),),
    infer=lambda p, x: one(x),
    build=lambda p, x: nn().Dropout(p.p),
)


def _dropout2d_infer(p, inputs):
    x = one(inputs)
    need_rank(x, (3,), "feature maps [B, C, H, W]", "use Dropout for flat or sequence features")
    return x


DROPOUT2D = LayerSpec(
    name="Dropout2d", category="Regularization", icon="⁙", key_params=("p",), keeps_values=True,
    key_layer=False,
    help="Drops whole channels of conv feature maps with probability p (neighbouring pixels are correlated, "
         "so per-pixel dropout barely regularizes them).",
    params=(Float("p", 0.2, min=0.0, max=0.99, help="Channel drop probability."),),
    infer=_dropout2d_infer,
    build=lambda p, x: nn().Dropout2d(p.p),
)


def _add_infer(p, inputs):
    first = inputs[0]
    for i, x in enumerate(inputs[1:], start=2):
        if x.shape != first.shape:
            raise ShapeError(f"adds inputs of different shapes: input 1 is {first}, input {i} is {x}",
                             "make both branches end in the same shape (e.g. a 1×1 Conv2d or Dense "
                             "on the skip path)")
    return first


ADD = LayerSpec(
    name="Add", category="Merge", icon="⊕", key_params=("inputs",), merge=Sum(),
    inputs=lambda p: p.inputs,
    help="Element-wise sum of its inputs, which must have equal shapes (residual connections).",
    params=(Int("inputs", 2, min=2, max=8, help="How many inputs to add."),),
    infer=_add_infer,
)


def _concat_infer(p, inputs):
    first = inputs[0]
    axis = p.axis if p.axis >= 0 else first.rank + p.axis
    if not 0 <= axis < first.rank:
        raise ShapeError(f"has axis {p.axis} but its input {first} has {first.rank} feature axes",
                         f"set axis between 0 and {first.rank - 1} (0 is channels/features)")
    total = 0
    for i, x in enumerate(inputs, start=1):
        if x.rank != first.rank or any(a != b for k, (a, b) in enumerate(zip(x.shape, first.shape)) if k != axis):
            raise ShapeError(f"joins inputs that differ off axis {p.axis}: input 1 is {first}, input {i} is {x}",
                             "make the inputs agree on every other axis")
        total += x.shape[axis]
    shape = list(first.shape)
    shape[axis] = total
    return first.with_shape(*shape)


CONCAT = LayerSpec(
    name="Concat", category="Merge", icon="⧺", key_params=("inputs", "axis"), merge=Cat(),
    inputs=lambda p: p.inputs,
    help="Joins its inputs along one per-sample axis (0 = channels or features).",
    params=(Int("inputs", 2, min=2, max=8, help="How many inputs to join."),
            Int("axis", 0, min=-4, max=3, help="Per-sample axis to join along; 0 is channels/features.")),
    infer=_concat_infer,
)

ENTRIES = (INPUT, DENSE, FLATTEN, RESHAPE, DROPOUT, DROPOUT2D, ADD, CONCAT, OUTPUT)
