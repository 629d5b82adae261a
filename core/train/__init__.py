"""Training: init, losses, optimizers and schedules, regularization, the trainer, events, probes,
diagnoses and run folders.

    from layerlab.core.train import Trainer, Control, preflight, lr_curve
    result = Trainer(project).fit(on_event=print, control=Control())

Names are imported on first use, so `import layerlab.core.train` stays cheap (no torch).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Trainer": "trainer", "Control": "events", "RunResult": "events", "RunStarted": "events", "Step": "events",
    "EpochEnd": "events", "DiagnosisEvent": "events", "Paused": "events", "Resumed": "events",
    "Finished": "events", "Stopped": "events", "Failed": "events", "preflight": "checks",
    "lr_curve": "optim", "initialize": "init", "build_loss": "losses", "RunFolder": "runs", "RunError": "runs",
    "ProbeSnapshot": "probes", "Diagnosis": "diagnosis",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
