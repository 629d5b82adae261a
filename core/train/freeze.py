"""Transfer learning in a run: start from given weights (`training.start_weights`, a safetensors
file keyed by node id; layers it does not cover keep their init), keep `training.frozen` layers
fixed (no gradients, not in the optimizer, BatchNorm running statistics not updated: frozen norms
always normalize with their stored statistics), and scale the learning rate per layer
(`training.lr_multipliers`: each parameter group's lr × the factor, which schedules then scale).
A block instance's id covers every layer inside it; "instance/inner" ids name one inner layer.
The exported train script copies `place_start_weights`, `freeze_modules` and `split_by_factor`
and feeds them its own attribute paths, so a script run starts and trains as LayerLab's does."""
from __future__ import annotations

from pathlib import Path

import torch

from ..analysis import Problem


START_WEIGHTS_FIX = "load the weights again (Train ▸ Load weights from…) or clear start weights"


def problems(project, base_dir=None) -> list[Problem]:
    """Frozen / multiplied layers that do not exist, nothing left to train, unreadable start weights.
    Ids may name layers inside block instances ("n5/n3", core.blocks.qualified_layers)."""
    from ..blocks import qualified_layers, within

    t = project.training
    layers = qualified_layers(project.graph)
    out = []
    for nid in [*t.frozen, *t.lr_multipliers]:
        if nid not in layers:
            out.append(Problem(None, f"training settings name layer {nid!r}, which the network no longer has",
                               "open the layer settings again (the stale entry is ignored)", "warning"))
    weighted = [q for q, n in layers.items() if n.spec.count is not None and not n.spec.block]
    frozen = set(t.frozen)
    if weighted and frozen and all(within(q, frozen) for q in weighted):
        out.append(Problem(None, "every layer with weights is frozen: nothing would train",
                           "switch Trainable back on for at least one layer (usually the last Dense)"))
    if t.start_weights and not resolve_path(t.start_weights, base_dir).is_file():
        out.append(Problem(None, f"training.start_weights {t.start_weights!r} does not exist", START_WEIGHTS_FIX))
    return out


def resolve_path(path: str, base_dir) -> Path:
    """A path from the project (start weights), relative to the project's folder when given."""
    p = Path(path).expanduser()
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


def load_start_weights(compiled, spec, base_dir=None) -> list[str]:
    """Copy the start-weights file's tensors into the freshly initialized model (only the node ids
    it holds, each shape-checked); returns the node names loaded."""
    from ..weights import WeightsError, read_weights

    if not spec.start_weights:
        return []
    tensors, _ = read_weights(resolve_path(spec.start_weights, base_dir))
    name_of = {nid: name for name, nid in compiled.node_of_module.items()}
    try:
        return place_start_weights(compiled.module, tensors, name_of, spec.start_weights)
    except ValueError as e:
        raise WeightsError(str(e)) from None


def place_start_weights(module, tensors: dict, name_of: dict, source: str) -> list[str]:
    """Load the tensors keyed by node id (`n3.weight`, `n8.fc2.weight`) that the module has,
    each shape-checked (ValueError naming the layer); returns the layer names loaded. The
    exported train script does the same with its attribute names."""
    own = module.state_dict()
    picked, loaded = {}, set()
    for key, value in tensors.items():
        nid, _, rest = key.partition(".")
        target = f"{name_of.get(nid, '')}.{rest}"
        if target in own:
            if tuple(own[target].shape) != tuple(value.shape):
                raise ValueError(f"{source}: {key} is shaped {tuple(value.shape)} but layer "
                                 f"{name_of[nid]!r} needs {tuple(own[target].shape)}: load the weights again")
            picked[target] = value
            loaded.add(name_of[nid])
    module.load_state_dict(picked, strict=False)
    return sorted(loaded)


def apply_freeze(compiled, spec) -> list[str]:
    """requires_grad off for frozen layers' parameters, and their BatchNorm kept in eval mode
    (a forward pre-hook: model.train() elsewhere cannot switch it back). A frozen block instance
    freezes every layer inside it; "n5/n3" freezes one inner layer of instance n5. Returns the
    frozen layers' module paths ("res1", "res2.conv_b")."""
    paths = frozen_paths(compiled, spec)
    freeze_modules(compiled.module.get_submodule(path) for path in paths)
    return paths


def frozen_paths(compiled, spec) -> list[str]:
    """The module paths `apply_freeze` freezes (the exported train script freezes these)."""
    from ..compiler import walk_layers

    frozen = set(spec.frozen)
    return [ref.path for ref in walk_layers(compiled) if ref.qid in frozen]


def freeze_modules(modules) -> None:
    """No gradients for these modules' parameters; their BatchNorm layers stay in eval mode."""
    for module in modules:
        for p in module.parameters():
            p.requires_grad_(False)
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and not m._forward_pre_hooks:
                m.register_forward_pre_hook(_keep_eval)


def _keep_eval(module, args):
    module.training = False


def apply_lr_multipliers(optimizer, compiled, spec) -> None:
    """Split each parameter group by its layers' LR factor (lr × factor); call before the scheduler
    is built so every schedule scales the per-layer rates together."""
    pairs = [(compiled.module.get_submodule(path), f) for path, f in lr_factor_paths(compiled, spec)]
    if pairs:
        split_by_factor(optimizer, pairs)


def lr_factor_paths(compiled, spec) -> list[tuple[str, float]]:
    """(module path, LR factor) in walk order, a block instance before its layers (the exported
    train script applies these)."""
    factors = {nid: float(m) for nid, m in spec.lr_multipliers.items() if float(m) != 1.0}
    if not factors:
        return []
    from ..compiler import walk_layers

    return [(ref.path, factors[ref.qid]) for ref in walk_layers(compiled) if ref.qid in factors]


def split_by_factor(optimizer, pairs) -> None:
    """Split each parameter group by (module, factor) pairs, the later pair winning for a
    parameter both cover (the innermost layer of a block), into groups with lr × factor."""
    factor_of = {}
    for module, factor in pairs:
        for p in module.parameters():
            factor_of[id(p)] = factor
    groups = []
    for g in optimizer.param_groups:
        by_factor: dict[float, list] = {}
        for p in g["params"]:
            by_factor.setdefault(factor_of.get(id(p), 1.0), []).append(p)
        for f, params in by_factor.items():
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": params, "lr": g["lr"] * f})
    optimizer.param_groups.clear()
    for g in groups:
        optimizer.add_param_group(g)
