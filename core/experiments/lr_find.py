"""The LR range test (Smith 2015, "Cyclical learning rates"; the fastai `lr_find`): train a fresh
copy of the network for a few hundred steps while the LR grows exponentially from `start_lr` to
`end_lr`, and read the loss-vs-LR curve.

The model, optimizer and loss are built exactly as a run would build them (core.train.setup), from
the project's graph and settings; nothing is written: the project's weights, its file and its run
history stay as they were. The raw loss is smoothed with a bias-corrected exponential moving
average; the test ends early once the smoothed loss exceeds `diverge` × its minimum.

Suggestion rule ("min/10"): one tenth of the LR at which the smoothed loss was lowest. At the
minimum the LR is already at the edge of stability; a tenth of it still descends steeply and stays
clear of divergence. The LR of the steepest descent is reported as well, for comparison.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

RULE = "min/10: one tenth of the LR where the smoothed loss was lowest"


class LRFindError(ValueError):
    """The test cannot run: `str()` is `cause: fix`."""


@dataclass
class LRFindResult:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)     # raw batch losses (non-finite kept as inf)
    smoothed: list[float] = field(default_factory=list)
    suggested: float | None = None
    rule: str = RULE
    lowest_at: float | None = None     # LR of the lowest smoothed loss
    steepest_at: float | None = None   # LR of the steepest fall of the smoothed loss (per log-LR)
    ended: str = "completed"           # completed / diverged / stopped
    message: str = ""                  # why there is no suggestion, if there is none
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def exponential_lrs(start: float, end: float, steps: int) -> list[float]:
    ratio = (end / start) ** (1 / max(1, steps - 1))
    return [start * ratio ** i for i in range(steps)]


def smooth(values: list[float], beta: float) -> list[float]:
    """Bias-corrected EMA (the first values are not dragged toward 0)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** i))
    return out


def suggest(lrs: list[float], smoothed: list[float], skip: int = 5) -> tuple[float | None, float | None, float | None, str]:
    """(suggested, lowest_at, steepest_at, message) from a finished curve."""
    finite = [(lr, s) for lr, s in zip(lrs, smoothed) if math.isfinite(s)]
    if len(finite) < skip + 3:
        return None, None, None, "too few finite steps to read the curve: lower start_lr or raise steps"
    body = finite[skip:]
    i_min = min(range(len(body)), key=lambda i: body[i][1])
    lowest = body[i_min][0]
    slopes = [(body[i + 1][1] - body[i - 1][1]) / (math.log(body[i + 1][0]) - math.log(body[i - 1][0]))
              for i in range(1, max(1, i_min))]
    steepest = body[1 + min(range(len(slopes)), key=slopes.__getitem__)][0] if slopes else None
    if i_min == 0 or body[i_min][1] >= body[0][1] * 0.98:
        return None, lowest, steepest, ("the loss never fell: lower start_lr, or check the data and the network "
                                        "(the test starts where training is already unstable)")
    return lowest / 10, lowest, steepest, ""


def lr_find(project, dataset=None, base_dir: str | Path | None = None, steps: int = 200, start_lr: float = 1e-7,
            end_lr: float = 10.0, beta: float = 0.9, diverge: float = 4.0,
            on_progress: Callable[[int, float, float], None] | None = None, control=None) -> LRFindResult:
    """Run the test; `on_progress(step, lr, smoothed_loss)` after each step; `control.stopped`
    (core.train.Control) ends it early. Raises LRFindError when the set-up cannot train."""
    if not (0 < start_lr < end_lr) or steps < 10:
        raise LRFindError(f"the range {start_lr:g} → {end_lr:g} over {steps} steps is unusable: "
                          "use 0 < start < end and at least 10 steps")
    s = _fresh_setup(project, dataset, base_dir)
    result = LRFindResult()
    t0 = time.perf_counter()
    _sweep(s, project.training, exponential_lrs(start_lr, end_lr, steps), beta, diverge, on_progress, control,
           result)
    result.suggested, result.lowest_at, result.steepest_at, result.message = suggest(result.lrs, result.smoothed)
    result.seconds = time.perf_counter() - t0
    return result


def _fresh_setup(project, dataset, base_dir):
    """The run's set-up (core.train.setup.build) on a fresh model, after the preflight's errors and
    an empty training split are refused."""
    from ..train import preflight
    from ..train.setup import build

    dataset = dataset if dataset is not None else _load(project, base_dir)
    errors = [p for p in preflight(project, dataset) if p.severity == "error"]
    if errors:
        raise LRFindError(str(errors[0]))
    s = build(project, dataset)      # a fresh model: the project's weights are never touched
    if int(s.data["x_train"].shape[0]) == 0:
        raise LRFindError("the training split is empty: lower data.val_fraction / data.test_fraction")
    return s


def _sweep(s, spec, lrs: list[float], beta: float, diverge: float, on_progress, control,
           result: LRFindResult) -> None:
    """One optimizer step per LR on shuffled training batches, recording raw and smoothed losses
    into `result`; ends on a stop request, a non-finite loss, or the smoothed loss passing
    `diverge` × its minimum (after the first 10 steps)."""
    import torch
    from ..train.setup import num_threads

    x, y, n = s.data["x_train"], s.data["y_train"], int(s.data["x_train"].shape[0])
    bs = min(spec.batch_size, n)
    gen = torch.Generator().manual_seed(spec.seed)
    model, opt = s.compiled.module, s.optimizer
    best, order, pos = math.inf, None, n
    model.train()
    with num_threads(s.threads):
        for i, lr in enumerate(lrs):
            if control is not None and control.stopped:
                result.ended = "stopped"
                break
            if pos + bs > n:
                order, pos = torch.randperm(n, generator=gen), 0
            idx = order[pos:pos + bs].to(s.device)
            pos += bs
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad(set_to_none=True)
            loss = s.loss_fn(model(x.index_select(0, idx)), y.index_select(0, idx))
            value = float(loss.detach())
            if not math.isfinite(value):
                result.lrs.append(lr)
                result.losses.append(math.inf)
                result.smoothed.append(math.inf)
                result.ended = "diverged"
                break
            loss.backward()
            opt.step()
            result.lrs.append(lr)
            result.losses.append(value)
            sm = _next(result, value, beta)
            result.smoothed.append(sm)
            best = min(best, sm)
            if on_progress is not None:
                on_progress(i + 1, lr, sm)
            if i > 10 and sm > diverge * best:
                result.ended = "diverged"
                break


def _next(result: LRFindResult, value: float, beta: float) -> float:
    """The next bias-corrected EMA value from the previous one (O(1) per step)."""
    k = len(result.losses)          # `value` is already the k-th loss
    prev_avg = result.smoothed[-1] * (1 - beta ** (k - 1)) if k > 1 else 0.0
    return (beta * prev_avg + (1 - beta) * value) / (1 - beta ** k)


def _load(project, base_dir):
    from ..data import load
    try:
        return load(project.data, base_dir)
    except ValueError as e:    # DataError: one line, "cause: fix"
        raise LRFindError(f"the data could not be loaded: {e}") from None
