"""Each diagnosis fires on a constructed bad case, stays silent on a healthy one, and says
which setting to change."""
import math

import pytest
import torch

from layerlab.core.analysis import analyze
from layerlab.core.graph import Graph
from layerlab.core.train import diagnosis as D
from layerlab.core.train import probes

from .conftest import chain
from .test_probes import mlp


def codes(diags):
    return {d.code for d in diags}


def probe(g, c, x):
    return D.diagnose_probes(probes.collect_probes(c, x, 0, graph=g), g)


X2 = torch.randn(256, 2, generator=torch.Generator().manual_seed(1))


def test_every_diagnosis_is_plain_words_with_a_fix():
    g, c = mlp(depth=5, units=32, init="zeros")
    found = probe(g, c, X2) + D.diagnose_history([{"train_loss": math.nan, "val_loss": 1.0}])
    assert found
    for d in found:
        assert d.severity in ("info", "warning", "error") and d.message and d.fix
        assert d.to_dict()["code"] == d.code and d.message in str(d) and d.fix in str(d)


# ---------------------------------------------------------------- initial loss
def test_expected_initial_loss():
    assert D.expected_initial_loss("cross_entropy", 10, None) == pytest.approx(math.log(10))
    assert D.expected_initial_loss("bce_logits", 2, None) == pytest.approx(math.log(2))
    assert D.expected_initial_loss("hinge", 4, None) == pytest.approx(0.75)
    y = torch.tensor([[1.0], [-1.0], [3.0], [-3.0]])
    assert D.expected_initial_loss("mse", 0, y) == pytest.approx(5.0)  # centred: the variance
    assert D.expected_initial_loss("mae", 0, y) == pytest.approx(2.0)
    assert D.expected_initial_loss("mse", 0, None) is None


def test_initial_loss_flags_an_overconfident_init_and_not_a_good_one():
    y = torch.randint(0, 3, (256,))
    expected = D.expected_initial_loss("cross_entropy", 3, y)
    for init, bad in (("large_normal", True), ("auto", False)):
        _, c = mlp(depth=2, units=32, init=init)
        with torch.no_grad():
            observed = float(torch.nn.functional.cross_entropy(c.module(X2), y))
        found = D.diagnose_initial_loss("cross_entropy", observed, expected)
        assert ("init_loss_high" in codes(found)) == bad, (init, observed)
    d = D.diagnose_initial_loss("cross_entropy", 9.0, expected)[0]
    assert d.severity == "warning" and "Softmax" in d.fix and "init" in d.fix
    assert D.diagnose_initial_loss("cross_entropy", math.inf, expected)[0].code == "nan"
    assert codes(D.diagnose_initial_loss("cross_entropy", 0.1, expected)) == {"init_loss_low"}
    assert D.diagnose_initial_loss("mse", 1.0, None) == []


def test_regression_targets_far_from_zero_are_noted():
    y = torch.randn(100, 1) + 150.0
    found = D.diagnose_initial_loss("mse", 22500.0, D.expected_initial_loss("mse", 0, y), y_train=y)
    assert codes(found) == {"targets_off_centre"}


# ---------------------------------------------------------------- probes
def test_healthy_relu_network_is_silent():
    g, c = mlp(depth=5, units=32, init="he_normal")
    assert probe(g, c, X2) == []


def test_deep_tanh_with_large_init_saturates():
    g, c = mlp(act="Tanh", depth=5, units=32, init="large_normal")
    found = probe(g, c, X2)
    sat = [d for d in found if d.code == "saturated_units"]
    assert sat and all(d.layer.startswith("tanh") for d in sat)
    assert "xavier_normal" in sat[0].fix
    g, c = mlp(act="Tanh", depth=5, units=32, init="xavier_normal")
    assert "saturated_units" not in codes(probe(g, c, X2))


def test_small_init_collapses_activations_and_large_init_explodes_them():
    g, c = mlp(depth=5, units=32, init="small_normal")
    d = next(d for d in probe(g, c, X2) if d.code == "vanishing_activations")
    assert d.layer == "dense2" and "he_normal" in d.fix
    g, c = mlp(depth=5, units=32, init="large_normal")
    assert "exploding_activations" in codes(probe(g, c, X2))


def test_zero_init_reports_constant_activations_once():
    g, c = mlp(depth=5, units=32, init="zeros")
    found = probe(g, c, X2)
    assert [(d.code, d.severity, d.layer) for d in found] == [("vanishing_activations", "error", "dense1")]


def test_huge_negative_bias_kills_relus():
    g, c = mlp(depth=2, units=32, init="he_normal")
    with torch.no_grad():
        c.module.dense2.bias.fill_(-1000.0)
    found = probe(g, c, X2)
    dead = [d for d in found if d.code == "dead_relu"]
    assert [d.layer for d in dead] == ["relu2"] and dead[0].severity == "error"
    assert "LeakyReLU" in dead[0].fix and "lr" in dead[0].fix


# ---------------------------------------------------------------- gradients
def _grads(act, depth, init):
    g, c = mlp(act=act, depth=depth, units=32, init=init)
    y = torch.randint(0, 3, (256,), generator=torch.Generator().manual_seed(0))
    torch.nn.functional.cross_entropy(c.module(X2), y).backward()
    return probes.grad_norms(c)


def test_vanishing_gradients_in_a_deep_sigmoid_network():
    found = D.diagnose_gradients(_grads("Sigmoid", 8, "xavier_normal"))
    assert codes(found) == {"vanishing_gradients"} and found[0].layer == "dense1"
    assert D.diagnose_gradients(_grads("ReLU", 5, "he_normal")) == []


def test_exploding_and_nonfinite_gradients():
    assert codes(D.diagnose_gradients({"a": 500.0, "b": 10.0, "c": 1.0})) == {"exploding_gradients"}
    huge = D.diagnose_gradients({"a": 5e4, "b": 4e4})
    assert codes(huge) == {"exploding_gradients"} and "clip" in huge[0].fix
    assert D.diagnose_gradients({"a": 1.0, "b": math.nan})[0].layer == "b"


def test_update_ratios_judge_the_learning_rate():
    assert codes(D.diagnose_gradients({}, {"a": 1e-3, "b": 2e-3})) == set()
    high = D.diagnose_gradients({}, {"a": 0.05, "b": 0.2})
    assert codes(high) == {"lr_too_high"} and high[0].layer == "b" and "lr" in high[0].fix
    assert codes(D.diagnose_gradients({}, {"a": 1e-7, "b": 1e-6})) == {"lr_too_low"}
    assert codes(D.diagnose_gradients({}, {"a": 1e-7, "b": 1e-6}, lr=1e-3, base_lr=1e-3)) == {"lr_too_low"}
    # a schedule that has annealed the LR toward 0 explains tiny updates
    assert D.diagnose_gradients({}, {"a": 1e-7, "b": 1e-6}, lr=1e-6, base_lr=1e-3) == []


# ---------------------------------------------------------------- history
def rows(train, val):
    return [{"epoch": i + 1, "train_loss": t, "val_loss": v} for i, (t, v) in enumerate(zip(train, val))]


def test_healthy_history_is_silent():
    train = [1.0, 0.7, 0.5, 0.4, 0.35, 0.3, 0.28]
    assert D.diagnose_history(rows(train, [t + 0.05 for t in train]), expected_loss=1.1) == []


def test_overfitting():
    train = [1.0, 0.6, 0.4, 0.3, 0.2, 0.12, 0.08, 0.05]
    val = [1.0, 0.7, 0.55, 0.5, 0.56, 0.65, 0.75, 0.85]
    found = D.diagnose_history(rows(train, val))
    assert codes(found) == {"overfitting"}
    assert "Dropout" in found[0].fix and "weight_decay" in found[0].fix and "early_stopping" in found[0].fix


def test_loss_spike_names_the_epoch():
    train = [1.0, 0.8, 0.7, 0.6, 5.0, 0.6, 0.55]
    found = D.diagnose_history(rows(train, train))
    assert codes(found) == {"loss_spike"} and "epoch 5" in found[0].message and "lr" in found[0].fix


def test_plateau_at_the_initial_loss():
    train = [1.099, 1.098, 1.099, 1.097, 1.098, 1.098]
    found = D.diagnose_history(rows(train, train), expected_loss=math.log(3))
    assert codes(found) == {"plateau"} and "chance" in found[0].message
    assert D.diagnose_history(rows(train[:3], train[:3])) == []  # too early to tell


def test_nan_in_history():
    assert "nan" in codes(D.diagnose_history(rows([1.0, math.nan], [1.0, 1.0])))


# ---------------------------------------------------------------- graph
def test_bias_before_batchnorm_is_redundant():
    g = Graph()
    chain(g, ("Input", {"shape": [4]}), ("Dense", {"units": 8}), "BatchNorm", "ReLU",
          ("Dense", {"units": 8, "bias": False}), "BatchNorm", "ReLU", ("Dense", {"units": 2}), "Output")
    found = D.diagnose_graph(g, analyze(g))
    assert [(d.code, d.layer) for d in found] == [("redundant_bias", "dense1")]
    assert "bias to false" in found[0].fix


def test_softmax_before_cross_entropy():
    g = Graph()
    chain(g, ("Input", {"shape": [4]}), ("Dense", {"units": 3}), "Softmax", "Output")
    found = D.diagnose_graph(g, loss_name="cross_entropy")
    assert [(d.code, d.layer) for d in found] == [("softmax_before_loss", "softmax1")]
    assert D.diagnose_graph(g, loss_name="mse") == []


# ---------------------------------------------------------------- NaN / Inf
def test_nonfinite_layer_names_the_first_bad_layer():
    g, c = mlp(depth=3, units=8)
    x = torch.randn(16, 2)
    assert D.nonfinite_layer(c, x) is None
    with torch.no_grad():
        c.module.dense2.weight[0, 0] = float("nan")
    assert D.nonfinite_layer(c, x) == "dense2"
    with torch.no_grad():
        c.module.dense2.weight[0, 0] = 0.0
        c.module.dense1.weight.fill_(1e38)  # finite weights, overflowing output
    assert D.nonfinite_layer(c, x * 100) == "dense1"
    bad = x.clone()
    bad[3, 1] = float("inf")
    assert D.nonfinite_layer(c, bad) == g.nodes[analyze(g).input_id].name  # the data itself
    c.module.train()
    D.nonfinite_layer(c, x)
    assert c.module.training


def test_dedupe_keeps_the_first_per_code_and_layer():
    a = D.Diagnosis("dead_relu", "warning", "r1", "m1", "f")
    b = D.Diagnosis("dead_relu", "error", "r1", "m2", "f")
    c = D.Diagnosis("dead_relu", "warning", "r2", "m3", "f")
    assert D.dedupe([a, b, c]) == [a, c]
