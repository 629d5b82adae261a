"""Load weights from another network: match a run's (or a .safetensors file's) tensors to this
project's layers by layer name and tensor shape, say what matched and what did not and why, and
write the matched tensors as this project's start weights (keyed by node id; the trainer loads
them over the init, see core/train/freeze.py). Nothing is applied until `save_start_weights`."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

NODE_KEY = re.compile(r"^n\d+\.")


class TransferError(ValueError):
    """A weights source that cannot be read; the message names it and the fix."""


@dataclass
class Row:
    layer: str            # this project's layer name
    node_id: str
    tensor: str           # "weight", "bias", "running_mean", ...
    matched: bool
    why: str = ""         # for unmatched: the shape difference, or that the source has no such tensor


@dataclass
class Match:
    source: Path
    rows: list[Row] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)     # source tensors no layer here took
    _tensors: dict = field(default_factory=dict, repr=False)

    def layers(self) -> dict[str, str]:
        """layer -> "matched" | "partly" | "unmatched", in graph order."""
        out: dict[str, list[bool]] = {}
        for r in self.rows:
            out.setdefault(r.layer, []).append(r.matched)
        return {k: "matched" if all(v) else "partly" if any(v) else "unmatched" for k, v in out.items()}

    @property
    def matched(self) -> list[Row]:
        return [r for r in self.rows if r.matched]

    def summary(self) -> str:
        state = list(self.layers().values())
        return (f"{state.count('matched')} of {len(state)} layers matched"
                + (f", {state.count('partly')} partly" if "partly" in state else "")
                + f"; {len(self.unused)} source tensor{'s' if len(self.unused) != 1 else ''} unused")


def read_source(path: str | os.PathLike) -> tuple[dict, Path]:
    """The source's tensors keyed by layer name ("conv1.weight"). A run or native folder, or a
    LayerLab weights file beside its project, is keyed by node id on disk: its project names them."""
    from .project import ProjectError, load_project
    from .weights import WeightsError, read_weights

    p = Path(path)
    project_file = None
    if p.is_dir():
        weights = next((p / n for n in ("best.safetensors", "last.safetensors", "weights.safetensors")
                        if (p / n).is_file()), None)
        if weights is None:
            raise TransferError(f"{p}: no best.safetensors, last.safetensors or weights.safetensors in this "
                                "folder: choose a run folder or a .safetensors file")
        p = weights
    for name in ("project.layerlab.json",):
        if (p.parent / name).is_file():
            project_file = p.parent / name
    try:
        tensors, _ = read_weights(p)
    except WeightsError as e:
        raise TransferError(str(e)) from None
    if project_file is not None and tensors and all(NODE_KEY.match(k) for k in tensors):
        try:
            source = load_project(project_file)
        except ProjectError as e:
            raise TransferError(f"{project_file}: {e}") from None
        names = {nid: n.name for nid, n in source.graph.nodes.items()}
        tensors = {f"{names.get(k.partition('.')[0], k.partition('.')[0])}.{k.partition('.')[2]}": v
                   for k, v in tensors.items()}
    return tensors, p


def match_weights(project, source: str | os.PathLike) -> Match:
    """Which of `project`'s tensors the source can fill (same layer name and shape), and why not."""
    from .compiler import CompileError, compile_graph

    tensors, path = read_source(source)
    try:
        compiled = compile_graph(project.graph)
    except CompileError as e:
        raise TransferError(f"the network has problems, fix them first: {e}") from None
    if tensors and all(NODE_KEY.match(k) for k in tensors):   # LayerLab weights with no project beside
        ours = {nid: n.name for nid, n in project.graph.nodes.items()}      # them: a copy keeps node ids
        tensors = {f"{ours.get(k.partition('.')[0], k.partition('.')[0])}.{k.partition('.')[2]}": v
                   for k, v in tensors.items()}
    match = Match(path)
    used = set()
    for key, own in compiled.module.state_dict().items():
        layer, _, tensor = key.partition(".")
        if tensor.endswith("num_batches_tracked"):
            continue
        nid = compiled.node_of_module[layer]
        theirs = tensors.get(key)
        if theirs is None:
            match.rows.append(Row(layer, nid, tensor, False, f"the source has no {key}"))
        elif tuple(theirs.shape) != tuple(own.shape):
            used.add(key)
            match.rows.append(Row(layer, nid, tensor, False, f"shape {_shape(own.shape)} here, "
                                  f"{_shape(theirs.shape)} in the source"))
        else:
            used.add(key)
            match.rows.append(Row(layer, nid, tensor, True))
            match._tensors[f"{nid}.{tensor}"] = theirs
    match.unused = sorted(k for k in tensors if k not in used)
    return match


def _shape(shape) -> str:
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def save_start_weights(match: Match, path: str | os.PathLike) -> Path:
    """The matched tensors keyed by this project's node ids, written atomically."""
    from safetensors.torch import save_file

    if not match.matched:
        raise TransferError(f"{match.source}: no tensor matched this network's layers: nothing to load")
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    meta = {"source": str(match.source)[:500]}
    for pad in range(8):     # a header length whose low byte is 0x80 reads as a pickle: pad it away
        save_file({k: v.contiguous() for k, v in match._tensors.items()}, str(tmp), metadata=meta)
        with open(tmp, "rb") as f:
            if f.read(1) != b"\x80":
                break
        meta["pad"] = " " * (pad + 1)
    os.replace(tmp, p)
    return p
