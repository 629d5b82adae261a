"""torch.compile of the training step where it pays, decided by measurement in the run itself
(training.compile: auto | on | off); config.json's `resolved.compile` says what was decided and why.

Measured on CPU (2 cores, one thread, inductor with gcc; compiled network + backward against
eager, same loop): digits MLP 64-64-10 0.77× eager speed, digits CNN 1.03×; compiling took
16-18 s. Small networks on a CPU are launch-bound and the compiled graph's runtime wrappers
cost more than they fuse away, so eager is right for them; long runs of larger networks,
above all on a GPU, are where a compiled step pays.

"auto": the run times its first eager steps (≥ TIMED_S of them). When the eager run still to go
is at least PAYBACK × COMPILE_ESTIMATE_S and a compiler backend is there (inductor needs a C++
compiler on the CPU, Triton on CUDA), the network is compiled and its steps are timed likewise;
it is kept if they take ≤ KEEP_IF of the eager time, else the run goes back to eager. Either
way the trial costs at most about 1 / PAYBACK of the run. "on": compiled from the first step,
timed and kept. "off": eager. A compile that fails falls back to eager for the same batch
(`_Guarded`), so a missing compiler never stops a run. Only the training forward/backward is
compiled; validation, probes and checkpoints use the eager module (the same parameters).
Single-process runs only: DDP ranks and the exported train script stay eager.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import time

import torch
from torch import nn

from ..specs import COMPILE
from .loop import train_epoch

COMPILE_ESTIMATE_S = 20.0    # what a compile costs before it is measured (16-18 s measured, above)
PAYBACK = 20                 # auto tries compiling only when ≥ 20× that much eager training is left
TIMED_S = 0.5                # seconds of steps timed before each decision
KEEP_IF = 0.95               # keep the compiled step when it takes ≤ 95 % of the eager step's time


def backend_missing(device: torch.device) -> str | None:
    """Why inductor cannot compile here, or None."""
    if importlib.util.find_spec("torch._inductor") is None:
        return "torch's compiler (torch._inductor) is not installed"
    if device.type == "cuda":
        return None if importlib.util.find_spec("triton") is not None else "Triton is not installed"
    if device.type != "cpu":
        return f"no compiler backend for {device.type}"
    cxx = os.environ.get("CXX") or "g++"
    if not (shutil.which(cxx) or shutil.which("clang++")):
        return "no C++ compiler on PATH (inductor compiles CPU kernels with one)"
    if not os.path.isdir(os.path.join(os.path.dirname(torch.__file__), "include")):
        # the packaged app leaves torch's headers out (packaging/layerlab.spec)
        return "torch's C++ headers (torch/include) are not installed: inductor compiles CPU kernels against them"
    return None


class _Guarded(nn.Module):
    """The compiled network, or the eager one from the first call that fails to compile on."""

    def __init__(self, compiled, eager: nn.Module, plan: "CompilePlan"):
        super().__init__()
        self.compiled, self.plan = compiled, plan
        self.eager = [eager]          # a list: not registered twice as a submodule

    def forward(self, x):
        if self.plan.failed is None:
            try:
                return self.compiled(x)
            except Exception as e:    # inductor/dynamo failures: any exception type; eager takes over
                self.plan.fail(e)
        return self.eager[0](x)


class CompilePlan:
    """Trains each epoch eagerly or compiled, times both, and decides (auto) or reports (on)."""

    def __init__(self, setting: str, module: nn.Module, device: torch.device, epochs: int, steps_per_epoch: int,
                 compile_fn=None):
        self.setting = setting if setting in COMPILE else "auto"
        self.module, self.device = module, device
        self.steps_left = epochs * max(steps_per_epoch, 1)
        self.compile_fn = compile_fn or torch.compile
        self.phase = {"off": "eager", "on": "compile", "auto": "time-eager"}[self.setting]
        self.eager = [0.0, 0]         # seconds, steps timed
        self.compiled = [0.0, 0]
        self.compile_s: float | None = None
        self.failed: str | None = None
        self.tried = False            # a compile was started (its start and outcome are worth a diagnostics line)
        self.note = {"setting": self.setting, "used": False,
                     "decision": "off: eager steps" if self.setting == "off" else "pending: timing the first steps"}
        self.changed = False          # the note changed since the caller last wrote it

    # ------------------------------------------------------------ the epoch
    def train(self, loop, epoch: int):
        phase = self.phase
        if phase == "compile":
            self._start(loop)
            phase = self.phase
        t0 = time.perf_counter()
        out = train_epoch(loop, epoch)
        seconds = time.perf_counter() - t0 - out.paused_s
        self.steps_left -= out.batches
        if self.failed is not None and phase in ("first-compiled", "time-compiled"):
            self._back_to_eager(loop, f"compile failed ({self.failed}); eager steps")
        elif phase == "time-eager":
            self._timed(self.eager, seconds, out.batches, lambda: self._consider(loop))
            if self.phase == "time-eager" and self._eager_left() < PAYBACK * COMPILE_ESTIMATE_S:
                self._settle("eager", self._too_short())    # already clear: no need to time more
        elif phase == "first-compiled":      # holds the compile: its cost is the time over eager's
            per_eager = self.eager[0] / self.eager[1] if self.eager[1] else 0.0
            self.compile_s = max(seconds - per_eager * out.batches, 0.0)
            self.phase = "time-compiled"
        elif phase == "time-compiled":
            self._timed(self.compiled, seconds, out.batches, lambda: self._decide(loop))
        return out

    def _timed(self, acc: list, seconds: float, steps: int, then) -> None:
        acc[0] += seconds
        acc[1] += steps
        if acc[0] >= TIMED_S and acc[1] >= 2 and self.phase in ("time-eager", "time-compiled"):
            then()

    def _eager_left(self) -> float:
        return self.eager[0] / max(self.eager[1], 1) * max(self.steps_left, 0)

    def _too_short(self) -> str:
        return (f"eager: {self._eager_left():.1f} s of steps left, under {PAYBACK}× a compile "
                f"(~{COMPILE_ESTIMATE_S:.0f} s); compiling would not pay")

    def _consider(self, loop) -> None:
        missing = backend_missing(self.device)
        if missing:
            self._settle("eager", f"eager: {missing}")
        elif self._eager_left() < PAYBACK * COMPILE_ESTIMATE_S:
            self._settle("eager", self._too_short())
        else:
            self._start(loop)

    def finish(self) -> None:
        """The run ended before a decision: say what the steps measured so far."""
        if self.phase in ("first-compiled", "time-compiled"):
            if self.compiled[1]:
                self._decide(None)
            else:
                self._settle("compiled", "compiled until the end; the run ended before its steps were timed",
                             compile_s=round(self.compile_s or 0.0, 2))
        elif self.phase == "time-eager":
            self._settle("eager", "eager: the run ended while its first steps were timed")

    def _start(self, loop) -> None:
        self.tried = True
        # `on` where no compiler can run: say why rather than what broke inside it
        self.failed = backend_missing(self.device) if self.compile_fn is torch.compile else None
        if self.failed is None:
            try:
                compiled = self.compile_fn(self.module)
            except Exception as e:
                self.failed = _one_line(e)
        if self.failed is not None:
            self._settle("eager", f"compile failed ({self.failed}); eager steps")
            return
        loop.model = _Guarded(compiled, self.module, self)
        self.phase = "first-compiled"
        self._set(used=True, decision="compiling: the first compiled epoch holds the compile")

    def _decide(self, loop) -> None:
        eager = self.eager[0] / self.eager[1] if self.eager[1] else None
        comp = self.compiled[0] / self.compiled[1]
        figures = {"compiled_step_ms": round(comp * 1e3, 4), "compile_s": round(self.compile_s or 0.0, 2)}
        if eager is not None:
            figures["eager_step_ms"] = round(eager * 1e3, 4)
        if self.setting == "on" or eager is None:
            self._settle("compiled", "on: compiled steps", **figures)
        elif comp <= KEEP_IF * eager:
            self._settle("compiled", f"compiled: its steps take {comp / eager:.2f}× the eager steps' time", **figures)
        else:
            self._back_to_eager(loop, f"eager: compiled steps took {comp / eager:.2f}× the eager steps' time "
                                      f"(kept only at ≤ {KEEP_IF})", **figures)

    def _back_to_eager(self, loop, decision: str, **figures) -> None:
        if loop is not None:
            loop.model = self.module
        self._settle("eager", decision, used=False, **figures)

    def _settle(self, phase: str, decision: str, **fields) -> None:
        self.phase = "eager" if phase == "eager" else "compiled"
        self._set(decision=decision, **fields)

    def _set(self, **fields) -> None:
        self.note.update(fields)
        self.changed = True

    def fail(self, error: BaseException) -> None:
        self.failed = _one_line(error)


def _one_line(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip().splitlines()
    return text[0][:200] if text else type(e).__name__
