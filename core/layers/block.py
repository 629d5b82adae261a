"""Blocks: a project's reusable sub-graphs. `Block` is an instance in a graph (params.block names
the definition in `Graph.blocks`); `BlockInput` / `BlockOutput` are the ports inside a block's own
sub-graph (the port's name is the node's name, `index` orders the inputs). Shape inference and
building of an instance need the definition, so core/blocks.py does them; these entries only
describe the nodes."""
from __future__ import annotations

from ._rules import one
from .spec import Ident, Int, LayerSpec, ShapeError


def _outside_block(p, inputs):
    raise ShapeError("is a block port, which only works inside a block's sub-graph",
                     "delete it, or make a block of the layers around it")


BLOCK_INPUT = LayerSpec(
    name="BlockInput", category="Blocks", icon="⇥", inputs=0, port="in", key_params=("index",),
    help="An input port of a block: takes the shape of whatever feeds the block's input `index`.",
    params=(Int("index", 0, min=0, max=15, help="Which input of the block (0 = first)."),),
    infer=_outside_block,
)

BLOCK_OUTPUT = LayerSpec(
    name="BlockOutput", category="Blocks", icon="⇤", port="out",
    help="The output port of a block: what the block passes on.",
    infer=lambda p, x: one(x),
)

BLOCK = LayerSpec(
    name="Block", category="Blocks", icon="▣", block=True, key_params=("block",),
    inputs=lambda p: p.inputs,
    help="An instance of one of the project's blocks: the block's layers with weights of its own. "
         "Every instance shares the block's structure, so editing the block changes them all.",
    params=(Ident("block", "block", help="The block this node is an instance of."),
            Int("inputs", 1, min=1, max=16, help="How many inputs the block takes.")),
    infer=_outside_block,     # core.blocks infers instances; never called for them
)

ENTRIES = (BLOCK_INPUT, BLOCK_OUTPUT, BLOCK)
