"""Every validation error names the node, what is wrong and how to fix it."""
from layerlab.core.analysis import analyze
from layerlab.core.graph import Edge, Graph

from .conftest import chain


def problems(g):
    return [str(p) for p in analyze(g).errors]


def test_valid_mlp_has_shapes_params_and_no_problems(mlp_graph):
    a = analyze(mlp_graph)
    assert a.ok and a.problems == []
    assert [str(a.shapes[n]) for n in a.order] == ["[B, 2]", "[B, 16]", "[B, 16]", "[B, 3]", "[B, 3]"]
    assert a.total_params == 2 * 16 + 16 + 16 * 3 + 3


def test_cycle_is_reported_with_its_path():
    g = Graph()
    x, d1, d2, out = chain(g, ("Input", {"shape": [4]}), ("Dense", {"units": 4}), ("Add", {}), "Output")
    g.edges.append(Edge(d2.id, d1.id, 0))  # as a hand-edited file could contain (connect() refuses it)
    g.edges.remove(Edge(x.id, d1.id, 0))
    g.connect(x.id, d2.id, 1)
    (msg,) = problems(g)
    assert "cycle" in msg and ("dense1 → add1 → dense1" in msg or "add1 → dense1 → add1" in msg)
    assert "remove one of these connections" in msg


def test_missing_input_and_output():
    g = Graph()
    chain(g, ("Dense", {"units": 3}), "ReLU")
    msgs = problems(g)
    assert any("no Input" in m and "drag an Input" in m for m in msgs)
    assert any("no Output" in m and "add an Output" in m for m in msgs)


def test_second_input_and_output_are_named():
    g = Graph()
    chain(g, ("Input", {"shape": [2]}), "Output")
    g.add_node("Input", name="extra_in")
    g.add_node("Output", name="extra_out")
    msgs = problems(g)
    assert any("Input 'extra_in' is a second Input" in m for m in msgs)
    assert any("Output 'extra_out' is a second Output" in m for m in msgs)


def test_unconnected_input_names_node_and_slot():
    g = Graph()
    x, add, out = chain(g, ("Input", {"shape": [4]}), "Add", "Output")
    (msg,) = problems(g)
    assert msg.startswith("Add 'add1': input 2 of 2 is not connected")
    assert "connect a layer's output to it" in msg


def test_wrong_input_count_from_file_is_reported():
    g = Graph()
    x, relu, out = chain(g, ("Input", {"shape": [4]}), "ReLU", "Output")
    g.edges.append(Edge(x.id, relu.id, 1))  # ReLU has one input
    (msg,) = problems(g)
    assert "ReLU 'relu1' has 1 input(s) but a connection goes into input 2" in msg


def test_double_connection_into_one_slot():
    g = Graph()
    x, relu, out = chain(g, ("Input", {"shape": [4]}), "ReLU", "Output")
    y = g.add_node("Dense", {"units": 4})
    g.connect(x.id, y.id)
    g.edges.append(Edge(y.id, relu.id, 0))
    assert any("input 1 is connected twice" in m for m in problems(g))


def test_shape_mismatch_says_what_to_insert():
    g = Graph()
    chain(g, ("Input", {"shape": [1, 8, 8]}), ("Conv2d", {"filters": 8}), ("Dense", {"units": 10}), "Output")
    (msg,) = problems(g)
    assert msg == ("Dense 'dense1' needs a flat input but gets [B, 8, 8, 8]: "
                   "insert Flatten (or GlobalAvgPool) before it")


def test_add_shape_mismatch_and_groupnorm_divisibility():
    g = Graph()
    x, conv = chain(g, ("Input", {"shape": [3, 8, 8]}), ("Conv2d", {"filters": 12}))
    add = g.add_node("Add")
    g.connect(conv.id, add.id, 0)
    g.connect(x.id, add.id, 1)
    gn = g.add_node("GroupNorm", {"groups": 8})
    g.connect(add.id, gn.id)
    out = g.add_node("Output")
    g.connect(gn.id, out.id)
    (msg,) = problems(g)  # GroupNorm is not blamed for the upstream error
    assert "Add 'add1' adds inputs of different shapes: input 1 is [B, 12, 8, 8], input 2 is [B, 3, 8, 8]" in msg
    g.set_param(conv.id, "filters", 3)
    g.set_param(gn.id, "groups", 2)
    (msg,) = problems(g)
    assert "GroupNorm 'groupnorm1' has 2 groups but 3 channels" in msg and "set groups to one of 1, 3" in msg


def test_conv_kernel_too_large_and_token_ids_into_dense():
    g = Graph()
    chain(g, ("Input", {"shape": [1, 2, 2]}), ("Conv2d", {"kernel_size": 5, "padding": "valid"}), "Output")
    (msg,) = problems(g)
    assert "kernel 5 does not fit its 2×2 input" in msg
    g = Graph()
    chain(g, ("Input", {"shape": [8], "dtype": "int64"}), ("Dense", {"units": 4}), "Output")
    (msg,) = problems(g)
    assert "needs float features but gets integer ids" in msg and "insert Embedding" in msg


def test_invalid_params_name_the_parameter_and_range():
    g = Graph()
    chain(g, ("Input", {"shape": [4]}), ("Dense", {"units": 0}), ("Dropout", {"p": "lots"}), "Output")
    msgs = problems(g)
    assert "Dense 'dense1' has an invalid parameter: units must be ≥ 1 (got 0): set units to 1 or more" in msgs
    assert any("Dropout 'dropout1' has an invalid parameter: p must be a finite number" in m for m in msgs)
    g = Graph()
    chain(g, ("Input", {"shape": "1, x, 8"}), "Output")
    assert any("shape must be sizes separated by commas" in m for m in problems(g))


def test_unused_branch_is_a_warning_and_unreached_output_an_error():
    g = Graph()
    x, relu, out = chain(g, ("Input", {"shape": [4]}), "ReLU", "Output")
    extra = g.add_node("Dense", {"units": 2})
    g.connect(x.id, extra.id)
    a = analyze(g)
    assert a.ok
    (w,) = a.problems
    assert w.severity == "warning" and "Dense 'dense1' does not lead to the Output" in str(w)
    assert extra.id not in a.order
    g2 = Graph()
    g2.add_node("Input", {"shape": [2]})
    chain(g2, ("Dense", {"units": 2}), "Output")
    assert any("not reached from the Input" in m or "not connected" in m for m in problems(g2))


def test_problems_are_keyed_to_nodes_for_canvas_badges():
    g = Graph()
    x, d, out = chain(g, ("Input", {"shape": [1, 4, 4]}), ("Dense", {"units": 4}), "Output")
    a = analyze(g)
    assert [p.node_id for p in a.problems] == [d.id]
    assert a.problems_for(out.id) == []
