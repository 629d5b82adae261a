"""Everything a run resolves before its first step: device, threads, seed, model, init, data on the
device, loss, optimizer, schedule, regularizer, mixed precision, and the resolved config."""
from __future__ import annotations

import math
import os
import platform
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from ..compiler import compile_graph, walk_layers
from ..specs import spec_to_dict
from .augment import build_augmenter
from .epochs import VALIDATION_BUDGET, counts_epochs, validation_every
from .fused_step import applies as fused_step_applies
from .imbalance import loss_weights, sampler_cdf
from .init import initialize
from .losses import build_loss
from .metrics import metric_names, predictor
from . import freeze
from .optim import MAXIMIZED, build_optimizer, build_scheduler
from .regularize import Regularizer

SMALL_WORK = 4e6    # multiply-adds per batch below which one CPU thread trains fastest
# (set LAYERLAB_THREADS to override the choice)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


def macs_per_sample(analysis) -> float:
    """Rough multiply-adds of one forward pass: each layer's parameters × its output positions."""
    total = 0.0
    for nid, count in analysis.param_counts.items():
        shape = analysis.shapes.get(nid)
        if shape is None or not count:
            continue
        dims = shape.shape
        positions = math.prod(dims) / (dims[0] if len(dims) == 3 else dims[-1]) if dims else 1
        total += count * positions
    return total


def eval_batch(analysis, batch_size: int, budget: int = 1 << 19) -> int:
    """Samples per evaluation chunk: as many as keep the widest activation within ~512 KB (cache
    sized; one 270-image chunk of the digits CNN ran 40% slower than five of 64), at least the
    training batch, at most 4096."""
    widest = max((math.prod(t.shape) for t in analysis.shapes.values()), default=1) * 4
    return int(min(4096, max(batch_size, budget // max(widest, 1))))


def choose_threads(device: torch.device, work_per_batch: float) -> int:
    env = os.environ.get("LAYERLAB_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    current = torch.get_num_threads()
    if device.type != "cpu":
        return current
    if work_per_batch < SMALL_WORK:
        return 1
    # leave a core free: for the GUI, and because OpenMP threads that find their cores busy spin and
    # slow training several-fold (measured here: 2 threads on 2 busy cores ran the digits CNN 8× slower)
    return max(1, min(current, (os.cpu_count() or 2) - 1))


@contextmanager
def num_threads(n: int):
    old = torch.get_num_threads()
    if n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def versions() -> dict[str, str]:
    try:
        from importlib.metadata import version
        layerlab = version("layerlab")
    except Exception:   # noqa: BLE001 - not installed (source tree)
        layerlab = "unknown"
    import numpy
    return {"layerlab": layerlab, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": sys.version.split()[0], "platform": platform.platform()}


@dataclass
class Setup:
    device: torch.device
    compiled: Any
    loss_fn: Any
    optimizer: Any
    scheduler: Any
    per_step: bool
    regularizer: Regularizer
    autocast: Any
    scaler: Any
    data: dict[str, torch.Tensor]
    predict: Any
    transform: Any
    eval_batch: int
    memory_format: Any
    steps_per_epoch: int
    threads: int
    monitor: str
    maximize: bool
    metric_names: list[str]
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sample_cdf: Any = None          # the balanced sampler's cdf over training samples (imbalance.py)
    augment: Any = None             # training.augment's Augmenter, or None when off (augment.py)
    validate_every: int = 1         # validate epoch 1, every k-th and the last (epochs.validation_every)


def _memory_format(compiled, device: torch.device, spec) -> torch.memory_format:
    """channels_last for a 2-D convolutional network on CPU (or CUDA with mixed precision), the
    module converted to it; otherwise contiguous."""
    # oneDNN (CPU) and tensor cores (CUDA, mixed precision) run 2-D convolutions fastest on NHWC:
    # measured +34% on the digits CNN on one CPU thread. Weights on disk stay plain contiguous.
    fmt = torch.contiguous_format
    if (len(compiled.input_type.shape) == 3 and any(isinstance(m, torch.nn.Conv2d) for m in compiled.module.modules())
            and (device.type == "cpu" or (device.type == "cuda" and spec.mixed_precision))):
        fmt = torch.channels_last
        compiled.module.to(memory_format=fmt)
    return fmt


def _data_on_device(dataset, compiled, device: torch.device, fmt) -> dict[str, torch.Tensor]:
    """x_/y_ train, val and test on the device, contiguous (images in `fmt`); regression targets
    shaped like the network's output, as float."""
    data = {}
    for split in ("train", "val", "test"):
        x, y = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
        if dataset.task == "regression":
            y = y.reshape(y.shape[0], *compiled.output_type.shape).float()
        x = x.to(device)
        data[f"x_{split}"] = x.contiguous(memory_format=fmt) if x.dim() == 4 else x.contiguous()
        data[f"y_{split}"] = y.to(device).contiguous()
    return data


def _mixed_precision(spec, device: torch.device, notes: list[str]):
    """(autocast factory or None, GradScaler or None, description): bfloat16 where the GPU has it,
    float16 with a scaler otherwise; off (with a note) away from CUDA."""
    autocast = scaler = None
    amp = "off"
    if spec.mixed_precision:
        if device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            autocast = partial(torch.autocast, device_type="cuda", dtype=dtype)
            if dtype == torch.float16:
                scaler = torch.amp.GradScaler("cuda")
            amp = str(dtype).replace("torch.", "")
        else:
            amp = f"off (mixed precision is CUDA-only; this run is on {device.type})"
            notes.append(f"mixed precision is off: it needs a CUDA GPU and this run is on {device.type}")
    return autocast, scaler, amp


def _optimizer(spec, module, device: torch.device):
    """(optimizer, fused): the fused implementation on CPU and CUDA where the optimizer has one."""
    fused = True if device.type in ("cpu", "cuda") else None
    try:
        optimizer = build_optimizer(spec, module, fused=fused)
    except (RuntimeError, ValueError, TypeError):
        fused = None
        optimizer = build_optimizer(spec, module)
    return optimizer, fused


def _dataset_summary(project, dataset, data) -> dict[str, Any]:
    """The config's "dataset" entry: name, task, classes, input, split sizes and the loader's notes."""
    return {"name": getattr(dataset, "name", project.data.dataset), "task": dataset.task,
            "num_classes": int(dataset.num_classes or 0), "input_shape": list(dataset.input_shape),
            "input_dtype": dataset.input_dtype, "train": int(data["x_train"].shape[0]),
            "val": int(data["x_val"].shape[0]), "test": int(data["x_test"].shape[0]),
            "notes": list(getattr(dataset, "notes", []) or [])}


def _run_config(project, resolved: dict[str, Any], dataset: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """The run's resolved config (config.json): the specs, what was resolved, the data, versions."""
    spec = project.training
    return {
        "project": project.name,
        "training": spec_to_dict(spec),
        "data": spec_to_dict(project.data),
        "seed": spec.seed,
        "resolved": resolved,
        "dataset": dataset,
        "versions": versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "notes": notes,
    }


def build(project, dataset, base_dir=None) -> Setup:
    spec = project.training
    device = resolve_device(spec.device)
    notes: list[str] = []
    torch.manual_seed(spec.seed)
    compiled = compile_graph(project.graph)
    used = initialize(compiled, project.graph, spec)
    paths = {ref.qid: ref.path for ref in walk_layers(compiled)}
    started = freeze.load_start_weights(compiled, spec, base_dir)   # transfer learning: see freeze.py
    frozen = freeze.apply_freeze(compiled, spec)
    compiled.module.to(device)
    out_width = compiled.output_type.shape[-1] if compiled.output_type.shape else 1
    fmt = _memory_format(compiled, device, spec)
    data = _data_on_device(dataset, compiled, device, fmt)
    autocast, scaler, amp = _mixed_precision(spec, device, notes)
    optimizer, fused = _optimizer(spec, compiled.module, device)
    n_train = int(data["x_train"].shape[0])
    steps = max(1, math.ceil(n_train / spec.batch_size))
    freeze.apply_lr_multipliers(optimizer, compiled, spec)
    scheduler, per_step = build_scheduler(spec, optimizer, steps)
    reg = Regularizer(spec, compiled.module, optimizer, scaler)
    work = macs_per_sample(compiled.analysis) * min(spec.batch_size, max(n_train, 1))
    threads = choose_threads(device, work)
    n_val = int(data["x_val"].shape[0])
    monitor = spec.monitor if n_val > 0 else "train_loss"
    every_epoch = counts_epochs(spec)
    validate_every = validation_every(steps, n_train, n_val, spec.batch_size, every_epoch, spec.epochs)
    resolved = {
        "device": str(device), "threads": threads, "mixed_precision": amp,
        "memory_format": "channels_last" if fmt == torch.channels_last else "contiguous",
        "optimizer": type(optimizer).__name__, "fused_optimizer": bool(fused),
        "compile": {"setting": spec.compile, "used": False, "decision": "eager: decided per run by the trainer"},
        "optimizer_step": ("torch's fused kernel, called directly (fused_step.FusedStep)"
                           if fused_step_applies(optimizer) else "optimizer.step()"),
        "zero_grad": "set_to_none, by the loop (p.grad = None)",
        "schedule_steps": "per batch" if per_step else ("per epoch" if scheduler is not None else "none"),
        "steps_per_epoch": steps, "monitor": monitor,
        "validation": _validation_note(validate_every, every_epoch, n_val),
        "monitor_mode": "max" if monitor in MAXIMIZED else "min",
        "init": {paths.get(nid, nid): s for nid, s in used.items()},       # "res1.conv_a" inside blocks
        "transfer": {"start_weights": started, "frozen": frozen},
        "weight_decay": ("decoupled (AdamW)" if spec.optimizer in ("adam", "adamw") else
                         "decoupled (w ← w·(1 − lr·wd) before each step)") if spec.weight_decay else "off",
        "l1_l2": "exact penalty gradients added after backward; losses shown exclude the penalty",
    }
    config = _run_config(project, resolved, _dataset_summary(project, dataset, data), notes)
    transform = torch.sigmoid if spec.loss == "bce_logits" and dataset.task == "regression" else None
    k = int(dataset.num_classes or 0) if dataset.task == "classification" else 0
    weight = loss_weights(spec, data["y_train"], k)
    if weight is not None:
        resolved["class_weights"] = [round(float(v), 6) for v in weight.tolist()]
    return Setup(device=device, compiled=compiled, loss_fn=build_loss(spec, out_width, dataset.num_classes, weight),
                 optimizer=optimizer, scheduler=scheduler, per_step=per_step, regularizer=reg, autocast=autocast,
                 scaler=scaler, data=data, predict=predictor(spec.loss, out_width), transform=transform,
                 eval_batch=eval_batch(compiled.analysis, spec.batch_size), memory_format=fmt,
                 steps_per_epoch=steps, threads=threads, monitor=monitor, maximize=monitor in MAXIMIZED,
                 metric_names=metric_names(dataset.task), config=config, notes=notes,
                 sample_cdf=sampler_cdf(spec, data["y_train"], k) if k else None,
                 augment=build_augmenter(spec.augment, data["x_train"]), validate_every=validate_every)


def _validation_note(every: int, every_epoch: bool, n_val: int) -> dict[str, Any]:
    """config.json's account of which epochs are validated (epochs.validation_every)."""
    if n_val == 0:
        rule = "no validation split"
    elif every == 1:
        rule = ("every epoch (early stopping or a plateau schedule counts epochs)" if every_epoch else
                "every epoch (within the budget, or a run of at most 20 epochs)")
    else:
        rule = (f"epochs 1-5, every {every} epochs and the last: validation, probes and per-epoch figures within "
                f"{VALIDATION_BUDGET:.0%} of the run; the epochs between have empty validation columns and the "
                "best checkpoint is the best validated epoch")
    return {"every": every, "budget": VALIDATION_BUDGET, "rule": rule}


def rng_state(device: torch.device, generator: torch.Generator) -> dict[str, torch.Tensor]:
    out = {"torch": torch.get_rng_state(), "shuffle": generator.get_state()}
    if device.type == "cuda":
        out["cuda"] = torch.cuda.get_rng_state(device)
    return out


def set_rng_state(tensors: dict[str, torch.Tensor], device: torch.device, generator: torch.Generator) -> None:
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    if "rng.shuffle" in tensors:
        generator.set_state(tensors["rng.shuffle"])
    if "rng.cuda" in tensors and device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng.cuda"], device)
