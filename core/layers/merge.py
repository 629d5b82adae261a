"""How a merge layer (Add, Concat) joins its inputs: a torch function in the compiled fx graph and
the matching expression in exported source. The compiler and the source exporter ask the layer's
`LayerSpec.merge` instead of special-casing type names. torch is imported only when compiling."""
from __future__ import annotations

import operator
from typing import Callable


class Merge:
    """One way of joining inputs. `emit` adds fx nodes, `target` is the function they call and
    `expression` writes one such fx node as Python for the exported file."""

    def target(self) -> Callable:  # pragma: no cover - overridden
        raise NotImplementedError

    def emit(self, fxg, p, args: list, name: str):  # pragma: no cover - overridden
        raise NotImplementedError

    def expression(self, node, ident: Callable[[str], str], lit: Callable) -> str:  # pragma: no cover
        raise NotImplementedError


class Sum(Merge):
    """a + b + ...: a chain of `operator.add` nodes; the last one carries the layer's name."""

    def target(self) -> Callable:
        return operator.add

    def emit(self, fxg, p, args: list, name: str):
        value = args[0]
        for k, other in enumerate(args[1:], start=1):
            step = name if k == len(args) - 1 else f"{name}_{k}"
            value = fxg.create_node("call_function", operator.add, (value, other), name=step)
        return value

    def expression(self, node, ident, lit) -> str:
        a, b = (ident(x.name) for x in node.args)
        return f"{a} + {b}"


class Cat(Merge):
    """torch.cat along the layer's per-sample `axis` (shifted by one for the batch axis)."""

    def target(self) -> Callable:
        import torch
        return torch.cat

    def emit(self, fxg, p, args: list, name: str):
        axis = p.axis + 1 if p.axis >= 0 else p.axis
        return fxg.create_node("call_function", self.target(), (tuple(args),), {"dim": axis}, name=name)

    def expression(self, node, ident, lit) -> str:
        ins = ", ".join(ident(x.name) for x in node.args[0])
        return f"torch.cat(({ins},), dim={lit(int(node.kwargs['dim']))})"
