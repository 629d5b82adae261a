import pytest

from layerlab.core.graph import Graph


def chain(graph: Graph, *layers):
    """Add ("Type", {params}) entries in a line; returns the nodes."""
    nodes, prev = [], None
    for item in layers:
        t, params = (item, {}) if isinstance(item, str) else item
        node = graph.add_node(t, params)
        if prev is not None:
            graph.connect(prev.id, node.id)
        nodes.append(node)
        prev = node
    return nodes


@pytest.fixture
def mlp_graph():
    g = Graph()
    chain(g, ("Input", {"shape": [2]}), ("Dense", {"units": 16}), "ReLU", ("Dense", {"units": 3}), "Output")
    return g
