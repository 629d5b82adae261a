"""Weight initialization with torch.nn.init: a global scheme plus per-node overrides.

Schemes (variance of each weight, fan_in/fan_out as torch computes them):
  zeros 0 · constant c (init_constant) · small_normal N(0, 0.01²) · large_normal N(0, 1)
  uniform U(−1/√fan_in, 1/√fan_in) (PyTorch's own default, var 1/(3·fan_in))
  xavier_normal / xavier_uniform 2/(fan_in+fan_out) · he_normal / he_uniform 2/fan_in
  (2/((1+a²)·fan_in) before LeakyReLU with slope a) · lecun_normal 1/fan_in
  orthogonal (rows or columns orthonormal: 1/max(rows, cols))
  auto: He when a ReLU-like activation follows the layer in the graph (looking through norm,
  dropout, pooling, Add, Flatten), Xavier before tanh / sigmoid / softmax or when none follows;
  a classifier's logits layer (the one feeding the Output under a class loss) gets Xavier scaled by
  LOGITS_GAIN, so near-equal logits start the loss at ln N instead of confidently wrong; inside blocks the same rule by the next sub-layer; recurrent weights:
  Xavier for input-to-hidden, orthogonal for hidden-to-hidden (per gate).
Weights of Dense, Conv, Embedding, attention and recurrent layers are initialized; biases are set
to zero; norm layers get weight 1, bias 0. Attention and recurrent matrices are initialized per
projection / per gate, so fans are those of each square block.
"""
from __future__ import annotations

import math

import torch
from torch import nn

RELU_LIKE = ("relu", "leaky_relu")
CLASS_LOSSES = ("cross_entropy", "bce_logits", "hinge")
LOGITS = "logits"       # pseudo-activation: the layer's outputs are a classifier's logits
# digits MLP (Dense 64, ReLU, Dense 10): loss at init 2.67 with plain Xavier (3.09 He), 2.302 at ×0.01 (ln 10 = 2.303)
LOGITS_GAIN = 0.01
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)


def _downstream(graph, node_id: str, passes):
    """Nodes after `node_id`, breadth first, each once; the walk goes on past a node only
    where `passes(spec)` is true."""
    seen, frontier = set(), [e.dst for e in graph.outputs_of(node_id)]
    while frontier:
        nxt = []
        for nid in frontier:
            if nid in seen:
                continue
            seen.add(nid)
            node = graph.nodes[nid]
            yield node
            if passes(node.spec):
                nxt.extend(e.dst for e in graph.outputs_of(nid))
        frontier = nxt


def following_activation(graph, node_id: str) -> tuple[str, float]:
    """(activation, leaky slope) of the first activation after `node_id`, looking through the
    layers in between (norms, dropout, pooling, merges, reshapes); ("", 0.0) when a weighted layer
    or the Output comes first."""
    for node in _downstream(graph, node_id, lambda spec: not spec.weighted and not spec.role):
        act = node.spec.activation
        if act:
            return act, (float(node.params.get("negative_slope", 0.01)) if act == "leaky_relu" else 0.0)
    return "", 0.0


def feeds_output(graph, node_id: str) -> bool:
    """True when `node_id`'s outputs reach the Output node through shape-keeping layers only."""
    keeps = lambda spec: not spec.weighted and not spec.role and not spec.activation  # noqa: E731
    return any(node.spec.role == "output" for node in _downstream(graph, node_id, keeps))


def init_activation(graph, node_id: str, loss: str) -> tuple[str, float]:
    """What `auto` keys on for a node: the activation that follows it, or LOGITS for the layer
    that feeds a classifier's Output directly."""
    act, slope = following_activation(graph, node_id)
    if not act and loss in CLASS_LOSSES and feeds_output(graph, node_id):
        return LOGITS, 0.0
    return act, slope


def resolve_scheme(scheme: str, activation: str) -> str:
    if scheme != "auto":
        return scheme
    return "he_normal" if activation in RELU_LIKE else "xavier_normal"


def init_tensor(w: torch.Tensor, scheme: str, activation: str = "", slope: float = 0.0,
                constant: float = 0.1) -> None:
    """Initialize one weight tensor in place (no autograd)."""
    if scheme == "auto" and activation == LOGITS:
        nn.init.xavier_normal_(w)
        with torch.no_grad():
            w.mul_(LOGITS_GAIN)
        return
    scheme = resolve_scheme(scheme, activation)
    a = slope if activation == "leaky_relu" else 0.0
    with torch.no_grad():
        if scheme == "zeros":
            nn.init.zeros_(w)
        elif scheme == "constant":
            nn.init.constant_(w, constant)
        elif scheme == "small_normal":
            nn.init.normal_(w, 0.0, 0.01)
        elif scheme == "large_normal":
            nn.init.normal_(w, 0.0, 1.0)
        elif scheme == "uniform":
            fan_in = nn.init._calculate_fan_in_and_fan_out(w)[0] if w.dim() > 1 else w.numel()
            bound = 1.0 / math.sqrt(max(fan_in, 1))
            nn.init.uniform_(w, -bound, bound)
        elif scheme == "xavier_normal":
            nn.init.xavier_normal_(w)
        elif scheme == "xavier_uniform":
            nn.init.xavier_uniform_(w)
        elif scheme == "he_normal":
            nn.init.kaiming_normal_(w, a=a, nonlinearity="leaky_relu" if a else "relu")
        elif scheme == "he_uniform":
            nn.init.kaiming_uniform_(w, a=a, nonlinearity="leaky_relu" if a else "relu")
        elif scheme == "lecun_normal":
            nn.init.kaiming_normal_(w, nonlinearity="linear")
        elif scheme == "orthogonal":
            nn.init.orthogonal_(w)
        else:
            raise ValueError(f"unknown init scheme {scheme!r}")


def _zero(t) -> None:
    if t is not None:
        with torch.no_grad():
            t.zero_()


def _init_blocks(w: torch.Tensor, blocks: int, scheme: str, activation: str, constant: float) -> None:
    for chunk in w.chunk(blocks, 0):
        init_tensor(chunk, scheme, activation, constant=constant)


def init_module(module: nn.Module, scheme: str, activation: str = "", slope: float = 0.0,
                constant: float = 0.1) -> None:
    """Initialize a node's module (and its sub-modules) with `scheme`; `activation` is what follows
    the node in the graph (used by auto and by He's gain)."""
    def walk(m: nn.Module, act: str, sl: float) -> None:
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding)):
            init_tensor(m.weight, scheme, act, sl, constant)
            _zero(getattr(m, "bias", None))
        elif isinstance(m, nn.MultiheadAttention):
            if m.in_proj_weight is not None:
                _init_blocks(m.in_proj_weight, 3, scheme, "", constant)
            else:
                for w in (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight):
                    init_tensor(w, scheme, "", constant=constant)
            _zero(m.in_proj_bias)
            walk(m.out_proj, "", 0.0)
        elif isinstance(m, nn.RNNBase):
            gates = m.weight_ih_l0.shape[0] // m.hidden_size  # 4 for LSTM, 3 for GRU, 1 for RNN
            for name, p in m.named_parameters():
                if name.startswith("weight_hh"):
                    _init_blocks(p, gates, "orthogonal" if scheme == "auto" else scheme, "", constant)
                elif name.startswith("weight_ih"):
                    _init_blocks(p, gates, scheme, "", constant)
                else:
                    _zero(p)
        elif isinstance(m, NORMS):
            if getattr(m, "weight", None) is not None:
                with torch.no_grad():
                    m.weight.fill_(1.0)
            _zero(getattr(m, "bias", None))
        else:
            children = list(m.children())
            for i, child in enumerate(children):
                nxt = children[i + 1] if i + 1 < len(children) else None
                if isinstance(child, (nn.Linear, nn.Conv1d, nn.Conv2d)) and nxt is not None:
                    act_c = _torch_activation(nxt)
                    walk(child, act_c, 0.01 if act_c == "leaky_relu" else 0.0)
                else:
                    walk(child, act if nxt is None else "", sl if nxt is None else 0.0)

    walk(module, activation, slope)


def _torch_activation(m: nn.Module) -> str:
    if isinstance(m, (nn.ReLU, nn.GELU, nn.SiLU, nn.ELU)):
        return "relu"
    if isinstance(m, nn.LeakyReLU):
        return "leaky_relu"
    if isinstance(m, nn.Tanh):
        return "tanh"
    if isinstance(m, nn.Sigmoid):
        return "sigmoid"
    return ""


def initialize(compiled, graph, spec) -> dict[str, str]:
    """Initialize every node of a compiled network from `spec` (TrainSpec: init, init_overrides,
    init_constant). Returns node id -> scheme used ("he_normal (auto)" for auto choices)."""
    used: dict[str, str] = {}
    modules = dict(compiled.module.named_children())
    for name, node_id in compiled.node_of_module.items():
        module = modules.get(name)
        if module is None or not any(True for _ in module.parameters()):
            continue
        scheme = spec.init_overrides.get(node_id, spec.init)
        act, slope = init_activation(graph, node_id, spec.loss)
        init_module(module, scheme, act, slope, spec.init_constant)
        used[node_id] = _described(scheme, act)
    _inner_overrides(compiled, graph, spec, used)
    return used


def _described(scheme: str, act: str) -> str:
    if scheme != "auto":
        return scheme
    return f"xavier_normal ×{LOGITS_GAIN:g} (auto, logits)" if act == LOGITS else f"{resolve_scheme(scheme, act)} (auto)"


def _inner_overrides(compiled, graph, spec, used: dict[str, str]) -> None:
    """Overrides for layers inside block instances ("n5/n3"), applied after the instance's own
    init, with `auto` keyed on the next layer inside the block."""
    from ..compiler import QUALIFIER, walk_layers

    if not any(QUALIFIER in k for k in spec.init_overrides):
        return
    for ref in walk_layers(compiled, graph):
        scheme = spec.init_overrides.get(ref.qid)
        if scheme is None or QUALIFIER not in ref.qid or not any(True for _ in ref.module.parameters()):
            continue
        act, slope = init_activation(ref.owner, ref.node.id, spec.loss) if ref.owner is not None else ("", 0.0)
        init_module(ref.module, scheme, act, slope, spec.init_constant)
        used[ref.qid] = _described(scheme, act)
