"""Loss at initialization, measured on every run before step 1 and reported next to what a
network that knows nothing should score (ln N for N-class cross-entropy; see
`diagnosis.expected_initial_loss`).

It is the cheapest sanity check there is: a loss far above ln N means confidently wrong logits
(large init, unscaled inputs, a Softmax before the loss), far below means the labels leak into the
inputs or the weights are not fresh. The trainer puts both numbers in RunStarted (the CLI's first
line, the loss plot's annotation), in diagnostics.json (code `loss_at_init`) and in result.json.
"""
from __future__ import annotations

import math
from typing import Any

import torch

INIT_BATCHES = 4          # training batches measured (the first ones of the split, before shuffling)
MAX_SAMPLES = 2048


def measure(setup, dataset, spec) -> dict[str, Any]:
    """{"loss_at_init", "expected_loss_at_init", "samples"} for the network as initialized.
    Eval mode (no dropout), BatchNorm on the batch's own statistics, buffers untouched."""
    from .diagnosis import expected_initial_loss
    from .probes import probe_mode

    x, y = setup.data["x_train"], setup.data["y_train"]
    n = min(len(x), INIT_BATCHES * spec.batch_size, MAX_SAMPLES)
    expected = expected_initial_loss(spec.loss, int(dataset.num_classes or 0), dataset.y_train, spec.huber_delta)
    out: dict[str, Any] = {"loss_at_init": None, "expected_loss_at_init": expected, "samples": int(n)}
    if n == 0:
        return out
    module, total = setup.compiled.module, 0.0
    rng = torch.get_rng_state()          # measuring must not change what training draws
    try:
        with probe_mode(module, batch_stats=True):
            for lo in range(0, n, spec.batch_size):
                xb, yb = x[lo:min(lo + spec.batch_size, n)], y[lo:min(lo + spec.batch_size, n)]
                if setup.autocast is not None:
                    with setup.autocast():
                        logits = module(xb).float()
                else:
                    logits = module(xb)
                total += float(setup.loss_fn(logits, yb)) * len(xb)
    finally:
        torch.set_rng_state(rng)
    out["loss_at_init"] = total / n
    return out


def describe(loss_name: str, info: dict[str, Any]) -> str:
    """One line: 'loss at init 2.304 (ln 10 = 2.303 expected, +0.0 %)'."""
    observed, expected = info.get("loss_at_init"), info.get("expected_loss_at_init")
    if observed is None:
        return "loss at init: not measured (empty training split)"
    if expected is None or not expected > 0:
        return f"loss at init {observed:.4g}"
    what = {"cross_entropy": f"ln {round(math.exp(expected))}", "bce_logits": "ln 2",
            "hinge": "(N−1)/N"}.get(loss_name, "predicting 0")
    off = (observed / expected - 1) * 100 if math.isfinite(observed) else math.inf
    return f"loss at init {observed:.4g} ({what} = {expected:.4g} expected, {off:+.1f} %)"


def diagnostics_entry(loss_name: str, info: dict[str, Any]) -> dict[str, Any]:
    """The row diagnostics.json keeps for every run (severity info; the warnings stay with
    `diagnose_initial_loss`)."""
    return {"epoch": 0, "code": "loss_at_init", "severity": "info", "layer": None,
            "message": describe(loss_name, info) + ".", "fix": "",
            "loss_at_init": info.get("loss_at_init"), "expected_loss_at_init": info.get("expected_loss_at_init")}


def at_start(trainer) -> dict[str, Any]:
    """Measure (a new run) or recall (a resumed one: its weights are no longer fresh) the loss at
    init, and keep it as the first row of the run's diagnostics."""
    spec = trainer.project.training
    if trainer.start_epoch == 1:
        info = measure(trainer.setup, trainer.dataset, spec)
    else:
        info = _recalled(trainer.folder.file("diagnostics.json"))
    trainer.diagnostics.insert(0, diagnostics_entry(spec.loss, info))
    return info


def _recalled(path) -> dict[str, Any]:
    import json
    try:
        rows = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    except (OSError, ValueError):
        rows = []
    row = next((r for r in rows if isinstance(r, dict) and r.get("code") == "loss_at_init"), {})
    return {"loss_at_init": row.get("loss_at_init"), "expected_loss_at_init": row.get("expected_loss_at_init")}


def record(folder, loss_name: str, info: dict[str, Any]) -> str:
    """Start a run folder's diagnostics.json with the loss at init; returns the one-line text."""
    folder.write_json("diagnostics.json", [diagnostics_entry(loss_name, info)])
    return describe(loss_name, info)
