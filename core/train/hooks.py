"""Probes and diagnoses during a run, on a time budget.

Probe snapshots (probes.py) come every `probe_every` epochs, and diagnoses (diagnosis.py) at
epoch ends, but never more often than their own cost allows: after a call that took c seconds the
next one waits until BUDGET × c seconds of training have passed, so together they cost at most
~1/BUDGET of the run (0.8%, within the 5 % that epochs.VALIDATION_BUDGET allows all bookkeeping) however short the epochs are; the start and the last epoch are always
covered. With fast epochs a snapshot therefore lands every few epochs rather than every one (still
several per second, more than the GUI redraws). Each diagnosis is reported once per (code, layer). The global RNG is saved and restored around
every call, so probing never changes what training draws (seeded runs stay identical).
"""
from __future__ import annotations

import time
from typing import Any

import torch

from .events import DiagnosisEvent

BUDGET = 120.0
PROBE_BATCH = 256


def _as_dict(d: Any, epoch: int) -> dict[str, Any]:
    base = d.to_dict() if hasattr(d, "to_dict") else dict(d)
    return {"epoch": epoch, **base}


class Probes:
    def __init__(self, trainer, setup):
        self.t, self.s = trainer, setup
        from . import diagnosis, probes
        self.probes, self.diagnosis = probes, diagnosis
        data = setup.data
        split = "val" if len(data["x_val"]) else "train"
        # a cache-sized batch: 256 points for an MLP, 64 images for the digits CNN (27 ms -> 7 ms a probe)
        k = min(PROBE_BATCH, max(64, setup.eval_batch))
        self.batch = data[f"x_{split}"][:k]
        self.next_ok = 0.0
        self.seen: set[tuple[str, Any]] = set()
        spec, ds = trainer.project.training, trainer.dataset
        self.expected = None
        self.chance = None          # the best a constant guess scores on validation (chance.py)
        if ds.task == "classification" and len(ds.y_val):
            from .chance import chance_accuracy
            self.chance = chance_accuracy(ds.y_val, int(ds.num_classes or 0))
        self.expected = self.diagnosis.expected_initial_loss(spec.loss, int(ds.num_classes or 0), ds.y_train,
                                                             spec.huber_delta)

    # ------------------------------------------------------------ helpers
    def _report(self, epoch: int, found: list) -> None:
        new = [d for d in found if (d.code, d.layer) not in self.seen]
        for d in new:
            self.seen.add((d.code, d.layer))
            self.t.diagnostics.append(_as_dict(d, epoch))
        if new:
            self.t._emit(DiagnosisEvent(epoch=epoch, diagnoses=new))

    def _timed(self, fn):
        rng = torch.get_rng_state()
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            cost = time.perf_counter() - t0
            torch.set_rng_state(rng)
            self.next_ok = time.perf_counter() + BUDGET * cost

    def _snapshot(self, epoch: int, grad_norms=None, update_ratios=None):
        p = self.probes
        snap = p.collect_probes(self.s.compiled, self.batch, epoch, graph=self.t.project.graph,
                                batch_stats=epoch == 0, grad_norms=grad_norms, update_ratios=update_ratios)
        self.t._emit(snap)
        return snap

    # ------------------------------------------------------------ when
    def at_init(self) -> None:
        spec, d = self.t.project.training, self.diagnosis

        def work():
            found = list(d.diagnose_graph(self.t.project.graph, self.s.compiled.analysis, spec.loss))
            observed = getattr(self.t, "init_loss", {}).get("loss_at_init")   # measured by init_loss.py
            if observed is not None:
                found += d.diagnose_initial_loss(spec.loss, observed, self.expected,
                                                 self.t.dataset.y_train if self.t.dataset.task == "regression" else None)
            if spec.probe_every and len(self.batch):
                found += d.diagnose_probes(self._snapshot(0), self.t.project.graph)
            self._report(0, found)
        self._timed(work)

    def at_epoch(self, end, force: bool = False) -> None:
        if not force and time.perf_counter() < self.next_ok:
            return
        spec, d, epoch = self.t.project.training, self.diagnosis, end.epoch

        def work():
            # the LR lets a schedule that has annealed the LR (cosine tail) pass as intended, not "too low"
            found = list(d.diagnose_gradients(end.grad_norms, end.update_ratios, lr=end.lr, base_lr=spec.lr))
            found += d.diagnose_history(self.t.history, self.expected)
            if self.chance is not None:
                from .chance import diagnose
                validated = [h for h in self.t.history if h.get("val_loss") == h.get("val_loss")]   # not NaN
                found += diagnose(validated, self.chance, self.t.project.graph, end.grad_norms, end.lr,
                                  spec.optimizer)
            if spec.probe_every and epoch % spec.probe_every == 0 and len(self.batch):
                found += d.diagnose_probes(self._snapshot(epoch, end.grad_norms, end.update_ratios),
                                           self.t.project.graph)
            self._report(epoch, found)
        self._timed(work)


def nonfinite_layer(trainer, x) -> tuple[str | None, str]:
    """(node name, "weights" | "activations" | "input" | "loss") of the first non-finite layer."""
    from . import diagnosis as d
    compiled = trainer.setup.compiled
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        return None, "input"
    name = d.nonfinite_layer(compiled, x)
    if name is None:
        return None, "loss"
    node = trainer.project.graph.by_name(name)
    if node is not None and node.spec.role == "input":
        return None, "input"
    try:
        params = list(compiled.module.get_submodule(name).parameters())
    except AttributeError:
        params = []
    return name, "weights" if any(not bool(torch.isfinite(p).all()) for p in params) else "activations"


def emit_nonfinite(trainer, epoch: int, layer: str | None, message: str, fix: str) -> None:
    from . import diagnosis as d
    diag = d.Diagnosis("nan", "error", layer, message, fix)
    trainer._emit(DiagnosisEvent(epoch=epoch, diagnoses=[diag]))
