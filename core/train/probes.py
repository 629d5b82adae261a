"""Probes: per-layer activation and weight statistics on a fixed probe batch, plus per-layer
gradient norms and update-to-weight ratios.

Everything returned is small numpy arrays or floats copied out of torch, so the GUI thread can
hold them while the trainer keeps mutating its tensors. The trainer calls `collect_probes`
every `probe_every` epochs; its cost must stay within a few percent of training, so each layer
costs a handful of reductions on the probe batch and nothing is kept between calls.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .. import layers

SATURATION = 0.97  # |tanh| above, or sigmoid outside [0.03, 0.97]: the gradient is < 6% of its peak


@dataclass
class LayerStats:
    name: str
    node_id: str
    type: str
    act_mean: float
    act_std: float
    act_hist: np.ndarray                  # counts, len = bins
    act_edges: np.ndarray                 # len = bins + 1
    weight_hist: np.ndarray | None = None
    weight_edges: np.ndarray | None = None
    dead_fraction: float | None = None    # ReLU-like layers: units never positive on the batch
    saturated_fraction: float | None = None  # Tanh / Sigmoid: share of saturated outputs
    grad_norm: float | None = None
    update_ratio: float | None = None


@dataclass
class ProbeSnapshot:
    epoch: int
    layers: list[LayerStats] = field(default_factory=list)

    def layer(self, name: str) -> LayerStats | None:
        return next((s for s in self.layers if s.name == name), None)


def activation_kind(layer_type: str) -> str:
    """"relu" / "tanh" / "sigmoid" / ... from the catalogue, "" for non-activations."""
    spec = layers.REGISTRY.get(layer_type)
    return spec.activation if spec is not None else ""


def type_of_class(cls: str) -> str:
    """The LayerLab type of a torch module class name, for when no graph is at hand."""
    return layers.class_types().get(cls, cls)


def layer_modules(compiled) -> list[tuple[str, nn.Module]]:
    """The compiled network's layer sub-modules in graph (execution) order."""
    gm = compiled.module
    return [(n.target, gm.get_submodule(n.target)) for n in gm.graph.nodes if n.op == "call_module"]


def probed_layers(compiled, graph=None) -> list[tuple[str, nn.Module, str, str]]:
    """(name, module, node id, LayerLab type) of every layer probes report, in graph order: a block
    instance's inner layers stand in for the instance, named by module path ("res1.conv_b") with
    qualified node ids ("n5/n3"); their types come from the block's sub-graph when `graph` is given."""
    from ..compiler import walk_layers

    out = []
    for ref in walk_layers(compiled, graph):
        if ref.block:
            continue
        if ref.node is not None:
            kind = ref.node.type
        else:
            cls = type(ref.module).__name__
            kind = type_of_class(ref.module.rnn.mode if cls == "Recurrent" else cls)
        out.append((ref.path, ref.module, ref.qid, kind))
    return out


def _modules(compiled) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m, _, _ in probed_layers(compiled)]


def layer_types(compiled, graph=None, mods=None) -> dict[str, str]:
    """Sub-module name -> LayerLab type (from the graph when given, else from the module class)."""
    out = {}
    for name, module in mods or layer_modules(compiled):
        node = graph.nodes.get(compiled.node_of_module.get(name, "")) if graph is not None else None
        cls = type(module).__name__
        if cls == "Recurrent":
            cls = module.rnn.mode  # "LSTM" / "GRU", the LayerLab type names
        out[name] = node.type if node is not None else type_of_class(cls)
    return out


def weight_tensors(module: nn.Module) -> list[torch.Tensor]:
    """A layer's weights (not biases or norm shifts): its `weight`, or for composite layers
    (attention, transformer, recurrent) every matrix-shaped parameter."""
    w = module._parameters.get("weight")  # not getattr: a miss costs an exception per call
    if w is not None:
        return [w]
    if not module._modules:
        return []
    return [p for p in module.parameters() if p.dim() >= 2]


def _sample_indices(n: int, k: int) -> np.ndarray:
    return _SAMPLES.setdefault((n, k), np.sort(np.random.default_rng(0).choice(n, k, replace=False)))


_SAMPLES: dict[tuple[int, int], np.ndarray] = {}


def _hist(a: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(counts, edges, mean, std) of a flat float array. Numpy with a hand-rolled uniform
    binning: several times cheaper than np.histogram / torch.histc on small arrays."""
    if a.size == 0:
        return np.zeros(bins, np.int64), np.linspace(0.0, 1.0, bins + 1), 0.0, 0.0
    lo, hi = float(a.min()), float(a.max())
    finite = math.isfinite(lo) and math.isfinite(hi)
    if not finite:  # histogram the finite values; mean and std become NaN to flag the rest
        a = a[np.isfinite(a)]
        if a.size == 0:
            return np.zeros(bins, np.int64), np.linspace(0.0, 1.0, bins + 1), math.nan, math.nan
        lo, hi = float(a.min()), float(a.max())
    # float64: squared deviations of ~1e-24 (deep ReLU stacks at small init) underflow float32 to 0
    d = a.astype(np.float64)
    mean = float(d.sum()) / a.size
    d -= mean
    std = math.sqrt(float(np.dot(d, d)) / a.size)
    if hi <= lo:  # constant: one bin around the value holds everything
        lo, hi = lo - 0.5, hi + 0.5
    d -= lo - mean
    d *= bins / (hi - lo)
    idx = d.astype(np.intp)
    np.minimum(idx, bins - 1, out=idx)  # the maximum lands on `bins`; nothing is below 0
    edges = lo + np.arange(bins + 1) * ((hi - lo) / bins)
    if not finite:
        mean = std = math.nan
    return np.bincount(idx, minlength=bins), edges, mean, std


def _flat(t: torch.Tensor, max_values: int, per_sample: bool) -> np.ndarray:
    """A float32 numpy copy of at most ~max_values entries: the first samples of a batch
    (every position and channel stays represented) or a fixed random subset of weights."""
    t = t.detach()
    if per_sample and t.dim() >= 1 and t.numel() > max_values:
        t = t[: max(1, max_values // max(1, t[0].numel()))]
    a = t.reshape(-1).to("cpu", torch.float32).numpy()
    if a.size > max_values and not per_sample:
        a = a[_sample_indices(a.size, max_values)]
    return a  # may view the tensor: used only inside this call, never returned


@contextlib.contextmanager
def probe_mode(module: nn.Module, batch_stats: bool = False, no_grad: bool = True):
    """Eval mode (no dropout) and no_grad (unless told not to) for the block; every
    sub-module's mode is restored.

    batch_stats: BatchNorm normalizes with the batch's own statistics (a fresh network's
    running statistics are meaningless) without touching its running buffers."""
    modes = [(m, m.training) for m in module.modules()]
    uniform = all(was == modes[0][1] for _, was in modes)
    saved = {}
    module.eval()
    if batch_stats:
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                saved[m] = {k: v.clone() for k, v in m.named_buffers(recurse=False)}
                m.train()
    try:
        with torch.no_grad() if no_grad else contextlib.nullcontext():
            yield
    finally:
        for m, buffers in saved.items():
            for k, v in buffers.items():
                getattr(m, k).copy_(v)
        if uniform:  # the usual case: one recursive call instead of a setattr per module
            module.train(modes[0][1])
        else:
            for m, was in modes:
                m.training = was


def _stats(name, node_id, ltype, out, module, bins, max_values) -> LayerStats:
    if isinstance(out, (tuple, list)):
        out = out[0]
    a = _flat(out, max_values, per_sample=True)
    hist, edges, mean, std = _hist(a, bins)
    kind = activation_kind(ltype)
    dead = sat = None
    if kind == "relu" and out.dim() >= 2:
        # a unit (one element of a sample's output) is dead if no probe sample makes it positive
        dead = float((out.detach().amax(dim=0) <= 0).float().mean())
    elif kind == "tanh":
        sat = int(np.count_nonzero(np.abs(a) > SATURATION)) / max(1, a.size)
    elif kind == "sigmoid":
        sat = int(np.count_nonzero(np.abs(a - 0.5) > SATURATION - 0.5)) / max(1, a.size)
    whist = wedges = None
    weights = weight_tensors(module)
    if weights:
        w = weights[0] if len(weights) == 1 else torch.cat([p.detach().reshape(-1) for p in weights])
        whist, wedges, _, _ = _hist(_flat(w, max_values, per_sample=False), bins)
    return LayerStats(name, node_id, ltype, mean, std, hist, edges, whist, wedges, dead, sat)


def collect_probes(compiled, batch: torch.Tensor, epoch: int, bins: int = 30, graph=None,
                   batch_stats: bool = False, grad_norms: dict[str, float] | None = None,
                   update_ratios: dict[str, float] | None = None, max_values: int = 4096) -> ProbeSnapshot:
    """One forward pass of `batch` (≤ 256 samples is plenty) with hooks on every layer.

    Statistics use at most `max_values` entries per layer (the batch's first samples for
    activations, a fixed random subset of weights), which keeps big conv layers cheap; the
    dead fraction always sees the whole batch. Histogram counts therefore need not sum to
    the tensor's size: plot them as densities.

    graph: gives each layer its LayerLab type (otherwise guessed from the module class).
    Block instances are probed layer by layer inside ("res1.conv_b", node id "n5/n3").
    grad_norms / update_ratios: from the helpers below, merged into the rows by layer name."""
    module = compiled.module
    layers_ = probed_layers(compiled, graph)
    mods = [(name, m) for name, m, _, _ in layers_]
    rows: dict[str, LayerStats] = {}
    handles = []

    def hook_for(name, m, node_id, kind):
        def hook(_mod, _inp, out):
            if name not in rows:  # a layer called twice (shared) is probed on its first call
                rows[name] = _stats(name, node_id, kind, out, m, bins, max_values)
        return hook

    try:
        for name, m, node_id, kind in layers_:
            handles.append(m.register_forward_hook(hook_for(name, m, node_id, kind)))
        with probe_mode(module, batch_stats):
            module(batch)
    finally:
        for h in handles:
            h.remove()
    ordered = [rows[name] for name, _ in mods if name in rows]
    for s in ordered:
        if grad_norms:
            s.grad_norm = grad_norms.get(s.name)
        if update_ratios:
            s.update_ratio = update_ratios.get(s.name)
    return ProbeSnapshot(int(epoch), ordered)


def _sq(tensors) -> torch.Tensor:
    return torch.stack([t.detach().float().pow(2).sum() for t in tensors]).sum()


def _norm(tensors) -> float:
    return float(_sq(tensors).sqrt())


@torch.no_grad()
def grad_norms(compiled) -> dict[str, float]:
    """Per-layer L2 norm of the weights' gradients, as they are now (the last backward pass).
    Layers without weights or without gradients are left out. One host sync in all (GPU)."""
    names, sq = [], []
    for name, m in _modules(compiled):
        grads = [w.grad for w in weight_tensors(m) if w.grad is not None]
        if grads:
            names.append(name)
            sq.append(_sq(grads))
    return dict(zip(names, torch.stack(sq).sqrt().tolist())) if sq else {}


def snapshot_weights(compiled) -> dict[str, list[torch.Tensor]]:
    """Detached copies of every layer's weights, for `update_ratios` after an optimizer step."""
    return {name: [w.detach().clone() for w in ws] for name, m in _modules(compiled)
            if (ws := weight_tensors(m))}


def update_ratios(compiled, before: dict, steps: int = 1) -> dict[str, float]:
    """‖W_now − W_before‖ / ‖W_before‖ per layer, divided by `steps` if `before` was taken
    that many optimizer steps ago (a rough per-step figure; one step is exact). A healthy
    per-step ratio is about 1e-3. Layers whose weights were all zero are left out."""
    out = {}
    for name, m in _modules(compiled):
        old = before.get(name)
        if old is None:
            continue
        old = old if isinstance(old, (list, tuple)) else [old]
        now = weight_tensors(m)
        if len(now) != len(old):
            continue
        base = _norm(old)
        if base > 0:
            out[name] = _norm([n.detach() - o for n, o in zip(now, old)]) / base / max(1, steps)
    return out
