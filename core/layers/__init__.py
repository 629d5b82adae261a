"""The layer catalogue: one declarative `LayerSpec` per layer type."""
from __future__ import annotations

import functools

from . import activations, basic, block, conv, norm, sequence
from .merge import Merge
from .spec import (Bool, Choice, Dims, Float, Ident, Int, LayerSpec, Param, ParamError, ShapeError,  # noqa: F401
                   TensorType)

CATEGORIES = ("Structure", "Core", "Convolution", "Activation", "Normalization", "Regularization",
              "Merge", "Sequence", "Blocks")

REGISTRY: dict[str, LayerSpec] = {
    spec.name: spec
    for module in (basic, conv, activations, norm, sequence, block)
    for spec in module.ENTRIES
}


def get(name: str) -> LayerSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        from ..safe_text import shown
        raise KeyError(f"unknown layer type {shown(repr(name))}; known types: {', '.join(sorted(REGISTRY))}") from None


def spec_of(type_name: str) -> LayerSpec | None:
    """The entry for a type name seen in data (probe snapshots, run files), or None if unknown."""
    return REGISTRY.get(type_name)


def merge_for(target) -> "Merge | None":
    """The merge whose compiled fx nodes call `target` (operator.add, torch.cat), or None."""
    for spec in REGISTRY.values():
        if spec.merge is not None and spec.merge.target() is target:
            return spec.merge
    return None


@functools.cache
def class_types() -> dict[str, str]:
    """torch module class name -> layer type, for classes named differently from their type."""
    return {cls: spec.name for spec in REGISTRY.values() for cls in spec.module_classes}


def by_category() -> dict[str, list[LayerSpec]]:
    out: dict[str, list[LayerSpec]] = {c: [] for c in CATEGORIES}
    for spec in REGISTRY.values():
        out.setdefault(spec.category, []).append(spec)
    return out
