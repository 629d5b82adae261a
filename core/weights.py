"""Weights on disk: safetensors keyed by node id (`n3.weight`), so renaming a layer keeps
its weights. Nothing here unpickles: a pickle (or any non-safetensors file) is refused."""
from __future__ import annotations

import os
from pathlib import Path


from .safe_text import shown

COUNTERS = ("num_batches_tracked",)   # BatchNorm's int64 step counter: the one non-float entry


class WeightsError(ValueError):
    """Weights that cannot be loaded; the message names the file and the fix."""


def by_node_id(state_dict: dict, node_of_module: dict[str, str]) -> dict:
    out = {}
    for key, value in state_dict.items():
        module, _, rest = key.partition(".")
        out[f"{node_of_module.get(module, module)}.{rest}"] = value
    return out


def by_module_name(tensors: dict, node_of_module: dict[str, str]) -> dict:
    name_of_node = {v: k for k, v in node_of_module.items()}
    out = {}
    for key, value in tensors.items():
        node, _, rest = key.partition(".")
        out[f"{name_of_node.get(node, node)}.{rest}"] = value
    return out


def save_weights(module, node_of_module: dict[str, str], path: str | os.PathLike,
                 metadata: dict[str, str] | None = None) -> None:
    """Atomic: written to a temp file beside `path`, then renamed."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in by_node_id(module.state_dict(), node_of_module).items()}
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    # safetensors writes an unreadable header for empty metadata with no tensors: pass None then
    save_file(tensors, str(tmp), metadata=metadata or None)
    os.replace(tmp, p)


def read_weights(path: str | os.PathLike, weights_only: bool = True) -> tuple[dict, dict[str, str]]:
    """Tensors and metadata from a safetensors file; anything else is a WeightsError. With
    `weights_only`, every tensor must be floating point (a training state also holds RNG bytes)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    from safetensors import safe_open
    import torch

    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"{p}: no such weights file")
    if not _looks_like_safetensors(p):
        with open(p, "rb") as f:
            head = f.read(2)
        if head[:1] == b"\x80" or head == b"PK":
            raise WeightsError(f"{p}: a pickle/torch.save file; LayerLab loads only safetensors (it never "
                               "unpickles, which could run code): re-save the weights with safetensors")
        raise WeightsError(f"{p}: not a safetensors file: pick a .safetensors file saved by LayerLab")
    try:
        tensors = load_file(str(p))
        with safe_open(str(p), framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"{p}: not a valid safetensors file ({e})") from None
    for key, value in tensors.items() if weights_only else ():
        if not value.dtype.is_floating_point and not (key.endswith(COUNTERS) and value.dtype == torch.int64):
            raise WeightsError(f"{p}: tensor {shown(key)} is {str(value.dtype).removeprefix('torch.')}, but weights "
                               "are floating point: load weights saved by LayerLab (or PyTorch, as float)")
    return tensors, metadata


def nonfinite(tensors: dict) -> list[str]:
    """Names of floating tensors holding NaN or infinity (a diverged run's weights)."""
    import torch
    return [k for k, v in tensors.items() if v.dtype.is_floating_point and not bool(torch.isfinite(v).all())]


def _looks_like_safetensors(p: Path) -> bool:
    """safetensors = 8-byte little-endian header length n, then n bytes of JSON starting with '{'."""
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    n = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 8 + n <= size


def load_weights(module, node_of_module: dict[str, str], path: str | os.PathLike) -> dict[str, str]:
    """Load into `module` (strict: every tensor must match); returns the file's metadata."""
    tensors, metadata = read_weights(path)
    named = by_module_name(tensors, node_of_module)
    own = module.state_dict()
    missing = sorted(set(own) - set(named))
    extra = sorted(set(named) - set(own))
    bad = sorted(k for k in set(own) & set(named) if tuple(own[k].shape) != tuple(named[k].shape))
    if missing or extra or bad:
        detail = (f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}" if extra else
                  f"shape of {bad[0]} is {tuple(named[bad[0]].shape)}, the network needs {tuple(own[bad[0]].shape)}")
        raise WeightsError(f"{path}: weights do not fit this network ({detail}): load weights saved from the "
                           "same network, or retrain")
    module.load_state_dict(named)
    return metadata
