"""Auto-layout: left to right by depth, long chains wrap into rows, big graphs are fine."""
from layerlab.core.graph import Graph
from layerlab.core.layout import X_GAP, layered_positions

from .conftest import chain


def test_chain_wraps_into_rows():
    g = Graph()
    nodes = chain(g, ("Input", {"shape": [4]}), *["ReLU"] * 12, "Output")
    pos = layered_positions(g, wrap=6)
    xs = [pos[n.id][0] for n in nodes]
    ys = [pos[n.id][1] for n in nodes]
    assert xs[:6] == [i * X_GAP for i in range(6)] and xs[6] == 0.0
    assert len(set(ys)) == 3 and ys[0] < ys[6] < ys[12]


def test_branches_stack_and_positions_are_distinct():
    g = Graph()
    x, a = chain(g, ("Input", {"shape": [4]}), "ReLU")
    b = g.add_node("Tanh")
    g.connect(x.id, b.id)
    add = g.add_node("Add")
    g.connect(a.id, add.id, 0)
    g.connect(b.id, add.id, 1)
    pos = layered_positions(g)
    assert pos[a.id][0] == pos[b.id][0] > pos[x.id][0] and pos[a.id][1] != pos[b.id][1]
    assert pos[add.id][0] > pos[a.id][0]
    assert len(set(pos.values())) == len(pos)


def test_two_thousand_layer_chain_has_no_recursion_limit():
    g = Graph()
    chain(g, ("Input", {"shape": [4]}), *["ReLU"] * 2000)
    assert len(layered_positions(g)) == 2001
