"""Every catalogue entry infers shapes, compiles, and its module outputs exactly the inferred shape."""
import pytest
import torch

from layerlab.core import layers
from layerlab.core.analysis import analyze
from layerlab.core.compiler import compile_graph, example_input
from layerlab.core.graph import Graph

from .conftest import chain

# (case id, input shape, input dtype, layer type, params)
CASES = [
    ("dense", [5], "float32", "Dense", {"units": 7}),
    ("dense_seq", [4, 6], "float32", "Dense", {"units": 3, "bias": False}),
    ("flatten", [2, 3, 4], "float32", "Flatten", {}),
    ("reshape", [24], "float32", "Reshape", {"shape": [3, -1]}),
    ("dropout", [5], "float32", "Dropout", {"p": 0.3}),
    ("dropout2d", [3, 4, 4], "float32", "Dropout2d", {}),
    ("conv1d", [3, 10], "float32", "Conv1d", {"filters": 4, "kernel_size": 3, "padding": "valid"}),
    ("conv2d", [3, 8, 8], "float32", "Conv2d", {"filters": 4, "stride": 2}),
    ("conv2d_dilated", [3, 9, 9], "float32", "Conv2d", {"filters": 2, "kernel_size": 3, "dilation": 2}),
    ("maxpool", [3, 9, 9], "float32", "MaxPool2d", {"kernel_size": 2}),
    ("avgpool", [3, 8, 8], "float32", "AvgPool2d", {"kernel_size": 3, "stride": 1}),
    ("gap2d", [3, 8, 8], "float32", "GlobalAvgPool", {}),
    ("gap1d", [3, 8], "float32", "GlobalAvgPool", {}),
    ("relu", [5], "float32", "ReLU", {}),
    ("leaky", [5], "float32", "LeakyReLU", {"negative_slope": 0.2}),
    ("elu", [5], "float32", "ELU", {}),
    ("gelu", [5], "float32", "GELU", {}),
    ("silu", [5], "float32", "SiLU", {}),
    ("sigmoid", [5], "float32", "Sigmoid", {}),
    ("tanh", [5], "float32", "Tanh", {}),
    ("softmax", [3, 5], "float32", "Softmax", {"dim": 0}),
    ("bn_flat", [5], "float32", "BatchNorm", {}),
    ("bn_seq", [3, 10], "float32", "BatchNorm", {}),
    ("bn_img", [3, 8, 8], "float32", "BatchNorm", {}),
    ("layernorm", [4, 6], "float32", "LayerNorm", {}),
    ("groupnorm", [8, 4, 4], "float32", "GroupNorm", {"groups": 4}),
    ("rmsnorm", [4, 6], "float32", "RMSNorm", {}),
    ("embedding", [7], "int64", "Embedding", {"vocab": 11, "dim": 8}),
    ("posenc", [7, 8], "float32", "PositionalEncoding", {"max_len": 16}),
    ("posenc_learned", [7, 6], "float32", "PositionalEncoding", {"kind": "learned", "max_len": 7}),
    ("mhsa", [7, 8], "float32", "MultiheadSelfAttention", {"heads": 2, "causal": True}),
    ("transformer", [7, 8], "float32", "TransformerBlock", {"heads": 2, "ff_mult": 2, "causal": True}),
    ("lstm_seq", [7, 5], "float32", "LSTM", {"hidden": 6, "layers": 2}),
    ("lstm_last_bi", [7, 5], "float32", "LSTM", {"hidden": 6, "bidirectional": True, "return_sequences": False}),
    ("gru", [7, 5], "float32", "GRU", {"hidden": 4, "bidirectional": True, "layers": 2}),
]


def _single_layer_graph(shape, dtype, layer, params):
    g = Graph()
    _, node, _ = chain(g, ("Input", {"shape": shape, "dtype": dtype}), (layer, params), "Output")
    return g, node


def _check(g, node_ids):
    a = analyze(g)
    assert a.ok, [str(p) for p in a.problems]
    c = compile_graph(g, a)
    c.module.eval()
    x = example_input(c.input_type, batch=3, vocab=11)
    with torch.no_grad():
        y = c.module(x)
    assert tuple(y.shape) == (3, *a.shapes[a.output_id].shape)
    for nid in node_ids:
        name = g.nodes[nid].name
        module = getattr(c.module, name, None)
        real = sum(p.numel() for p in module.parameters()) if module is not None else 0
        assert a.param_counts.get(nid, 0) == real, f"{g.nodes[nid].type}: counted {a.param_counts.get(nid)} vs {real}"
    return a, c


@pytest.mark.parametrize("case,shape,dtype,layer,params", CASES, ids=[c[0] for c in CASES])
def test_entry_compiles_to_inferred_shape_and_param_count(case, shape, dtype, layer, params):
    g, node = _single_layer_graph(shape, dtype, layer, params)
    _check(g, [node.id])


def test_add_and_concat_merge_branches():
    g = Graph()
    x, conv = chain(g, ("Input", {"shape": [3, 8, 8]}), ("Conv2d", {"filters": 3}))
    add = g.add_node("Add", {"inputs": 3})
    cat = g.add_node("Concat", {"axis": 0})
    out = g.add_node("Output")
    g.connect(conv.id, add.id, 0)
    g.connect(x.id, add.id, 1)
    g.connect(x.id, add.id, 2)
    g.connect(add.id, cat.id, 0)
    g.connect(conv.id, cat.id, 1)
    g.connect(cat.id, out.id)
    a, c = _check(g, [conv.id, add.id, cat.id])
    assert str(a.shapes[cat.id]) == "[B, 6, 8, 8]"
    assert "torch.cat" in c.code and "+" in c.code


def test_catalogue_covers_required_layers_and_each_is_tested():
    required = {"Input", "Dense", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool", "Flatten",
                "Reshape", "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax", "BatchNorm",
                "LayerNorm", "GroupNorm", "RMSNorm", "Dropout", "Dropout2d", "Add", "Concat", "Embedding",
                "PositionalEncoding", "MultiheadSelfAttention", "TransformerBlock", "LSTM", "GRU", "Output"}
    assert required <= set(layers.REGISTRY)
    # block types: tests/core/test_blocks.py
    tested = {c[3] for c in CASES} | {"Input", "Output", "Add", "Concat", "Block", "BlockInput", "BlockOutput"}
    assert set(layers.REGISTRY) <= tested


@pytest.mark.parametrize("spec", list(layers.REGISTRY.values()), ids=list(layers.REGISTRY))
def test_entry_is_documented_for_palette_and_inspector(spec):
    assert spec.category in layers.CATEGORIES
    assert len(spec.help) > 20
    for p in spec.params:
        assert p.help, f"{spec.name}.{p.name} has no help text"
        assert p.coerce(p.default) == p.coerce(p.default)  # defaults are valid
    assert set(spec.key_params) <= {p.name for p in spec.params}


def test_batchnorm_picks_1d_or_2d_from_input():
    from torch import nn
    for shape, cls in (([5], nn.BatchNorm1d), ([3, 10], nn.BatchNorm1d), ([3, 8, 8], nn.BatchNorm2d)):
        g, node = _single_layer_graph(shape, "float32", "BatchNorm", {})
        assert isinstance(getattr(compile_graph(g).module, node.name), cls)


def test_causal_attention_does_not_look_ahead():
    torch.manual_seed(0)
    g, node = _single_layer_graph([6, 8], "float32", "MultiheadSelfAttention", {"heads": 2, "causal": True})
    m = compile_graph(g).module.eval()
    x = torch.randn(1, 6, 8)
    x2 = x.clone()
    x2[0, 4:] += 5.0  # change only the future
    with torch.no_grad():
        assert torch.allclose(m(x)[0, :4], m(x2)[0, :4], atol=1e-6)
        assert not torch.allclose(m(x)[0, 4:], m(x2)[0, 4:])


def test_generated_code_uses_node_names():
    g = Graph()
    chain(g, ("Input", {"shape": [4]}), ("Dense", {"units": 3}), "Output")
    g.rename("n2", "hidden")
    g.rename("n1", "features")
    code = compile_graph(g).code
    assert "hidden = self.hidden(features)" in code
    assert "return hidden" in code
