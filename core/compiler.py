"""Graph → torch.fx.GraphModule whose `.code` reads like hand-written PyTorch: every
layer is a sub-module named after its node, every variable is the node's name."""
from __future__ import annotations

from dataclasses import dataclass, field

from .analysis import Analysis, Problem, analyze
from .graph import Graph
from .layers import TensorType


class CompileError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        first = problems[0] if problems else "no details"
        super().__init__(f"the network cannot be compiled: {first}{more}")   # one line for CLI and dialogs


@dataclass
class Compiled:
    module: "object"                    # torch.fx.GraphModule
    input_type: TensorType
    output_type: TensorType
    node_of_module: dict[str, str]      # sub-module name -> node id
    analysis: Analysis
    blocks: dict[str, "Compiled"] = field(default_factory=dict)   # block instance id -> its own compiled

    @property
    def code(self) -> str:
        return self.module.code


def compile_graph(graph: Graph, analysis: Analysis | None = None, class_name: str = "Network",
                  defs: dict | None = None) -> Compiled:
    """The network (or, for an analysis of a block's sub-graph, one block instance: its inputs
    are the BlockInput ports in index order) as an fx.GraphModule; each block instance becomes a
    sub-module of its own, compiled from the block's sub-graph, so it has weights of its own.
    `defs`: the project's block definitions (default `graph.blocks`), for blocks inside blocks."""
    import torch
    from torch import fx

    defs = graph.blocks if defs is None else defs
    a = analysis or analyze(graph, defs=defs)
    if not a.ok:
        raise CompileError(a.errors)
    root = torch.nn.Module()
    fxg = fx.Graph()
    env: dict[str, fx.Node] = {}
    node_of_module: dict[str, str] = {}
    blocks: dict[str, Compiled] = {}
    ports = sorted((n for n in graph.nodes.values() if n.spec.port == "in"), key=lambda n: n.params["index"])
    for port in ports:     # placeholders first, in port order: they are forward's arguments
        env[port.id] = fxg.placeholder(port.name)
    for nid in a.order:
        node = graph.nodes[nid]
        spec = node.spec
        p = a.resolved[nid]
        args = [env[e.src] for e in graph.inputs_of(nid)]
        if spec.role == "input":
            env[nid] = fxg.placeholder(node.name)
        elif spec.role == "output" or spec.port == "out":
            fxg.output(args[0])
        elif spec.port == "in":
            continue
        elif spec.merge is not None:
            env[nid] = spec.merge.emit(fxg, p, args, node.name)
        else:
            if spec.block:
                blocks[nid] = compile_graph(defs[p.block], a.blocks[nid], class_name=p.block, defs=defs)
                module = blocks[nid].module
            else:
                module = spec.build(p, a.input_types(graph, nid))
            root.add_module(node.name, module)
            node_of_module[node.name] = nid
            env[nid] = fxg.create_node("call_module", node.name, tuple(args), name=node.name)
    fxg.lint()
    gm = fx.GraphModule(root, fxg, class_name=class_name)
    in_type = a.ports[0] if a.ports is not None else a.shapes[a.input_id]
    return Compiled(gm, in_type, a.shapes[a.output_id], node_of_module, a, blocks)


@dataclass(frozen=True)
class LayerRef:
    """One layer of a compiled network, block instances' inner layers included."""
    path: str            # module path from the network: "res1.conv_b" (the probe rows' names)
    qid: str             # node id qualified by the block instances around it: "n5/n3"
    module: object       # torch.nn.Module
    node: object | None  # the graph Node (needs the graph), None without one
    block: bool          # a block instance: its own layers follow it
    owner: object | None = None   # the (sub-)graph holding `node`


QUALIFIER = "/"           # joins a block instance's node id and an inner node id: "n5/n3"


def walk_layers(compiled, graph: Graph | None = None) -> list[LayerRef]:
    """Every layer in graph order; a block instance comes first, then its inner layers (in its
    sub-graph's order, recursively), addressed by qualified ids. `graph` (the network's, holding
    the block definitions) gives each ref its Node."""
    out: list[LayerRef] = []
    defs = graph.blocks if graph is not None else {}

    def walk(c, g, path, qid):
        inner_of = getattr(c, "blocks", {}) or {}
        for name, nid in c.node_of_module.items():
            node = g.nodes.get(nid) if g is not None else None
            out.append(LayerRef(path + name, qid + nid, getattr(c.module, name), node, nid in inner_of, g))
            if nid in inner_of:
                block = c.analysis.resolved[nid].block
                walk(inner_of[nid], defs.get(block), f"{path}{name}.", f"{qid}{nid}{QUALIFIER}")

    walk(compiled, graph, "", "")
    return out


def example_input(t: TensorType, batch: int = 2, vocab: int = 2):
    """A random batch matching an Input's type (token ids below `vocab` for int64)."""
    import torch

    if t.dtype == "long":
        return torch.randint(0, vocab, (batch, *t.shape))
    return torch.randn(batch, *t.shape)
