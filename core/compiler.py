"""Graph → torch.fx.GraphModule whose `.code` reads like hand-written PyTorch: every
layer is a sub-module named after its node, every variable is the node's name."""
from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def code(self) -> str:
        return self.module.code


def compile_graph(graph: Graph, analysis: Analysis | None = None, class_name: str = "Network") -> Compiled:
    import torch
    from torch import fx

    a = analysis or analyze(graph)
    if not a.ok:
        raise CompileError(a.errors)
    root = torch.nn.Module()
    fxg = fx.Graph()
    env: dict[str, fx.Node] = {}
    node_of_module: dict[str, str] = {}
    for nid in a.order:
        node = graph.nodes[nid]
        spec = node.spec
        p = a.resolved[nid]
        args = [env[e.src] for e in graph.inputs_of(nid)]
        if spec.role == "input":
            env[nid] = fxg.placeholder(node.name)
        elif spec.role == "output":
            fxg.output(args[0])
        elif spec.merge is not None:
            env[nid] = spec.merge.emit(fxg, p, args, node.name)
        else:
            module = spec.build(p, a.input_types(graph, nid))
            root.add_module(node.name, module)
            node_of_module[node.name] = nid
            env[nid] = fxg.create_node("call_module", node.name, tuple(args), name=node.name)
    fxg.lint()
    gm = fx.GraphModule(root, fxg, class_name=class_name)
    return Compiled(gm, a.shapes[a.input_id], a.shapes[a.output_id], node_of_module, a)


def example_input(t: TensorType, batch: int = 2, vocab: int = 2):
    """A random batch matching an Input's type (token ids below `vocab` for int64)."""
    import torch

    if t.dtype == "long":
        return torch.randint(0, vocab, (batch, *t.shape))
    return torch.randn(batch, *t.shape)
