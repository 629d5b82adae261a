"""Saliency (Captum), conv feature maps, confusion matrix and decision-boundary grids."""
import numpy as np
import pytest
import torch

from layerlab.core.compiler import compile_graph
from layerlab.core.data import Preprocessor
from layerlab.core.graph import Graph
from layerlab.core.train.inspection import confusion_matrix, decision_boundary
from layerlab.core.train.saliency import feature_maps, saliency

from .conftest import chain

FLOAT_METHODS = ("gradient", "smoothgrad", "integrated_gradients")


def build(*layers, shape=(4,), dtype="float32"):
    g = Graph()
    chain(g, ("Input", {"shape": list(shape), "dtype": dtype}), *layers, "Output")
    torch.manual_seed(0)
    return compile_graph(g)


@pytest.fixture(scope="module")
def cnn():
    return build(("Conv2d", {"filters": 4}), "ReLU", "MaxPool2d", ("Conv2d", {"filters": 6}), "ReLU", "Flatten",
                 ("Dense", {"units": 3}), shape=(1, 8, 8))


def test_saliency_of_a_model_reading_only_feature_0_lands_on_feature_0():
    c = build(("Dense", {"units": 8}), "Tanh", ("Dense", {"units": 2}))
    with torch.no_grad():
        c.module.dense1.weight[:, 1:] = 0.0
    x = torch.tensor([0.5, -1.0, 2.0, 0.3])
    for method in FLOAT_METHODS:
        attr = saliency(c, x, target=1, method=method)
        assert attr.shape == (4,) and attr.dtype == np.float32
        assert abs(attr[0]) > 0 and np.allclose(attr[1:], 0.0, atol=1e-7), method


@pytest.mark.parametrize("method", FLOAT_METHODS + ("gradcam",))
def test_image_saliency_has_the_sample_shape_and_touches_nothing(cnn, method):
    cnn.module.train()
    x = torch.randn(1, 8, 8)
    attr = saliency(cnn, x, method=method)            # target: the predicted class
    assert attr.shape == (1, 8, 8) and np.all(np.isfinite(attr))
    assert saliency(cnn, x[None], target=0, method=method).shape == (1, 8, 8)  # a batch of one is fine
    assert all(m.training for m in cnn.module.modules())
    assert all(p.grad is None for p in cnn.module.parameters())  # the trainer's gradients stay as they are


def test_gradcam_is_upsampled_non_negative_and_picks_a_conv_layer(cnn):
    x = torch.randn(1, 8, 8)
    last = saliency(cnn, x, target=2, method="gradcam")
    first = saliency(cnn, x, target=2, method="gradcam", layer="conv2d1")
    assert last.min() >= 0 and first.min() >= 0
    assert not np.allclose(last, first)
    with pytest.raises(ValueError, match="'dense1' is a Dense, not a conv layer: pick one of conv2d1, conv2d2"):
        saliency(cnn, x, method="gradcam", layer="dense1")


def test_gradcam_without_conv_layers_says_what_to_pick():
    c = build(("Dense", {"units": 8}), "ReLU", ("Dense", {"units": 2}))
    with pytest.raises(ValueError, match="no(ne)?.*pick gradient, smoothgrad or integrated_gradients"):
        saliency(c, torch.randn(4), method="gradcam")
    with pytest.raises(ValueError, match="unknown saliency method"):
        saliency(c, torch.randn(4), method="lime")


def test_token_ids_are_attributed_per_token_at_the_embedding():
    c = build(("Embedding", {"vocab": 10, "dim": 8}), "Flatten", ("Dense", {"units": 3}), shape=(6,), dtype="int64")
    ids = torch.randint(0, 10, (6,))
    for method in ("gradient", "integrated_gradients"):
        assert saliency(c, ids, method=method).shape == (6,)
    with pytest.raises(ValueError, match="token ids.*pick integrated_gradients or gradient"):
        saliency(c, ids, method="smoothgrad")


def test_per_position_outputs_are_explained_at_one_position():
    c = build(("Embedding", {"vocab": 10, "dim": 8}), ("Dense", {"units": 10}), shape=(5,), dtype="int64")
    assert saliency(c, torch.randint(0, 10, (5,)), method="integrated_gradients", position=2).shape == (5,)


def test_feature_maps(cnn):
    x = torch.randn(1, 8, 8)
    maps = feature_maps(cnn, x, "conv2d2")
    assert maps.shape == (6, 4, 4)
    with torch.no_grad():
        expect = cnn.module.conv2d2(cnn.module.maxpool2d1(cnn.module.relu1(cnn.module.conv2d1(x[None]))))[0]
    assert np.allclose(maps, expect.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="not feature maps: pick a conv layer"):
        feature_maps(cnn, x, "dense1")
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        feature_maps(cnn, x, "nope")


# ---------------------------------------------------------------- inspect
def test_confusion_matrix_counts_every_sample():
    c = build(("Dense", {"units": 3}))
    x, y = torch.randn(1000, 4), torch.randint(0, 3, (1000,))
    cm = confusion_matrix(c, x, y, 3, batch=128)
    assert cm.shape == (3, 3) and cm.sum() == 1000
    assert np.array_equal(cm.sum(1), np.bincount(y.numpy(), minlength=3))
    pred = c.module(x).argmax(1)
    assert np.trace(cm) == int((pred == y).sum())


def test_confusion_matrix_for_one_binary_logit_and_per_position_targets():
    c = build(("Dense", {"units": 1}))
    with torch.no_grad():
        c.module.dense1.weight.copy_(torch.tensor([[1.0, 0, 0, 0]]))
        c.module.dense1.bias.zero_()
    x = torch.randn(200, 4)
    y = (x[:, 0] > 0).long()
    cm = confusion_matrix(c, x, y, 2)
    assert cm[0, 1] == 0 and cm[1, 0] == 0 and cm.sum() == 200
    seq = build(("Embedding", {"vocab": 5, "dim": 4}), ("Dense", {"units": 5}), shape=(7,), dtype="int64")
    cm = confusion_matrix(seq, torch.randint(0, 5, (30, 7)), torch.randint(0, 5, (30, 7)), 5)
    assert cm.sum() == 30 * 7


def test_decision_boundary_grid_applies_the_preprocessing():
    # the network says class 1 when the STANDARDIZED first feature is positive
    c = build(("Dense", {"units": 2}), shape=(2,))
    with torch.no_grad():
        c.module.dense1.weight.copy_(torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
        c.module.dense1.bias.zero_()
    gen = torch.Generator().manual_seed(0)
    raw = torch.stack([torch.rand(500, generator=gen) * 10 + 10, torch.randn(500, generator=gen)], 1)
    pre = Preprocessor.fit("standardize", raw)
    xs, ys, probs = decision_boundary(c, raw, pre, resolution=50, margin=0.5)
    assert xs.shape == (50,) and ys.shape == (50,) and probs.shape == (50, 50, 2)
    assert xs[0] == pytest.approx(float(raw[:, 0].min()) - 0.5)
    assert ys[-1] == pytest.approx(float(raw[:, 1].max()) + 0.5)
    assert np.allclose(probs.sum(-1), 1.0, atol=1e-5)
    _, _, cls = decision_boundary(c, raw, pre, resolution=50, kind="class")
    assert cls.shape == (50, 50) and set(np.unique(cls)) == {0, 1}
    switch = xs[np.argmax(cls[0] == 1)]          # first column predicted as class 1
    assert switch == pytest.approx(float(raw[:, 0].mean()), abs=0.5)
    assert np.all(cls[:, 0] == 0) and np.all(cls[:, -1] == 1)   # constant along y: only x counts
    _, _, raw_cls = decision_boundary(c, raw, None, resolution=50, kind="class")
    assert np.all(raw_cls == 1)                   # without preprocessing every raw x is > 0


def test_decision_boundary_needs_two_features():
    c = build(("Dense", {"units": 2}))
    with pytest.raises(ValueError, match="2 features"):
        decision_boundary(c, torch.randn(10, 4), None)
