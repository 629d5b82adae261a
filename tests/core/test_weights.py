"""Weights files: safetensors keyed by node id; pickles and junk are refused without unpickling."""
import pickle

import pytest
import torch

from layerlab.core.compiler import compile_graph
from layerlab.core.graph import Graph
from layerlab.core.weights import WeightsError, load_weights, read_weights, save_weights

from .conftest import chain


def _compiled(units=7, seed=0):
    torch.manual_seed(seed)
    g = Graph()
    chain(g, ("Input", {"shape": [5]}), ("Dense", {"units": units}), "Output")
    return g, compile_graph(g)


def test_round_trip_keyed_by_node_id_survives_rename(tmp_path):
    g, c = _compiled()
    path = tmp_path / "w.safetensors"
    save_weights(c.module, c.node_of_module, path, {"epoch": "3"})
    tensors, meta = read_weights(path)
    assert set(tensors) == {"n2.weight", "n2.bias"} and meta == {"epoch": "3"}
    g.rename("n2", "renamed")
    c2 = compile_graph(g)
    load_weights(c2.module, c2.node_of_module, path)
    assert torch.equal(c2.module.renamed.weight, c.module.dense1.weight)


@pytest.mark.parametrize("units", range(1, 40))
def test_any_header_length_is_accepted(tmp_path, units):
    # a safetensors header length can start with byte 0x80, which once looked like a pickle
    g, c = _compiled(units)
    path = tmp_path / "w.safetensors"
    save_weights(c.module, c.node_of_module, path)
    read_weights(path)


class Payload:
    def __reduce__(self):
        import os
        return (os.system, ("touch /tmp/layerlab-pwned-marker",))


def test_pickle_and_junk_are_refused_without_running_code(tmp_path):
    import os
    marker = "/tmp/layerlab-pwned-marker"
    if os.path.exists(marker):
        os.unlink(marker)
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(WeightsError, match="pickle"):
        read_weights(evil)
    assert not os.path.exists(marker)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"hello world, not weights")
    with pytest.raises(WeightsError, match="not a safetensors file"):
        read_weights(junk)


def test_weights_of_another_network_are_refused_with_the_reason(tmp_path):
    _, c = _compiled(7)
    path = tmp_path / "w.safetensors"
    save_weights(c.module, c.node_of_module, path)
    _, other = _compiled(8)
    with pytest.raises(WeightsError, match=r"do not fit this network \(shape of dense1\.\w+ is \(7"):
        load_weights(other.module, other.node_of_module, path)


def test_weightless_network_round_trips(tmp_path):
    g = Graph()
    chain(g, ("Input", {"shape": [5]}), "ReLU", "Output")
    c = compile_graph(g)
    save_weights(c.module, c.node_of_module, tmp_path / "w.safetensors", {})
    assert load_weights(c.module, c.node_of_module, tmp_path / "w.safetensors") == {}
