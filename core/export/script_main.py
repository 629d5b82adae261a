"""The body of the standalone training script (`layerlab export --format train-script`).

The export copies `main` and everything it reaches, verbatim, into the generated script
(core/export/_extract.py): LayerLab's own data loading, splitting and preprocessing
(core.data), set-up pieces (core.train: init, loss, optimizer, schedule, regularizer, metrics)
and the epoch loop every LayerLab run goes through (core.train.epochs and core.train.loop, with
the hooks of `layerlab train --nproc N`, core.distributed.fit). The script
leaves through `exit_process` (core/distributed/ending.py says why). The names
under "provided by the generated script" are placeholders here; the script defines them from
the project (its specs as literals, the network class, the data source).

Run plainly for one process, or under `torchrun --nproc_per_node N` for DistributedDataParallel
(gloo on CPU, nccl on CUDA); rank 0 writes the outputs: metrics.csv, best/last.safetensors (keyed
by LayerLab node id, so LayerLab can load them), preprocessing.json, result.json.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.distributed as dist

from ..data import _finish
from ..distributed.ending import end_group
from ..distributed.fit import fit
from ..train.augment import build_augmenter
from ..train.calibration import kind_of
from ..train.end_report import run_fields
from ..train.freeze import freeze_modules, place_start_weights, split_by_factor
from ..train.epochs import counts_epochs, validation_every
from ..train.imbalance import apply_flags, loss_weights, sampler_cdf
from ..train.init import init_module
from ..train.losses import build_loss
from ..train.metrics import class_report, metric_names, predictor
from ..train.optim import build_optimizer, build_scheduler
from ..train.regularize import Regularizer

# ---------------------------------------------------------------- provided by the generated script
PROJECT_NAME = ""
DATA: dict = {}            # the project's DataSpec
TRAINING: dict = {}        # the project's TrainSpec
DATA_PATHS: dict = {}      # data files, absolute at export time
INIT_PLAN: list = []       # (attribute or dotted path, scheme, activation that follows, leaky slope), LayerLab's init order
NODE_NAMES: dict = {}      # node id -> attribute
FROZEN: list = []          # module paths without gradients (training.frozen), BatchNorm kept in eval mode
START_WEIGHTS = ""         # training.start_weights as an absolute path at export time ("" = none)
LR_FACTORS: list = []      # (module path, LR factor) from training.lr_multipliers, a block before its layers
OUTPUT_SHAPE: tuple = ()
SMALL_MODEL = False        # one CPU thread trains it fastest


def load_raw(paths: dict):  # pragma: no cover - replaced in the script
    raise NotImplementedError


def make_model():  # pragma: no cover - replaced in the script
    raise NotImplementedError


PROVIDED = frozenset({"PROJECT_NAME", "DATA", "TRAINING", "DATA_PATHS", "INIT_PLAN", "NODE_NAMES", "OUTPUT_SHAPE",
                      "SMALL_MODEL", "FROZEN", "LR_FACTORS", "START_WEIGHTS", "load_raw", "make_model", "PROVIDED"})


# ---------------------------------------------------------------- the script
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=f"Train {PROJECT_NAME} (exported from LayerLab). Under "
                                            "`torchrun --nproc_per_node N` it trains with DistributedDataParallel.")
    p.add_argument("--epochs", type=int, help=f"epochs (default {TRAINING.get('epochs')})")
    p.add_argument("--batch-size", type=int, dest="batch_size",
                   help=f"batch size (default {TRAINING.get('batch_size')})")
    p.add_argument("--lr", type=float, help=f"learning rate (default {TRAINING.get('lr')})")
    p.add_argument("--seed", type=int, help=f"training seed (default {TRAINING.get('seed')})")
    p.add_argument("--device", help="auto, cpu or cuda (default: the project's)")
    p.add_argument("--class-weights", dest="class_weights",
                   help=f"none, balanced or W1,W2,... one per class (default {TRAINING.get('class_weights')})")
    p.add_argument("--sampler", choices=("none", "balanced"), help=f"default {TRAINING.get('sampler')}")
    p.add_argument("--data", help="the data file or folder (default: the one the project used)")
    p.add_argument("--out", default="run", help="output folder (default: ./run)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def pick_device(name: str, local_rank: int) -> torch.device:
    if name in ("auto", "cuda") and torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    if name == "mps" and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def build_setup(spec, dataset, device):
    """What LayerLab's trainer resolves before its first step (core.train.setup.build), in the
    same order, so a seeded run starts from the same weights."""
    torch.manual_seed(spec.seed)
    model = make_model()
    for attribute, scheme, activation, slope in INIT_PLAN:
        init_module(model.get_submodule(attribute), scheme, activation, slope, spec.init_constant)
    if START_WEIGHTS:                  # transfer learning: as LayerLab, after the init, before freezing
        place_start_weights(model, read_start_weights(START_WEIGHTS), NODE_NAMES, START_WEIGHTS)
    freeze_modules(model.get_submodule(path) for path in FROZEN)
    model.to(device)
    out_width = OUTPUT_SHAPE[-1] if OUTPUT_SHAPE else 1
    data = {}
    for split in ("train", "val", "test"):
        x, y = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
        if dataset.task == "regression":
            y = y.reshape(y.shape[0], *OUTPUT_SHAPE).float()
        data[f"x_{split}"] = x.to(device).contiguous()
        data[f"y_{split}"] = y.to(device).contiguous()
    autocast = scaler = None
    if spec.mixed_precision and device.type == "cuda":
        from functools import partial
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        autocast = partial(torch.autocast, device_type="cuda", dtype=dtype)
        scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    try:
        optimizer = build_optimizer(spec, model, fused=True if device.type in ("cpu", "cuda") else None)
    except (RuntimeError, ValueError, TypeError):
        optimizer = build_optimizer(spec, model)
    if LR_FACTORS:
        split_by_factor(optimizer, [(model.get_submodule(path), f) for path, f in LR_FACTORS])
    n_train, n_val = int(data["x_train"].shape[0]), int(data["x_val"].shape[0])
    steps = max(1, math.ceil(n_train / spec.batch_size))
    scheduler, per_step = build_scheduler(spec, optimizer, steps)
    has_val = n_val > 0
    k = int(dataset.num_classes or 0) if dataset.task == "classification" else 0
    weight = loss_weights(spec, data["y_train"], k)
    return model, SimpleNamespace(
        device=device, data=data, loss_fn=build_loss(spec, out_width, dataset.num_classes, weight), optimizer=optimizer,
        scheduler=scheduler, per_step=per_step, regularizer=Regularizer(spec, model, optimizer, scaler),
        autocast=autocast, scaler=scaler, predict=predictor(spec.loss, out_width),
        transform=torch.sigmoid if spec.loss == "bce_logits" and dataset.task == "regression" else None,
        monitor=spec.monitor if has_val else "train_loss", metric_names=metric_names(dataset.task),
        eval_batch=4096, memory_format=torch.contiguous_format,
        sample_cdf=sampler_cdf(spec, data["y_train"], k) if k else None,
        augment=build_augmenter(spec.augment, data["x_train"]),
        validate_every=validation_every(steps, n_train, n_val, spec.batch_size, counts_epochs(spec), spec.epochs))


def read_start_weights(path: str) -> dict:
    """The start-weights file's tensors, or ValueError in one line (missing, not a regular file,
    not safetensors). Only a regular file is opened: a FIFO would block the script."""
    from safetensors.torch import load_file

    if not Path(path).is_file():
        raise ValueError(f"start weights {path} cannot be read (not a regular file): put the file back there, "
                         "or export the script again")
    try:
        return load_file(path)
    except Exception as e:     # noqa: BLE001 - OSError, SafetensorError: one line either way
        raise ValueError(f"start weights {path} cannot be read ({type(e).__name__}): put the file back there, "
                         "or export the script again") from None


def save_weights_by_node(state: dict, path: Path, metadata: dict) -> None:
    """safetensors keyed by LayerLab node id (`n3.weight`), like LayerLab's run folders."""
    from safetensors.torch import save_file

    node_of = {attribute: node for node, attribute in NODE_NAMES.items()}
    tensors = {}
    for key, value in state.items():
        attribute, _, rest = key.partition(".")
        tensors[f"{node_of.get(attribute, attribute)}.{rest}"] = value.detach().cpu().contiguous()
    save_file(tensors, str(path), metadata={k: str(v) for k, v in metadata.items()} or None)


def clean_json(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: clean_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean_json(x) for x in v]
    return v


def training_spec(args):
    """The project's training settings with the command line's overrides (ValueError: a bad flag)."""
    spec = SimpleNamespace(**TRAINING)
    for name in ("epochs", "batch_size", "lr", "seed", "device"):
        if getattr(args, name) is not None:
            setattr(spec, name, getattr(args, name))
    apply_flags(spec, args.class_weights, args.sampler)
    return spec


def write_result(model, s, spec, dataset, result, out_dir, world, device) -> None:
    """Rank 0: last weights and result.json, with LayerLab's end-of-run fields (ECE, ROC / PR, perplexity)."""
    save_weights_by_node(model.state_dict(), out_dir / "last.safetensors", {"epoch": result["epochs_run"]})
    summary = {k: v for k, v in result.items() if k not in ("history", "best_state", "confusions")}
    if result["status"] == "finished":
        kind = kind_of(dataset.task, spec.loss, OUTPUT_SHAPE[-1] if OUTPUT_SHAPE else 1)
        summary.update(run_fields(model, s.data, kind, int(dataset.num_classes or 0) == 2,
                                  DATA.get("dataset") == "text" and len(OUTPUT_SHAPE) == 2, dataset.class_names,
                                  result["confusions"], s.eval_batch, s.autocast))
    else:
        summary["class_report"] = {k: class_report(v, dataset.class_names) for k, v in result["confusions"].items()}
    summary.update(world_size=world, device=str(device))
    (out_dir / "result.json").write_text(json.dumps(clean_json(summary), indent=2) + "\n")


def prepared(spec, dataset, device):
    """((model, setup), "") or (None, the one line that says why the run cannot start)."""
    k = int(dataset.num_classes or 0)
    if getattr(spec, "class_weights", "none") == "custom" and len(spec.custom_class_weights) != k:
        return None, (f"class weights: {len(spec.custom_class_weights)} given but the data has {k} classes: "
                      "give one weight per class, in class order")
    try:
        return build_setup(spec, dataset, device), ""
    except ValueError as e:
        return None, str(e)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        spec = training_spec(args)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = pick_device(spec.device, int(os.environ.get("LOCAL_RANK", "0")))
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    elif SMALL_MODEL and device.type == "cpu":
        torch.set_num_threads(1)
    say = print if rank == 0 and not args.quiet else (lambda *a, **k: None)
    paths = dict(DATA_PATHS)
    if args.data:
        paths["images" if DATA.get("dataset") == "idx" else "path"] = args.data
    data_spec = SimpleNamespace(**DATA)
    dataset = _finish(data_spec, load_raw(paths))
    built, refusal = prepared(spec, dataset, device)
    if built is None:
        if rank == 0:
            print(refusal, file=sys.stderr)
        return 2
    model, s = built
    out_dir = Path(args.out)
    columns = ["epoch", "train_loss", "val_loss", *s.metric_names, "lr", "seconds"]
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "preprocessing.json").write_text(json.dumps(dataset.preprocessor.to_dict()) + "\n")
        with open(out_dir / "metrics.csv", "w", newline="") as f:
            csv.writer(f).writerow(columns)
        say(f"{PROJECT_NAME}: {dataset.summary()}; {world} process(es) on {device}")

    def on_epoch(row, best_state):
        if rank != 0:
            return
        with open(out_dir / "metrics.csv", "a", newline="") as f:
            csv.writer(f).writerow([repr(row[c]) if isinstance(row[c], float) else row[c] for c in columns])
        if best_state is not None:
            save_weights_by_node(best_state, out_dir / "best.safetensors", {"epoch": row["epoch"]})
        shown = "  ".join(f"{m} {row[m]:.4g}" for m in ("train_loss", "val_loss", *s.metric_names))
        say(f"epoch {row['epoch']}/{spec.epochs}  {shown}  lr {row['lr']:.3g}  {row['seconds']:.2f}s")

    result = fit(model, s, spec, dataset.task, int(dataset.num_classes or 0), rank, world, on_epoch)
    if rank == 0:
        write_result(model, s, spec, dataset, result, out_dir, world, device)
        if result["status"] == "finished":
            test = "  ".join(f"{k} {v:.4g}" for k, v in result["test_metrics"].items())
            say(f"finished: best epoch {result['best_epoch']}; test: {test}; outputs in {out_dir}")
        else:
            print(f"failed: {result['message']}: {result['fix']}", file=sys.stderr)
    end_group()
    return 0 if result["status"] == "finished" else 1
