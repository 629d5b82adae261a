"""Element-wise activations (never in place: Captum's attributions need the inputs intact)."""
from __future__ import annotations

from ._rules import need_float, nn, one
from .spec import Float, Int, LayerSpec, ShapeError


def _same(p, inputs):
    x = one(inputs)
    need_float(x)
    return x


def _act(name, help, build, activation, params=(), icon="∿"):
    return LayerSpec(name=name, category="Activation", icon=icon, help=help, params=params, infer=_same,
                     build=build, activation=activation, key_params=tuple(q.name for q in params))


RELU = _act("ReLU", "max(0, x). Fast and the default for hidden layers; units can die (stay at 0) "
            "with a too-high learning rate or bad init.", lambda p, x: nn().ReLU(), "relu", icon="⟋")
LEAKYRELU = _act("LeakyReLU", "x for x > 0, slope·x otherwise: keeps a small gradient so units cannot die.",
                 lambda p, x: nn().LeakyReLU(p.negative_slope), "leaky_relu",
                 (Float("negative_slope", 0.01, min=0.0, max=1.0, help="Slope for negative inputs."),))
ELU = _act("ELU", "x for x > 0, α(eˣ−1) otherwise: smooth, negative outputs push mean activations to 0.",
           lambda p, x: nn().ELU(p.alpha), "relu", (Float("alpha", 1.0, min=0.0, max=10.0, help="Saturation value for negative inputs."),))
GELU = _act("GELU", "x·Φ(x): the smooth ReLU used in transformers.", lambda p, x: nn().GELU(), "relu")
SILU = _act("SiLU", "x·sigmoid(x) (Swish): smooth, non-monotonic, strong in deep conv nets.",
            lambda p, x: nn().SiLU(), "relu")
SIGMOID = _act("Sigmoid", "1/(1+e⁻ˣ) in (0, 1). Saturates: gradients vanish in deep stacks. Not before "
               "BCE-with-logits (it applies the sigmoid itself).", lambda p, x: nn().Sigmoid(), "sigmoid",
               icon="∫")
TANH = _act("Tanh", "tanh(x) in (−1, 1): zero-centred, but saturates like Sigmoid.",
            lambda p, x: nn().Tanh(), "tanh", icon="∫")


def _softmax_infer(p, inputs):
    x = _same(p, inputs)
    if not -x.rank <= p.dim < x.rank:
        raise ShapeError(f"has dim {p.dim} but its input {x} has {x.rank} feature axes",
                         "set dim to -1 (the last axis)")
    return x


SOFTMAX = LayerSpec(
    name="Softmax", category="Activation", icon="σ", key_params=("dim",), activation="softmax",
    help="Turns scores into probabilities along an axis. Leave it out before cross-entropy, which "
         "applies log-softmax itself.",
    params=(Int("dim", -1, min=-4, max=3, help="Per-sample axis that sums to 1; -1 is the last."),),
    infer=_softmax_infer,
    # the per-sample dim shifts by one for the batch axis when non-negative
    build=lambda p, x: nn().Softmax(dim=p.dim if p.dim < 0 else p.dim + 1),
)

ENTRIES = (RELU, LEAKYRELU, ELU, GELU, SILU, SIGMOID, TANH, SOFTMAX)
