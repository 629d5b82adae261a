"""Diagnoses: plain-words findings about a network and its training, each with a concrete fix.

Every check is a pure function of numbers the trainer already has (initial loss, probe
snapshots, gradient norms, the metrics history, the graph), so they are cheap, testable on
constructed cases, and usable headless. Codes are stable: the GUI and diagnostics.json key on
them. Each function returns its findings deduplicated by (code, layer).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass

import torch
from torch import fx

from ..layers import spec_of
from .probes import ProbeSnapshot, activation_kind, probe_mode

CLASS_LOSSES = ("cross_entropy", "bce_logits", "hinge")
NORMS_TO_SUGGEST = "BatchNorm (conv / MLP) or LayerNorm (sequences)"


@dataclass(frozen=True)
class Diagnosis:
    code: str                 # stable key: "dead_relu", "vanishing_activations", ...
    severity: str             # "info" | "warning" | "error"
    layer: str | None         # node name, or None for the whole network / run
    message: str              # what is wrong, in plain words
    fix: str                  # which setting to change to what
    actions: tuple = ()       # (section, field, value) spec changes the app applies in one click

    def __str__(self) -> str:
        where = f" [{self.layer}]" if self.layer else ""
        return f"{self.severity}{where}: {self.message} Fix: {self.fix}"

    def to_dict(self) -> dict:
        return asdict(self)


def dedupe(diagnoses) -> list[Diagnosis]:
    seen, out = set(), []
    for d in diagnoses:
        if (d.code, d.layer) not in seen:
            seen.add((d.code, d.layer))
            out.append(d)
    return out


def _finite(v) -> bool:
    return v is not None and math.isfinite(v)


# ---------------------------------------------------------------- loss at initialization
def expected_initial_loss(loss_name: str, num_classes: int, y_train=None, huber_delta: float = 1.0) -> float | None:
    """What a well-initialized network (near-zero, near-equal outputs) scores before training:
    ln N for N-class cross-entropy, ln 2 for BCE, (N-1)/N for the multi-class hinge; for
    regression the loss of predicting 0, i.e. the target variance when targets are centred
    (their mean square otherwise, which is what a fresh network really starts from)."""
    if loss_name == "cross_entropy":
        return math.log(num_classes) if num_classes and num_classes > 1 else None
    if loss_name == "bce_logits":
        return math.log(2.0)
    if loss_name == "hinge":
        return (num_classes - 1) / num_classes if num_classes and num_classes > 1 else None
    if y_train is None or loss_name not in ("mse", "mae", "huber"):
        return None
    y = torch.as_tensor(y_train).double().reshape(len(y_train), -1)
    if y.numel() == 0:
        return None
    if loss_name == "mse":
        return float((y * y).mean())
    if loss_name == "mae":
        return float(y.abs().mean())
    return float(torch.nn.functional.huber_loss(torch.zeros_like(y), y, delta=huber_delta))


def diagnose_initial_loss(loss_name: str, observed: float, expected: float | None, y_train=None) -> list[Diagnosis]:
    """Compare the loss before the first step with `expected_initial_loss`. y_train (optional,
    regression) adds a note when the targets sit far from 0 relative to their spread."""
    out = []
    if not _finite(observed):
        out.append(Diagnosis("nan", "error", None, f"The loss is {observed} before training has started.",
                             "check the data for NaN/Inf (data.options impute) and use init auto"))
        return out
    if expected is None or expected <= 0:
        return out
    ratio = observed / expected
    what = (f"ln {round(math.exp(expected))}" if loss_name == "cross_entropy" else
            {"bce_logits": "ln 2", "hinge": "(N−1)/N"}.get(loss_name, "the targets' mean square"))
    if ratio > 1.5 and (loss_name not in CLASS_LOSSES or observed - expected > 0.2):
        if loss_name in CLASS_LOSSES:
            why = ("it starts confidently wrong: its logits are large, so misclassified samples cost a lot. "
                   "Likely causes: a large weight init (large_normal, constant), unscaled inputs, or a "
                   "Softmax/Sigmoid before the Output")
            fix = ("set training.init to auto (He for ReLU, Xavier for tanh/sigmoid), set "
                   "data.preprocessing to standardize, and delete any Softmax/Sigmoid right before the "
                   "Output (the loss applies it itself)")
        else:
            why = "its outputs start on a different scale than the targets (large init or unscaled inputs)"
            fix = ("set training.init to auto (or xavier_normal on the output layer via a per-layer "
                   "override) and data.preprocessing to standardize")
        out.append(Diagnosis("init_loss_high", "warning" if ratio > 2 else "info", None,
                             f"The loss at initialization is {observed:.3g}, {ratio:.1f}× the {expected:.3g} "
                             f"({what}) a well-initialized network scores: {why}.", fix))
    elif loss_name in CLASS_LOSSES and ratio < 0.5 and expected - observed > 0.2:
        out.append(Diagnosis("init_loss_low", "info", None,
                             f"The loss at initialization is {observed:.3g}, well below the {expected:.3g} "
                             f"({what}) of a network that knows nothing yet.",
                             "fine if you resumed or loaded trained weights; otherwise check that the labels "
                             "are not also among the input features"))
    if y_train is not None and loss_name in ("mse", "mae", "huber"):
        y = torch.as_tensor(y_train).double().reshape(len(y_train), -1)
        mean, std = float(y.mean()), float(y.std()) if y.numel() > 1 else 0.0
        if abs(mean) > 3 * max(std, 1e-12):
            out.append(Diagnosis("targets_off_centre", "info", None,
                                 f"The targets average {mean:.3g} with spread {std:.3g}; a fresh network outputs "
                                 "≈0, so early epochs mostly move the output bias toward the mean.",
                                 "expect a fast initial drop; if it is slow, raise training.lr or rescale the "
                                 "targets (e.g. subtract their mean) in your data file"))
    return dedupe(out)


# ---------------------------------------------------------------- probe snapshots
def diagnose_probes(snapshot: ProbeSnapshot, graph=None, dead_limit: float = 0.4,
                    saturated_limit: float = 0.3) -> list[Diagnosis]:
    """Activation spread across depth (Dense/Conv outputs, first vs last), dead ReLUs,
    saturated tanh/sigmoid units. `graph` is accepted for symmetry and future checks."""
    out = []
    for s in snapshot.layers:
        if not (_finite(s.act_mean) and _finite(s.act_std)):
            out.append(Diagnosis("nan", "error", s.name, f"{s.type} '{s.name}' outputs NaN or Inf.",
                                 "lower training.lr (÷10), set training.clip to norm (clip_value 1), and use "
                                 "init auto"))
    weighted = [s for s in snapshot.layers if _is_linear(s.type) and _finite(s.act_std)]
    constant = bool(weighted) and weighted[0].act_std < 1e-8
    if len(weighted) >= 3 or constant:
        out += _depth_spread(weighted)
    for s in snapshot.layers:
        if constant and s.dead_fraction == 1.0:
            continue  # a constant network kills every ReLU; the root cause is already reported
        if s.dead_fraction is not None and s.dead_fraction > dead_limit:
            out.append(Diagnosis(
                "dead_relu", "error" if s.dead_fraction >= 0.95 else "warning", s.name,
                f"{s.dead_fraction:.0%} of the units of {s.type} '{s.name}' never fire on the probe batch: "
                "they pass no gradient, so they cannot recover.",
                "lower training.lr (÷10), use init he_normal (or auto) with zero biases, or replace it with "
                "LeakyReLU"))
        if s.saturated_fraction is not None and s.saturated_fraction > saturated_limit:
            out.append(Diagnosis(
                "saturated_units", "warning", s.name,
                f"{s.saturated_fraction:.0%} of the outputs of {s.type} '{s.name}' sit in its flat tails, "
                "where the gradient is almost zero.",
                "use init xavier_normal (or auto) instead of a large init, set data.preprocessing to "
                f"standardize, add {NORMS_TO_SUGGEST} before it, or switch to ReLU"))
    return dedupe(out)


def _depth_spread(rows) -> list[Diagnosis]:
    first, last = rows[0], rows[-1]
    if first.act_std < 1e-8:  # zeros / constant init: every unit computes the same thing
        return [Diagnosis("vanishing_activations", "error", first.name,
                          f"{first.type} '{first.name}' outputs the same value for every sample (std 0): with "
                          "zero or constant weights all units compute the same thing and never differ.",
                          "set training.init to auto or he_normal (zeros and constant only suit biases)")]
    ratio = last.act_std / first.act_std
    per = ratio ** (1 / (len(rows) - 1))
    span = (f"the activation spread (std) goes from {first.act_std:.3g} at '{first.name}' to "
            f"{last.act_std:.3g} at '{last.name}', about ×{per:.2f} per layer")
    if ratio < 0.1:
        where = next(s for s in rows if s.act_std < 0.1 * first.act_std)
        return [Diagnosis("vanishing_activations", "warning", where.name,
                          f"Activations shrink with depth: {span}. Deep layers see nearly constant inputs "
                          "and their gradients vanish.",
                          "use init he_normal before ReLU (xavier_normal before tanh/sigmoid), or auto; or add "
                          f"{NORMS_TO_SUGGEST} after each Dense/Conv")]
    if ratio > 10:
        where = next(s for s in rows if s.act_std > 10 * first.act_std)
        return [Diagnosis("exploding_activations", "warning", where.name,
                          f"Activations grow with depth: {span}. Large activations saturate units and make "
                          "the loss jumpy.",
                          "use init he_normal / xavier_normal (or auto) instead of large_normal, or add "
                          f"{NORMS_TO_SUGGEST} after each Dense/Conv")]
    return []


# ---------------------------------------------------------------- gradients and updates
def diagnose_gradients(grad_norms: dict[str, float], update_ratios: dict[str, float] | None = None,
                       lr: float | None = None, base_lr: float | None = None, vanish: float = 1e-2,
                       explode: float = 1e2, max_norm: float = 1e3) -> list[Diagnosis]:
    """grad_norms / update_ratios: layer name -> value in graph order (probes.grad_norms,
    probes.update_ratios). Early layers' gradients ≪ late layers' = vanishing; ≫ or huge =
    exploding. A per-step update of about 1e-3 of the weights is healthy.
    lr / base_lr: the LR in effect and training.lr; while a schedule has it well below
    training.lr (warm-up, annealing) small updates are expected and not reported."""
    out = []
    for name, g in grad_norms.items():
        if not _finite(g):
            out.append(Diagnosis("nan", "error", name, f"The gradient of '{name}' is {g}.",
                                 "lower training.lr (÷10) and set training.clip to norm with clip_value 1"))
    norms = [(n, g) for n, g in grad_norms.items() if _finite(g)]
    if len(norms) >= 3:
        (first, g0), (last, gl) = norms[0], norms[-1]
        if gl > 0 and g0 / gl < vanish:
            out.append(Diagnosis("vanishing_gradients", "warning", first,
                                 f"Gradients vanish toward the input: ‖∇‖ is {g0:.2g} at '{first}' but {gl:.2g} "
                                 f"at '{last}' ({g0 / gl:.1g}×), so the early layers barely learn.",
                                 "use ReLU-like activations with init he_normal (or auto), add "
                                 f"{NORMS_TO_SUGGEST}, or add residual (Add) connections"))
        elif gl > 0 and g0 / gl > explode:
            out.append(Diagnosis("exploding_gradients", "warning", first,
                                 f"Gradients grow toward the input: ‖∇‖ is {g0:.2g} at '{first}' but {gl:.2g} "
                                 f"at '{last}' ({g0 / gl:.2g}×).",
                                 "set training.clip to norm with clip_value 1, lower training.lr, and use init "
                                 "auto instead of large_normal"))
    big = [(n, g) for n, g in norms if g > max_norm]
    if big and not any(d.code == "exploding_gradients" for d in out):
        name, g = max(big, key=lambda t: t[1])
        out.append(Diagnosis("exploding_gradients", "warning", name,
                             f"The gradient of '{name}' has norm {g:.3g}: steps this large throw the weights "
                             "around.", "set training.clip to norm with clip_value 1 and lower training.lr (÷10)"))
    ratios = {n: r for n, r in (update_ratios or {}).items() if _finite(r) and r > 0}
    if ratios:
        typical = statistics.median(ratios.values())
        if typical > 1e-2:
            name = max(ratios, key=ratios.get)
            out.append(Diagnosis("lr_too_high", "warning", name,
                                 f"Each step changes the weights by about {typical:.1g} of their size (worst: "
                                 f"'{name}' {ratios[name]:.1g}); around 1e-3 is healthy.",
                                 "lower training.lr about ÷10"))
        elif typical < 1e-5 and not (_finite(lr) and _finite(base_lr) and lr < 0.5 * base_lr):
            name = min(ratios, key=ratios.get)
            out.append(Diagnosis("lr_too_low", "info", name,
                                 f"Each step changes the weights by only about {typical:.1g} of their size "
                                 "(around 1e-3 is healthy): training will crawl.",
                                 "raise training.lr about ×10"))
    return dedupe(out)


# ---------------------------------------------------------------- metrics history
def diagnose_history(history: list[dict], expected_loss: float | None = None, spike: float = 3.0,
                     min_epochs: int = 5) -> list[Diagnosis]:
    """history: one dict per epoch with train_loss and val_loss (metrics.csv rows)."""
    train = [h.get("train_loss", h.get("loss")) for h in history]
    val = [h.get("val_loss") for h in history]
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    out = []
    bad = next((e for e, v in zip(epochs, train) if v is not None and not math.isfinite(v)), None)
    if bad is not None:
        out.append(Diagnosis("nan", "error", None, f"The training loss became NaN/Inf at epoch {bad}.",
                             "lower training.lr (÷10), set training.clip to norm with clip_value 1, and check "
                             "the data for NaN/Inf"))
    t = [v for v in train if _finite(v)]
    spikes = []
    for i in range(2, len(train)):
        recent = [v for v in train[max(0, i - 5):i] if _finite(v)]  # running median of the last 5 epochs
        if recent and _finite(train[i]) and train[i] > spike * statistics.median(recent):
            spikes.append(epochs[i])
    if spikes:
        out.append(Diagnosis("loss_spike", "warning", None,
                             f"The training loss jumped to over {spike:g}× its recent level at epoch "
                             f"{', '.join(map(str, spikes[-3:]))}: steps overshoot.",
                             "lower training.lr (÷3 to ÷10), or set training.clip to norm with clip_value 1"))
    pairs = [(tr, va) for tr, va in zip(train, val) if _finite(tr) and _finite(va)]
    if len(pairs) >= min_epochs:
        vals = [va for _, va in pairs]
        best = min(range(len(vals)), key=vals.__getitem__)
        tr_now, va_now = pairs[-1]
        if (best <= len(vals) - 3 and va_now > vals[best] * 1.1 + 1e-6 and tr_now < pairs[best][0]
                and va_now > tr_now):
            out.append(Diagnosis("overfitting", "warning", None,
                                 f"Validation loss has risen from {vals[best]:.3g} (epoch {epochs[best]}) to "
                                 f"{va_now:.3g} while training loss keeps falling ({tr_now:.3g}): the network "
                                 "memorizes the training set.",
                                 "add Dropout (p 0.2–0.5) after hidden layers, set training.weight_decay to 1e-4, "
                                 "turn on training.early_stopping (with restore_best), or use more training data"))
    if len(t) >= min_epochs:
        ref = expected_loss if _finite(expected_loss) and expected_loss > 0 else t[0]
        if min(t) > 0.95 * ref:
            chance = " (chance level)" if _finite(expected_loss) else ""
            out.append(Diagnosis("plateau", "warning", None,
                                 f"After {len(t)} epochs the training loss ({t[-1]:.3g}) is still at its starting "
                                 f"value {ref:.3g}{chance}: the network is not learning.",
                                 "check the update ratios (raise training.lr ×10 if they are tiny), fix dead "
                                 "ReLUs or a zero init (training.init auto), and check that labels match inputs"))
    return dedupe(out)


def _is_linear(type_name: str) -> bool:
    """Dense / Conv: layers whose outputs show the spread of activations across depth."""
    spec = spec_of(type_name)
    return spec is not None and spec.linear


# ---------------------------------------------------------------- graph
def _producer(graph, node_id):
    node = graph.nodes[node_id]
    while node.spec.keeps_values and len(graph.inputs_of(node.id)) == 1:
        node = graph.nodes[graph.inputs_of(node.id)[0].src]
    return node


def diagnose_graph(graph, analysis=None, loss_name: str | None = None) -> list[Diagnosis]:
    """Set-up findings visible in the graph alone: a bias right before BatchNorm (redundant);
    with loss_name, a Softmax/Sigmoid right before the Output of a logits loss."""
    from ..analysis import analyze
    a = analysis or analyze(graph)
    used = a.order or list(graph.nodes)
    out = []
    for nid in used:
        node = graph.nodes[nid]
        if not node.spec.has_bias_param or not node.params.get("bias", True):
            continue
        after = [graph.nodes[e.dst] for e in graph.outputs_of(nid)]
        if after and all(n.spec.cancels_bias for n in after):
            out.append(Diagnosis("redundant_bias", "info", node.name,
                                 f"{node.label} has a bias, but {after[0].label} right after it subtracts the "
                                 "batch mean, cancelling the bias, and adds its own shift.",
                                 f"set bias to false on {node.label} (one fewer parameter per unit, same model)"))
    if loss_name in ("cross_entropy", "bce_logits") and a.output_id is not None:
        feed = graph.inputs_of(a.output_id)
        last = _producer(graph, feed[0].src) if feed else None
        act = activation_kind(last.type) if last is not None else ""
        if act in ("softmax", "sigmoid"):
            out.append(Diagnosis("softmax_before_loss", "warning", last.name,
                                 f"{last.label} comes right before the Output, but {loss_name} applies "
                                 f"{'log-softmax' if loss_name == 'cross_entropy' else 'the sigmoid'} itself: "
                                 "squashing twice flattens the gradients.",
                                 f"delete {last.label}: the loss and the predictions work on raw logits"))
    return dedupe(out)


# ---------------------------------------------------------------- NaN / Inf
def nonfinite_layer(compiled, batch) -> str | None:
    """Name of the first layer (graph order) whose parameters or output hold NaN/Inf on
    `batch`; the Input's name if the batch itself does; None if everything is finite."""
    def bad(v) -> bool:
        return isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())

    class Finder(fx.Interpreter):
        # records instead of raising: fx decorates exceptions from run_node, which costs seconds
        found: str | None = None

        def run_node(self, n):
            if self.found is None and n.op == "call_module" and any(
                    bad(p) for p in self.fetch_attr(n.target).parameters()):
                self.found = n.name
            value = super().run_node(n)
            if self.found is None and n.op != "output" and bad(value):
                self.found = n.name
            return value

    finder = Finder(compiled.module)
    with probe_mode(compiled.module):
        finder.run(batch)
    return finder.found


__all__ = ["Diagnosis", "dedupe", "expected_initial_loss", "diagnose_initial_loss", "diagnose_probes",
           "diagnose_gradients", "diagnose_history", "diagnose_graph", "nonfinite_layer"]
