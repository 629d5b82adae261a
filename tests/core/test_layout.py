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
    # 14 columns at wrap 6: three balanced rows of 5, 5 and 4
    assert xs[:5] == [i * X_GAP for i in range(5)] and xs[5] == 0.0
    assert len(set(ys)) == 3 and ys[0] < ys[5] < ys[10]


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


def test_wrapped_rows_are_balanced_so_no_layer_is_left_alone_on_a_row():
    g = Graph()
    ids = [n.id for n in chain(g, ("Input", {"shape": [4]}), *["ReLU"] * 14, "Output")]
    pos = layered_positions(g, wrap=5)
    rows = {}
    for nid in ids:
        rows.setdefault(pos[nid][1], []).append(nid)
    assert sorted(len(r) for r in rows.values()) == [4, 4, 4, 4]
    for row in rows.values():                    # each row reads left to right in chain order
        assert [pos[n][0] for n in row] == sorted(pos[n][0] for n in row)
    short = layered_positions(g, wrap=16)
    assert len({y for _, y in short.values()}) == 1
