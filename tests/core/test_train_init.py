"""Weight init: each scheme's empirical variance against theory, auto's choice by the following
activation, per-node overrides, zero biases, norm layers reset, composite layers covered."""
import math

import pytest
import torch
from torch import nn

from layerlab.core.compiler import compile_graph
from layerlab.core.graph import Graph
from layerlab.core.specs import TrainSpec
from layerlab.core.train.init import following_activation, init_module, init_tensor, initialize

from .test_train_helpers import chain

FAN_IN, FAN_OUT = 400, 300     # weight [FAN_OUT, FAN_IN]: 120,000 samples -> variance within ~1.5%

THEORY = {
    "zeros": 0.0,
    "small_normal": 1e-4,
    "large_normal": 1.0,
    "uniform": 1 / (3 * FAN_IN),
    "xavier_normal": 2 / (FAN_IN + FAN_OUT),
    "xavier_uniform": 2 / (FAN_IN + FAN_OUT),
    "he_normal": 2 / FAN_IN,
    "he_uniform": 2 / FAN_IN,
    "lecun_normal": 1 / FAN_IN,
    "orthogonal": 1 / max(FAN_IN, FAN_OUT),
}


@pytest.mark.parametrize("scheme", sorted(THEORY))
def test_each_scheme_has_its_theoretical_variance(scheme):
    torch.manual_seed(0)
    w = torch.empty(FAN_OUT, FAN_IN)
    init_tensor(w, scheme, activation="relu")
    var = float(w.var(unbiased=False))
    assert float(w.mean()) == pytest.approx(0.0, abs=0.02 * math.sqrt(max(THEORY[scheme], 1e-12)) + 1e-12)
    assert var == pytest.approx(THEORY[scheme], rel=0.05, abs=1e-12)


def test_uniform_bounds_and_constant():
    w = torch.empty(FAN_OUT, FAN_IN)
    init_tensor(w, "uniform")
    assert float(w.abs().max()) <= 1 / math.sqrt(FAN_IN) + 1e-7
    init_tensor(w, "constant", constant=0.25)
    assert torch.all(w == 0.25)


def test_orthogonal_rows_are_orthonormal():
    w = torch.empty(64, 128)
    init_tensor(w, "orthogonal")
    assert torch.allclose(w @ w.T, torch.eye(64), atol=1e-5)


def test_he_uses_the_leaky_slope():
    torch.manual_seed(0)
    w = torch.empty(FAN_OUT, FAN_IN)
    init_tensor(w, "he_normal", activation="leaky_relu", slope=0.2)
    assert float(w.var()) == pytest.approx(2 / ((1 + 0.2 ** 2) * FAN_IN), rel=0.05)


def test_conv_fan_in_counts_the_kernel():
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 64, 3)
    init_module(conv, "he_normal", "relu")
    assert float(conv.weight.detach().var()) == pytest.approx(2 / (16 * 9), rel=0.06)
    assert torch.all(conv.bias == 0)


def _graph(*layers):
    g = Graph()
    nodes = chain(g, *layers)
    return g, nodes


def test_auto_picks_he_before_relu_and_xavier_before_tanh_or_nothing():
    g, n = _graph(("Input", {"shape": [256]}), ("Dense", {"units": 256}), ("BatchNorm", {}), "ReLU",
                  ("Dense", {"units": 256}), "Tanh", ("Dense", {"units": 256}), "Output")
    compiled = compile_graph(g)
    torch.manual_seed(0)
    used = initialize(compiled, g, TrainSpec(init="auto"))
    assert used[n[1].id] == "he_normal (auto)"        # through the BatchNorm to the ReLU
    assert used[n[4].id] == "xavier_normal (auto)"    # Tanh follows
    assert used[n[6].id] == "xavier_normal ×0.01 (auto, logits)"   # feeds the Output of a class loss
    m = compiled.module
    fc1, fc2, fc3 = (getattr(m, g.nodes[n[i].id].name) for i in (1, 4, 6))
    assert float(fc1.weight.detach().var()) == pytest.approx(2 / 256, rel=0.06)
    assert float(fc2.weight.detach().var()) == pytest.approx(2 / 512, rel=0.06)
    assert float(fc3.weight.detach().var()) == pytest.approx(2 / 512 * 0.01 ** 2, rel=0.06)   # small logits
    # a regression loss keeps plain Xavier on the last layer: its outputs are not logits
    used = initialize(compiled, g, TrainSpec(init="auto", loss="mse"))
    assert used[n[6].id] == "xavier_normal (auto)"
    assert float(fc3.weight.detach().var()) == pytest.approx(2 / 512, rel=0.06)
    assert all(torch.all(layer.bias == 0) for layer in (fc1, fc2, fc3))
    bn = getattr(m, g.nodes[n[2].id].name)
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)


def test_following_activation_sees_leaky_slope_and_stops_at_weights():
    g, n = _graph(("Input", {"shape": [4]}), ("Dense", {"units": 4}), ("Dropout", {"p": 0.1}),
                  ("LeakyReLU", {"negative_slope": 0.2}), ("Dense", {"units": 4}), ("Dense", {"units": 2}), "Sigmoid",
                  "Output")
    assert following_activation(g, n[1].id) == ("leaky_relu", 0.2)
    assert following_activation(g, n[4].id) == ("", 0.0)
    assert following_activation(g, n[5].id) == ("sigmoid", 0.0)


def test_per_node_override_wins_over_the_global_scheme():
    g, n = _graph(("Input", {"shape": [200]}), ("Dense", {"units": 200}), "ReLU", ("Dense", {"units": 200}), "Output")
    compiled = compile_graph(g)
    used = initialize(compiled, g, TrainSpec(init="he_normal", init_overrides={n[3].id: "zeros"}))
    assert used == {n[1].id: "he_normal", n[3].id: "zeros"}
    m = compiled.module
    assert torch.all(getattr(m, n[3].name).weight == 0)
    assert float(getattr(m, n[1].name).weight.detach().var()) == pytest.approx(0.01, rel=0.08)


def test_embedding_attention_recurrent_and_transformer_are_initialized():
    g, n = _graph(("Input", {"shape": [8], "dtype": "int64"}), ("Embedding", {"vocab": 50, "dim": 32}),
                  ("MultiheadSelfAttention", {"heads": 4}), ("TransformerBlock", {"heads": 4}),
                  ("LSTM", {"hidden": 32, "return_sequences": True}), ("Dense", {"units": 50}), "Output")
    compiled = compile_graph(g)
    initialize(compiled, g, TrainSpec(init="zeros"))
    m = compiled.module
    names = [g.nodes[x.id].name for x in n[1:6]]
    for name in names:
        for pname, p in getattr(m, name).named_parameters():
            if "norm" in pname and "weight" in pname:
                assert torch.all(p == 1), pname
            else:
                assert torch.all(p == 0), f"{name}.{pname}"
    initialize(compiled, g, TrainSpec(init="auto"))
    lstm = getattr(m, names[3]).rnn
    hh = lstm.weight_hh_l0.detach()
    for gate in hh.chunk(4, 0):                       # orthogonal per gate
        assert torch.allclose(gate @ gate.T, torch.eye(32), atol=1e-5)
    attn = getattr(m, names[1]).attn
    q = attn.in_proj_weight.detach()[:32]
    assert float(q.var()) == pytest.approx(2 / 64, rel=0.25)  # Xavier on the square block
    assert torch.all(attn.in_proj_bias == 0)
    block = getattr(m, names[2])
    up = block.mlp[0].weight.detach()                 # followed by GELU: He
    assert float(up.var()) == pytest.approx(2 / 32, rel=0.15)


def test_same_seed_same_weights():
    def weights():
        g, _ = _graph(("Input", {"shape": [4]}), ("Dense", {"units": 8}), "ReLU", ("Dense", {"units": 2}), "Output")
        torch.manual_seed(3)
        c = compile_graph(g)
        initialize(c, g, TrainSpec())
        return [p.detach().clone() for p in c.module.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(weights(), weights()))
