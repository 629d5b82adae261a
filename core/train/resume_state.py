"""Checks of a run's saved training state (`last.state.safetensors`) before resuming from it.

The file may come from someone else: every field is checked for type, shape and range against
the freshly built optimizer, scheduler and random generators, so a crafted or damaged state is
refused in one line ("cannot resume …") instead of a traceback, a silent mismatch or a hang."""
from __future__ import annotations

import math
from typing import Any

import torch

from .runs import RunError

MAX_EPOCHS = 10**6
MAX_STEPS = 10**7     # resuming replays the schedule step by step


def _int(v: Any, lo: int, hi: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise RunError(f"its saved {what} is {_short(v)}, not a whole number from {lo:,} to {hi:,}")
    return v


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(v: Any, what: str, allow_none: bool = False) -> None:
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)
                                                                  and not allow_none):
        raise RunError(f"its saved {what} is {_short(v)}, not a number")


class WorkerCount(RunError):
    """The run was trained with another number of DDP processes than this resume asks for."""

    def __init__(self, saved: int, now: int):
        super().__init__(f"it was trained with {saved} process(es), not {now}")
        self.fix = ("resume it with one process (no --nproc)" if saved == 1 else
                    f"resume it with --nproc {saved}")


def check_trainer(t: Any, epochs: int, steps_per_epoch: int, world: int = 1) -> None:
    if not isinstance(t, dict):
        raise RunError("its saved trainer counters are not an object")
    saved_world = _int(t.get("world_size", 1), 1, 1 << 16, "process count")
    if saved_world != world:
        raise WorkerCount(saved_world, world)
    done = t.get("epoch", 0)
    if isinstance(done, int) and not isinstance(done, bool) and epochs < done <= MAX_EPOCHS:
        raise RunError(f"it has already run {done} epochs, more than training.epochs ({epochs}): raise the "
                       f"epochs (--epochs {done + 1} or more) to continue it")
    done = _int(done, 0, min(epochs, MAX_EPOCHS), "epoch")
    _int(t.get("global_step", 0), 0, min((done + 1) * max(1, steps_per_epoch), MAX_STEPS), "step count")
    _number(t.get("best_value"), "best value", allow_none=True)
    _int(t.get("best_epoch", 0), 0, done, "best epoch")
    _int(t.get("bad_epochs", 0), 0, done, "count of epochs without improvement")


def check_rng(tensors: dict[str, torch.Tensor], generator: torch.Generator, device: torch.device) -> None:
    """Every saved generator state (rng.torch, rng.shuffle, and a DDP run's rng.torch.R and
    rng.local.R per rank) has the shape and dtype of a CPU generator's; rng.cuda of this GPU's."""
    cpu = generator.get_state()
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    for key, v in tensors.items():
        if not key.startswith("rng."):
            continue
        ref = cuda if key.startswith("rng.cuda") else cpu
        if ref is None:
            continue
        if v.dtype != ref.dtype or tuple(v.shape) != tuple(ref.shape):
            raise RunError(f"its random-generator state {key[4:]} is {v.dtype} {list(v.shape)}, "
                           f"expected {ref.dtype} {list(ref.shape)}")


def check_optimizer(tensors: dict[str, torch.Tensor], saved: Any, optimizer) -> None:
    params = [p for g in optimizer.param_groups for p in g["params"]]
    if not isinstance(saved, dict):
        raise RunError("its saved optimizer state is not an object")
    for key, value in tensors.items():
        if not key.startswith("opt."):
            continue
        idx, _, name = key[4:].partition(".")
        if not idx.isdigit() or int(idx) >= len(params) or not name:
            raise RunError(f"its optimizer tensor {_short(key)} names no parameter of this network")
        p = params[int(idx)]
        if not value.dtype.is_floating_point or not bool(torch.isfinite(value).all()):
            raise RunError(f"its optimizer tensor {key} is {value.dtype} or holds NaN / infinity")
        if name == "step":
            if value.numel() != 1:
                raise RunError(f"its optimizer step count {key} has shape {list(value.shape)}, expected one value")
        elif tuple(value.shape) != tuple(p.shape):
            raise RunError(f"its optimizer tensor {key} has shape {list(value.shape)}, but that parameter has "
                           f"{list(p.shape)}")
    scalars, groups = saved.get("scalars", {}), saved.get("param_groups", [])
    if not isinstance(scalars, dict) or not isinstance(groups, list):
        raise RunError("its saved optimizer scalars are malformed")
    for idx, entry in scalars.items():
        if not str(idx).isdigit() or int(idx) >= len(params) or not isinstance(entry, dict):
            raise RunError(f"its optimizer scalars name no parameter of this network ({_short(idx)})")
        for k, v in entry.items():
            _number(v, f"optimizer value {_short(k)}")
    for g in groups:
        if not isinstance(g, dict) or not isinstance(g.get("params", []), list):
            raise RunError("its saved optimizer parameter groups are malformed")
        if "lr" in g:
            _number(g["lr"], "learning rate")
            if not (math.isfinite(g["lr"]) and g["lr"] >= 0):
                raise RunError(f"its saved learning rate is {_short(g['lr'])}")


def check_scheduler(saved: Any, scheduler) -> None:
    """Same keys, and each value of the same kind as a freshly built scheduler's."""
    if saved is None or scheduler is None:
        return
    fresh = scheduler.state_dict()
    if not isinstance(saved, dict) or set(saved) - set(fresh):
        raise RunError("its saved learning-rate schedule does not fit this run's schedule")
    for key, value in saved.items():
        if not _same_kind(value, fresh[key]):
            raise RunError(f"its saved schedule value {_short(key)} is {_short(value)}, expected something like "
                           f"{_short(fresh[key])}")


def _same_kind(value: Any, ref: Any) -> bool:
    if isinstance(ref, bool) or ref is None:
        return value is None or isinstance(value, bool) or (ref is None and isinstance(value, (int, float)))
    if isinstance(ref, (int, float)):
        return (not isinstance(value, bool) and isinstance(value, (int, float))
                and (not isinstance(value, float) or not math.isnan(value) or math.isnan(ref)))
    if isinstance(ref, str):
        return isinstance(value, str) and len(value) < 100
    if isinstance(ref, (list, tuple)):
        return (isinstance(value, list) and len(value) == len(ref)
                and all(_same_kind(v, r) for v, r in zip(value, ref)))
    if isinstance(ref, dict):
        return isinstance(value, dict) and set(value) <= set(ref) and all(_same_kind(v, ref[k]) for k, v in value.items())
    return False


def check_state(tensors: dict, state: Any, *, optimizer, scheduler, generator, device, epochs: int,
                steps_per_epoch: int, world: int = 1) -> None:
    """RunError naming the first field of the saved state that does not fit."""
    if not isinstance(state, dict):
        raise RunError("its saved training state is not an object")
    check_trainer(state.get("trainer", {}), epochs, steps_per_epoch, world)
    check_rng(tensors, generator, device)
    check_optimizer(tensors, state.get("optimizer", {}), optimizer)
    check_scheduler(state.get("scheduler"), scheduler)


def restore(src, s, generator: torch.Generator, epochs: int, world: int = 1) -> tuple[dict, dict]:
    """Load run folder `src`'s last weights, optimizer and schedule into the built set-up `s`
    (core.train.setup.build) once every saved field is checked. One process also gets its random
    generators back (torch's and `generator`); a DDP rank sets its own from the returned tensors.
    Returns (the saved trainer counters, the state tensors)."""
    from .epochs import is_plateau
    from .optim import fast_forward
    from .runs import restore_optimizer
    from .setup import set_rng_state

    src.load_weights(s.compiled, "last")
    tensors, state = src.load_state()
    check_state(tensors, state, optimizer=s.optimizer, scheduler=s.scheduler, generator=generator,
                device=s.device, epochs=epochs, steps_per_epoch=s.steps_per_epoch, world=world)
    t = state.get("trainer", {})
    plateau = not s.per_step and is_plateau(s.scheduler)
    restore_optimizer(s.optimizer, tensors, state.get("optimizer", {}), keep_lr=plateau)
    if world == 1:
        set_rng_state(tensors, s.device, generator)
    if plateau and state.get("scheduler"):
        s.scheduler.load_state_dict(state["scheduler"])
    else:
        fast_forward(s.scheduler, int(t.get("global_step", 0)) if s.per_step else int(t.get("epoch", 0)))
    return t, tensors


def load_best(src, compiled) -> dict | None:
    """A copy of the run's best weights (None without best.safetensors); the module keeps its own."""
    if not src.file("best.safetensors").is_file():
        return None
    module = compiled.module
    current = {k: v.clone() for k, v in module.state_dict().items()}
    src.load_weights(compiled, "best")
    best = {k: v.detach().clone() for k, v in module.state_dict().items()}
    module.load_state_dict(current)
    return best
