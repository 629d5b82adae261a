"""Probes: per-layer activation / weight statistics as small numpy copies, gradient norms and
update ratios, on real networks compiled from graphs."""
import numpy as np
import pytest
import torch

from layerlab.core.compiler import compile_graph
from layerlab.core.graph import Graph
from layerlab.core.specs import TrainSpec
from layerlab.core.train import probes
from layerlab.core.train.init import initialize

from .conftest import chain


def mlp(act="ReLU", depth=2, units=16, init="auto", inputs=2, outputs=3, seed=0):
    g = Graph()
    layers = [("Input", {"shape": [inputs]})]
    for _ in range(depth):
        layers += [("Dense", {"units": units}), act]
    chain(g, *layers, ("Dense", {"units": outputs}), "Output")
    c = compile_graph(g)
    torch.manual_seed(seed)
    initialize(c, g, TrainSpec(init=init))
    return g, c


def test_rows_follow_graph_order_with_types_and_histograms():
    g, c = mlp(depth=2)
    x = torch.randn(128, 2)
    snap = probes.collect_probes(c, x, epoch=3, bins=20, graph=g)
    assert snap.epoch == 3
    assert [s.name for s in snap.layers] == ["dense1", "relu1", "dense2", "relu2", "dense3"]
    assert [s.type for s in snap.layers] == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    assert [s.node_id for s in snap.layers] == [c.node_of_module[s.name] for s in snap.layers]
    for s in snap.layers:
        assert len(s.act_hist) == 20 and len(s.act_edges) == 21
        assert s.act_hist.sum() == 128 * (16 if s.name != "dense3" else 3)
        assert np.all(np.diff(s.act_edges) > 0)
        assert (s.weight_hist is None) == (s.type == "ReLU")
        assert (s.dead_fraction is None) == (s.type != "ReLU")
        assert s.saturated_fraction is None
    dense1 = snap.layer("dense1")
    assert dense1.weight_hist.sum() == 2 * 16
    with torch.no_grad():
        out = c.module.dense1(x)
    assert dense1.act_mean == pytest.approx(float(out.mean()), abs=1e-5)
    assert dense1.act_std == pytest.approx(float(out.std(unbiased=False)), rel=1e-4)


def test_without_graph_types_come_from_module_classes():
    _, c = mlp(act="Tanh", depth=1)
    snap = probes.collect_probes(c, torch.randn(32, 2), 0)
    assert [s.type for s in snap.layers] == ["Dense", "Tanh", "Dense"]
    assert snap.layers[1].saturated_fraction is not None


def test_arrays_are_copies_not_views_of_live_tensors():
    g, c = mlp(depth=1)
    snap = probes.collect_probes(c, torch.randn(64, 2), 0, graph=g)
    w = c.module.dense1.weight.detach().numpy()
    for s in snap.layers:
        for arr in (s.act_hist, s.act_edges, s.weight_hist, s.weight_edges):
            if arr is not None:
                assert isinstance(arr, np.ndarray) and not np.shares_memory(arr, w)
    before = snap.layer("dense1").weight_hist.copy()
    with torch.no_grad():
        c.module.dense1.weight.mul_(100)
    assert np.array_equal(snap.layer("dense1").weight_hist, before)


@pytest.mark.parametrize("training", [True, False])
def test_runs_in_eval_mode_and_restores_the_mode(training):
    g = Graph()
    chain(g, ("Input", {"shape": [4]}), ("Dense", {"units": 8}), "BatchNorm", "ReLU", ("Dropout", {"p": 0.5}),
          ("Dense", {"units": 2}), "Output")
    c = compile_graph(g)
    c.module.train(training)
    seen = []
    c.module.dropout1.register_forward_hook(lambda m, i, o: seen.append(m.training))
    bn = c.module.batchnorm1
    running = bn.running_mean.clone(), bn.running_var.clone(), int(bn.num_batches_tracked)
    x = torch.randn(64, 4) * 3 + 5
    probes.collect_probes(c, x, 0, graph=g)
    probes.collect_probes(c, x, 0, graph=g, batch_stats=True)
    assert seen == [False, False]
    assert all(m.training == training for m in c.module.modules())
    assert torch.equal(bn.running_mean, running[0]) and torch.equal(bn.running_var, running[1])
    assert int(bn.num_batches_tracked) == running[2]


def test_batch_stats_normalizes_a_fresh_batchnorm():
    g = Graph()
    chain(g, ("Input", {"shape": [4]}), ("Dense", {"units": 8}), "BatchNorm", ("Dense", {"units": 2}), "Output")
    c = compile_graph(g)
    x = torch.randn(256, 4) * 10 + 50
    plain = probes.collect_probes(c, x, 0, graph=g).layer("batchnorm1")
    normed = probes.collect_probes(c, x, 0, graph=g, batch_stats=True).layer("batchnorm1")
    assert normed.act_std == pytest.approx(1.0, abs=0.05) and abs(normed.act_mean) < 0.05
    assert plain.act_std > 2  # eval mode with fresh running stats (0, 1) does not normalize


def test_dead_fraction_counts_units_that_never_fire():
    g, c = mlp(depth=1, units=10)
    with torch.no_grad():
        c.module.dense1.bias[:4] = -100.0  # 4 of 10 units can never be positive
    snap = probes.collect_probes(c, torch.randn(256, 2), 0, graph=g)
    assert snap.layer("relu1").dead_fraction == pytest.approx(0.4)


def test_saturation_of_tanh_and_sigmoid():
    for act in ("Tanh", "Sigmoid"):
        g, c = mlp(act=act, depth=1, init="large_normal", inputs=20)
        snap = probes.collect_probes(c, torch.randn(256, 20), 0, graph=g)
        assert snap.layers[1].saturated_fraction > 0.3
        g, c = mlp(act=act, depth=1, init="xavier_normal", inputs=20)
        snap = probes.collect_probes(c, torch.randn(256, 20), 0, graph=g)
        assert snap.layers[1].saturated_fraction < 0.2


def test_large_layers_are_subsampled_but_dead_fraction_sees_the_whole_batch():
    g = Graph()
    chain(g, ("Input", {"shape": [1, 8, 8]}), ("Conv2d", {"filters": 16}), "ReLU", "Flatten",
          ("Dense", {"units": 3}), "Output")
    c = compile_graph(g)
    snap = probes.collect_probes(c, torch.randn(256, 1, 8, 8), 0, graph=g, max_values=4096)
    conv = snap.layer("conv2d1")
    assert 0 < conv.act_hist.sum() <= 4096  # the batch's first samples, every position kept
    assert conv.act_hist.sum() % (16 * 8 * 8) == 0
    assert 0 <= snap.layer("relu1").dead_fraction < 0.05


def test_nonfinite_activations_give_nan_stats_and_a_finite_histogram():
    g, c = mlp(depth=1)
    with torch.no_grad():
        c.module.dense1.weight[0, 0] = float("inf")
    s = probes.collect_probes(c, torch.randn(64, 2), 0, graph=g).layer("dense1")
    assert np.isnan(s.act_mean) and np.isnan(s.act_std)
    assert np.all(np.isfinite(s.act_edges)) and s.act_hist.sum() > 0


def test_grad_norms_and_update_ratios():
    g, c = mlp(depth=2)
    x, y = torch.randn(64, 2), torch.randint(0, 3, (64,))
    assert probes.grad_norms(c) == {}  # no backward yet
    torch.nn.functional.cross_entropy(c.module(x), y).backward()
    norms = probes.grad_norms(c)
    assert list(norms) == ["dense1", "dense2", "dense3"]
    assert norms["dense2"] == pytest.approx(float(c.module.dense2.weight.grad.norm()), rel=1e-5)
    before = probes.snapshot_weights(c)
    w0 = c.module.dense2.weight.detach().clone()
    torch.optim.SGD(c.module.parameters(), lr=0.01).step()
    ratios = probes.update_ratios(c, before)
    assert set(ratios) == {"dense1", "dense2", "dense3"}
    expect = float((c.module.dense2.weight.detach() - w0).norm() / w0.norm())
    assert ratios["dense2"] == pytest.approx(expect, rel=1e-5)
    assert probes.update_ratios(c, before, steps=10)["dense2"] == pytest.approx(expect / 10, rel=1e-5)
    snap = probes.collect_probes(c, x, 1, graph=g, grad_norms=norms, update_ratios=ratios)
    assert snap.layer("dense2").grad_norm == norms["dense2"] and snap.layer("relu1").grad_norm is None
    assert snap.layer("dense3").update_ratio == ratios["dense3"]


def test_composite_layers_report_their_matrices():
    g = Graph()
    chain(g, ("Input", {"shape": [6], "dtype": "int64"}), ("Embedding", {"vocab": 12, "dim": 8}),
          ("TransformerBlock", {"heads": 2}), ("Dense", {"units": 12}), "Output")
    c = compile_graph(g)
    snap = probes.collect_probes(c, torch.randint(0, 12, (16, 6)), 0, graph=g)
    assert [s.type for s in snap.layers] == ["Embedding", "TransformerBlock", "Dense"]
    assert snap.layer("transformerblock1").weight_hist.sum() > 0
