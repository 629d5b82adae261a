"""The chance-level doctor: a classifier whose validation accuracy has stayed at chance for a few
epochs is named as such, with the causes the run can show and the settings that fix them.

Chance is the best a constant guess scores: the largest class's share of the validation split
(1/N for balanced classes). Causes it looks for, each from numbers the trainer already has:
- depth without normalization or skips (≥ DEEP weighted layers in the graph, no norm layer, no merge);
- vanishing gradients (the first layer's gradient norm under 1e-3 of the last's, from EpochEnd);
- the learning rate (too high for a deep plain stack with Adam: units die and the gradient vanishes).
Each finding carries `actions`: (section, field, value) changes the app applies in one click (the LR);
graph changes (insert BatchNorm, add skips) are named in the fix text.
"""
from __future__ import annotations

import math

from .diagnosis import Diagnosis

MIN_EPOCHS = 3
MARGIN = 0.03           # accuracy within 3 points of chance counts as chance
DEEP = 10               # weighted layers in a plain stack that start needing norms or skips
VANISHED = 1e-3


def chance_accuracy(y_val, num_classes: int) -> float:
    import torch
    y = torch.as_tensor(y_val).reshape(-1)
    if y.numel() == 0 or num_classes < 2:
        return 1.0 / max(num_classes, 1)
    return float(torch.bincount(y.long(), minlength=num_classes).max()) / y.numel()


def at_chance(history: list[dict], chance: float, min_epochs: int = MIN_EPOCHS) -> bool:
    accs = [h.get("val_accuracy") for h in history[-min_epochs:]]
    return (len(history) >= min_epochs and all(a is not None and math.isfinite(a) for a in accs)
            and max(accs) <= chance + MARGIN)


def structure(graph) -> tuple[int, bool, bool]:
    """(weighted layers, has a norm layer, has a merge / skip)."""
    specs = [n.spec for n in graph.nodes.values()]
    return (sum(1 for s in specs if s.weighted), any(s.category == "Normalization" for s in specs),
            any(s.merge is not None for s in specs))


def diagnose(history: list[dict], chance: float, graph, grad_norms: dict[str, float], lr: float,
             optimizer: str) -> list[Diagnosis]:
    if not at_chance(history, chance):
        return []
    depth, normed, skips = structure(graph)
    causes, fixes, actions = [], [], []
    if depth >= DEEP and not normed and not skips:
        causes.append(f"{depth} weighted layers stacked without normalization or skip connections")
        fixes.append("insert BatchNorm after each hidden Dense (or add residual Add blocks), or use fewer layers")
    norms = [v for v in grad_norms.values() if math.isfinite(v)]
    if len(norms) >= 2 and norms[-1] > 0 and norms[0] / norms[-1] < VANISHED:
        causes.append(f"vanishing gradients: the first layer's gradient norm is {norms[0]:.2g}, the last's "
                      f"{norms[-1]:.2g} ({norms[0] / norms[-1]:.1e}×)")
    # measured on the spiral, 8 epochs: 50 plain layers stay at 33 % with Adam at 0.01 and reach 92 % at 0.001;
    # 200 layers stay at chance even at 0.001 (only norms or skips help there)
    if optimizer in ("adam", "adamw", "rmsprop") and lr > 3e-3 or lr >= 0.3:
        causes.append(f"the learning rate {lr:g} is high for this network")
        fixes.append(f"lower training.lr to {lr / 10:g}")
        actions.append(("training", "lr", lr / 10))
    if not causes:
        causes.append("none of depth, gradients or learning rate stands out: check that labels match inputs")
    n = len(history)
    message = (f"Validation accuracy has stayed at chance ({chance:.0%}) for {min(n, MIN_EPOCHS)} epochs "
               f"(now {history[-1]['val_accuracy']:.0%}): the network predicts one class. Likely causes: "
               + "; ".join(causes) + ".")
    return [Diagnosis("chance_level", "warning", None, message, "; ".join(fixes) or "check the data",
                      actions=tuple(actions))]
