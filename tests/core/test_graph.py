"""Graph edits, their signals and refusals, and the JSON round-trip."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerlab.core import layers
from layerlab.core.graph import Graph, GraphError, RESERVED

from .conftest import chain


def test_edits_emit_signals():
    g = Graph()
    seen = []
    for sig in ("node_added", "node_removed", "node_renamed", "node_moved", "param_changed",
                "edge_added", "edge_removed", "changed"):
        getattr(g, sig).connect(lambda *a, s=sig: seen.append(s))
    a = g.add_node("Input", {"shape": [2]})
    b = g.add_node("Dense")
    e = g.connect(a.id, b.id)
    g.rename(b.id, "fc")
    g.move(b.id, (10, 20))
    g.set_param(b.id, "units", 8)
    g.disconnect(e)
    g.remove_node(b.id)
    assert seen == ["node_added", "changed", "node_added", "changed", "edge_added", "changed",
                    "node_renamed", "changed", "node_moved", "param_changed", "changed",
                    "edge_removed", "changed", "node_removed", "changed"]
    assert g.nodes[a.id].params["shape"] == [2] and g.edges == []


def test_remove_node_returns_its_edges_for_undo(mlp_graph):
    node, edges = mlp_graph.remove_node("n3")
    assert node.type == "ReLU" and len(edges) == 2 and all("n3" in (e.src, e.dst) for e in edges)


@pytest.mark.parametrize("src,dst,slot,expected", [
    ("n5", "n1", 0, "is the network's end"),
    ("n2", "n1", 0, "takes no inputs"),
    ("n1", "n2", 1, "there is no input 2"),
    ("n3", "n2", 0, "already connected"),
])
def test_connect_refusals(mlp_graph, src, dst, slot, expected):
    with pytest.raises(GraphError, match=expected):
        mlp_graph.connect(src, dst, slot)


def test_connect_refuses_cycles_and_self_loops():
    g = Graph()
    a, b, c = chain(g, ("Input", {"shape": [2]}), "Add", "ReLU")
    with pytest.raises(GraphError, match="would make a cycle"):
        g.connect(c.id, b.id, 1)
    d = g.add_node("Add")
    with pytest.raises(GraphError, match="would make a cycle"):
        g.connect(d.id, d.id, 0)
    assert len(g.edges) == 2


def test_lowering_add_inputs_drops_vanished_edges():
    g = Graph()
    a = g.add_node("Input", {"shape": [2]})
    add = g.add_node("Add", {"inputs": 3})
    for slot in range(3):
        g.connect(a.id, add.id, slot)
    g.set_param(add.id, "inputs", 2)
    assert sorted(e.slot for e in g.edges) == [0, 1]


@pytest.mark.parametrize("bad", ["", "1abc", "a b", "class", "forward", "_private", "x" * 65, "naïve;rm"])
def test_names_must_be_safe_identifiers(bad):
    g = Graph()
    n = g.add_node("ReLU")
    with pytest.raises(GraphError):
        g.rename(n.id, bad)


def test_reserved_names_cover_graphmodule_attributes():
    import torch.fx
    public = {a for a in dir(torch.fx.GraphModule) if not a.startswith("_")}
    assert public <= RESERVED | {"dump_patches"}


def test_duplicate_names_are_refused_and_defaults_are_unique():
    g = Graph()
    a, b = g.add_node("Dense"), g.add_node("Dense")
    assert (a.name, b.name) == ("dense1", "dense2")
    with pytest.raises(GraphError, match="already exists"):
        g.rename(b.id, "dense1")


# --------------------------------------------------------------- hypothesis round-trip
def _param_value(p):
    if isinstance(p, layers.Int):
        return st.integers(p.min if p.min is not None else -100, min(p.max or 100, 100))
    if isinstance(p, layers.Float):
        return st.floats(p.min if p.min is not None else -10, p.max if p.max is not None else 10,
                         allow_nan=False)
    if isinstance(p, layers.Bool):
        return st.booleans()
    if isinstance(p, layers.Choice):
        return st.sampled_from(p.options)
    return st.lists(st.integers(1, 64), min_size=1, max_size=4)


@st.composite
def graphs(draw):
    g = Graph()
    for _ in range(draw(st.integers(0, 12))):
        spec = layers.REGISTRY[draw(st.sampled_from(sorted(layers.REGISTRY)))]
        params = {p.name: draw(_param_value(p)) for p in spec.params if draw(st.booleans())}
        pos = (draw(st.floats(-1e4, 1e4, allow_nan=False)), draw(st.floats(-1e4, 1e4, allow_nan=False)))
        g.add_node(spec.name, params, pos)
    ids = list(g.nodes)
    for _ in range(draw(st.integers(0, 15))):
        if len(ids) < 2:
            break
        src, dst = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        try:
            g.connect(src, dst, draw(st.integers(0, 2)))
        except GraphError:
            pass
    return g


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_json_round_trip_is_exact(g):
    doc = json.loads(json.dumps(g.to_dict()))
    g2 = Graph.from_dict(doc)
    assert g2.to_dict() == g.to_dict()
    assert json.dumps(g2.to_dict()) == json.dumps(doc)


@pytest.mark.parametrize("doc,msg", [
    ({"nodes": "x"}, "list of nodes"),
    ({"nodes": [{"id": 1, "type": "ReLU"}], "edges": []}, "string id"),
    ({"nodes": [{"id": "n1", "type": "Blender"}], "edges": []}, "unknown layer type 'Blender'"),
    ({"nodes": [{"id": "n1", "type": "Dense", "params": {"colour": 1}}], "edges": []}, "no parameter 'colour'"),
    ({"nodes": [{"id": "n1", "type": "ReLU", "pos": [1]}], "edges": []}, r"pos must be \[x, y\]"),
    ({"nodes": [{"id": "n1", "type": "ReLU"}], "edges": [{"src": "n1", "dst": "n9"}]}, "edge 1 must join"),
    ({"nodes": [{"id": "n1", "type": "ReLU"}, {"id": "n1", "type": "ReLU"}], "edges": []}, "used twice|already"),
])
def test_malformed_graph_documents_are_refused_clearly(doc, msg):
    with pytest.raises(GraphError, match=msg):
        Graph.from_dict(doc)
