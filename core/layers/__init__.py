"""The layer catalogue: one declarative `LayerSpec` per layer type."""
from __future__ import annotations

from . import activations, basic, conv, norm, sequence
from .spec import (Bool, Choice, Dims, Float, Int, LayerSpec, Param, ParamError, ShapeError,  # noqa: F401
                   TensorType)

CATEGORIES = ("Structure", "Core", "Convolution", "Activation", "Normalization", "Regularization",
              "Merge", "Sequence")

REGISTRY: dict[str, LayerSpec] = {
    spec.name: spec
    for module in (basic, conv, activations, norm, sequence)
    for spec in module.ENTRIES
}


def get(name: str) -> LayerSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        from ..safe_text import shown
        raise KeyError(f"unknown layer type {shown(repr(name))}; known types: {', '.join(sorted(REGISTRY))}") from None


def by_category() -> dict[str, list[LayerSpec]]:
    out: dict[str, list[LayerSpec]] = {c: [] for c in CATEGORIES}
    for spec in REGISTRY.values():
        out.setdefault(spec.category, []).append(spec)
    return out
