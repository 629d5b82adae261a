"""One rank of `layerlab train PROJECT --nproc N` (started by torchrun, see launch.py):
`python -m layerlab.core.distributed PROJECT [--epochs N] ...`.

Each worker sets the run up as the trainer does (core.train.setup.build, loss at init measured),
trains its shard, and
rank 0 alone writes the run folder. Ending: every rank waits at a barrier, the DDP wrapper is
released, the process group destroyed, output flushed, and the process leaves with os._exit (see
`__main__.py` for why). A rank that fails prints one line naming itself and the cause and leaves
at once; torchrun then ends the others.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.distributed as dist

from ..train.runs import RunError
from .ending import end_group, peer_gone
from .fit import fit


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m layerlab.core.distributed",
                                description="One DDP worker of `layerlab train --nproc N` (start it with torchrun).")
    p.add_argument("project")
    for flag, kind in (("epochs", int), ("device", str), ("seed", int), ("batch-size", int), ("lr", float)):
        p.add_argument(f"--{flag}", type=kind, help="override the project's training setting")
    p.add_argument("--class-weights", help="override training.class_weights (none, balanced, W1,W2,...)")
    p.add_argument("--sampler", help="override training.sampler (none, balanced)")
    p.add_argument("--sync-bn", action="store_true", help="BatchNorm statistics over the global batch "
                                                         "(training.sync_batchnorm)")
    p.add_argument("--out", help="run folder (default: runs/<time>-<name> beside the project)")
    p.add_argument("--resume", metavar="RUN", help="continue this run folder from its last checkpoint "
                                                  "(with the number of processes it was trained with)")
    p.add_argument("--dump-weights", help="folder where every rank writes rank<R>.safetensors")
    p.add_argument("--json", action="store_true", help="rank 0 prints the result as JSON")
    p.add_argument("--quiet", action="store_true")
    return p


class Worker:
    """One rank of `layerlab train --nproc N`: LayerLab's project, data, preflight and set-up
    (core.train.setup.build), `fit`, and (rank 0) the run folder."""

    def __init__(self, opts: argparse.Namespace):
        self.opts = opts
        self.rank = int(os.environ.get("RANK", "0"))
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))

    def say(self, text: str, error: bool = False) -> None:
        if self.rank == 0 and (error or not (self.opts.quiet or self.opts.json)):
            print(text, file=sys.stderr if error else sys.stdout, flush=True)

    def refuse(self, message: str, fix: str = "") -> int:
        self.say(f"layerlab train: {message}" + (f": {fix}" if fix else ""), error=True)
        return 2

    def setup(self) -> int:
        from ..data import load
        from ..project import ProjectError, load_project
        from ..train.checks import before_training
        from ..train.imbalance import apply_flags

        o = self.opts
        try:
            self.project = load_project(o.project)
        except ProjectError as e:
            return self.refuse(str(e))
        spec = self.project.training
        for name in [n for n in ("epochs", "device", "seed", "batch_size", "lr") if getattr(o, n) is not None]:
            setattr(spec, name, getattr(o, name))
        spec.sync_batchnorm = spec.sync_batchnorm or o.sync_bn
        try:
            apply_flags(spec, o.class_weights, o.sampler)
        except ValueError as e:
            return self.refuse(str(e))
        cuda = spec.device == "cuda" or (spec.device == "auto" and torch.cuda.is_available())
        if cuda:                      # "cuda" is then this rank's GPU
            torch.cuda.set_device(self.local_rank)
        spec.device = "cuda" if cuda else "cpu"   # DDP runs on CPU (gloo) or CUDA (nccl); mps has no backend
        self.backend = "nccl" if cuda else "gloo"
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group(self.backend, timeout=timedelta(minutes=10))
        # relative paths in the project (data, start weights) start at its folder, as in the trainer
        self.base_dir = Path(o.project).resolve().parent
        try:
            self.dataset = load(self.project.data, self.base_dir)
        except ValueError as e:
            return self.refuse(f"the data could not be loaded: {e}")
        errors = [p for p in before_training(self.project, self.dataset, self.base_dir) if p.severity == "error"]
        if errors:
            return self.refuse(errors[0].message, errors[0].fix)
        return 0

    def run(self) -> int:
        from ..train.init_loss import measure
        from ..train.setup import build

        spec, rank, world = self.project.training, self.rank, self.world
        s = build(self.project, self.dataset, self.base_dir)   # seed, compile, init, loss, optimizer, schedule
        init = measure(s, self.dataset, spec)          # every rank holds the same fresh weights
        # one process: the trainer's own choice (setup.choose_threads); N: the cores shared out
        threads = s.threads if world == 1 else (int(os.environ.get("LAYERLAB_THREADS", "0"))
                                                or max(1, (os.cpu_count() or 1) // world))
        torch.set_num_threads(threads)
        per_rank = max(1, math.ceil(spec.batch_size / world)) if world > 1 else spec.batch_size
        s.config["distributed"] = {"world_size": world, "backend": self.backend, "per_rank_batch": per_rank,
                                   "global_batch": per_rank * world, "threads_per_rank": threads,
                                   "sharding": "per-epoch shared permutation, padded, rank::world",
                                   "sync_batchnorm": bool(spec.sync_batchnorm) and world > 1}
        s.config["resolved"]["compile"] = {"setting": spec.compile, "used": False,
                                           "decision": "eager: DDP ranks run eager steps"}
        counters, resume = {}, None
        if self.opts.resume:
            try:
                counters, resume = self._restore(s)
            except (RunError, ValueError) as e:
                return self.refuse(f"cannot resume from {self.opts.resume}: {e}",
                                   getattr(e, "fix", "start a new run instead"))
        done = int(counters["epoch"]) if resume else None
        folder = self._open_folder(s, init, per_rank, done) if rank == 0 else None

        def on_epoch(row, best_state):
            if folder is None:
                return
            folder.append_metrics(row)
            if best_state is not None:
                folder.save_state_dict(s.compiled, best_state, "best", {"epoch": str(row["epoch"])})
            shown = "  ".join(f"{m} {row[m]:.4g}" for m in ("train_loss", "val_loss", *s.metric_names))
            self.say(f"epoch {row['epoch']}/{spec.epochs}  {shown}  lr {row['lr']:.3g}  {row['seconds']:.2f}s")

        def checkpoint(epoch, counters, rng):
            if folder is not None:
                folder.save_weights(s.compiled, "last", {"epoch": str(epoch)})
                folder.save_state(s.optimizer, s.scheduler, counters, rng)

        out = fit(s.compiled.module, s, spec, self.dataset.task, int(self.dataset.num_classes or 0), rank, world,
                  on_epoch, checkpoint, resume)
        if self.opts.dump_weights:
            from ..weights import save_weights
            Path(self.opts.dump_weights).mkdir(parents=True, exist_ok=True)
            save_weights(s.compiled.module, s.compiled.node_of_module,
                         Path(self.opts.dump_weights) / f"rank{rank}.safetensors")
        if folder is not None:
            self._close_folder(folder, s, init, out)
        return 0 if out["status"] == "finished" else 1

    def _restore(self, s) -> tuple[dict, Callable]:
        """Every rank reads the run folder's last checkpoint into its set-up (a shared folder, as
        torchrun --standalone has). Returns the saved counters and `fit`'s resume hook, which puts
        back this rank's generators, the step count and the best-epoch record."""
        from ..train.resume_state import load_best, restore
        from ..train.runs import RunFolder

        src = RunFolder(self.opts.resume)
        counters, tensors = restore(src, s, torch.Generator(), self.project.training.epochs, self.world)
        best_state = load_best(src, s.compiled)

        def resume(loop, hooks) -> int:
            set_rng_states(tensors, self.rank, self.world, loop, hooks.shuffle)
            loop.global_step = int(counters.get("global_step", 0))
            b = hooks.best
            b.value, b.epoch, b.bad = counters.get("best_value"), int(counters.get("best_epoch", 0)), \
                int(counters.get("bad_epochs", 0))
            b.state = best_state
            return int(counters.get("epoch", 0)) + 1
        return counters, resume

    def _open_folder(self, s, init, per_rank: int, resumed_at: int | None = None):
        """Rank 0's run folder, as the trainer lays it out; a resumed run keeps its folder and its
        metrics up to the checkpoint's epoch."""
        from ..train.init_loss import record
        from ..train.runs import RunFolder, new_run_dir

        o = self.opts
        out = (Path(o.resume) if o.resume else Path(o.out) if o.out else
               new_run_dir(Path(o.project).resolve().parent / "runs", self.project.name))
        folder = RunFolder(out).create()
        s.config["resumed_from"] = str(o.resume) if o.resume else None
        s.config["start_epoch"] = (resumed_at or 0) + 1
        folder.write_project(self.project)
        folder.write_json("config.json", s.config)
        folder.write_json("preprocessing.json", self.dataset.preprocessor.to_dict())
        folder.open_metrics(["epoch", "train_loss", "val_loss", *s.metric_names, "lr", "seconds"], keep_until=resumed_at)
        self.say(f"{self.project.name}: {self.world} DDP worker(s) ({self.backend}), {len(s.data['x_train']):,} "
                 f"training samples, batch {per_rank}×{self.world}, {record(folder, self.project.training.loss, init)}, "
                 f"run folder {out}")
        return folder

    def _close_folder(self, folder, s, init, out: dict) -> None:
        """Rank 0: last (and, with no best epoch, best) weights, result.json with the trainer's
        end-of-run fields (end_report.py), the closing line."""
        from ..train.end_report import end_report
        from ..train.events import RunResult
        from ..train.runs import _finite

        extra = {}
        if out["status"] == "finished":           # "last" is the final checkpoint's (fit saved it)
            if out["best_state"] is None:
                folder.save_weights(s.compiled, "best", {"epoch": str(out["epochs_run"])})
            # the trainer's end-of-run fields, over the whole splits with the final weights (rank 0 alone)
            extra = end_report(self.project, self.dataset, s, out["confusions"])
        result = RunResult(run_dir=str(folder.path), **{k: init[k] for k in RunResult.INIT_KEYS},
                           **{k: v for k, v in out.items() if k not in ("history", "best_state", "confusions")},
                           **extra)
        folder.write_json("result.json", result.to_dict())
        folder.close()
        if self.opts.json:
            print(json.dumps(_finite({"event": result.status, **result.to_dict()})), flush=True)
        elif out["status"] == "finished":
            test = "  ".join(f"{k} {v:.4g}" for k, v in out["test_metrics"].items())
            best = "" if out["best_value"] is None else f" ({s.monitor} {out['best_value']:.4g})"
            self.say(f"finished: best epoch {out['best_epoch']}{best}, {out['samples_per_s']:,.0f} samples/s "
                     f"over {self.world} worker(s); test: {test}")
        else:
            self.say(f"layerlab train: {out['message']}: {out['fix']}", error=True)


def set_rng_states(tensors: dict, rank: int, world: int, loop: LoopState, shuffle) -> None:
    """This rank's generators as `rng_states` saved them."""
    from ..train.setup import set_rng_state
    if world == 1:                               # the trainer's layout: the loop's generator is "shuffle"
        set_rng_state(tensors, loop.device, loop.generator)
        return
    keys = ("rng.shuffle", f"rng.torch.{rank}", f"rng.local.{rank}")
    if any(k not in tensors for k in keys):
        raise RunError(f"its random-generator state for rank {rank} is missing")
    shuffle.set_state(tensors[keys[0]])
    torch.set_rng_state(tensors[keys[1]])
    loop.generator.set_state(tensors[keys[2]])



def main(argv: Sequence[str] | None = None) -> int:
    worker = Worker(_parser().parse_args(argv))
    try:
        code = worker.setup() or worker.run()
    except KeyboardInterrupt:
        return 130
    except Exception as e:     # noqa: BLE001 - one line per failed rank, then leave (no barrier: peers may be gone)
        if not peer_gone(e):
            cause = f"{type(e).__name__}: {e}".splitlines()[0]
            print(f"layerlab train: worker rank {worker.rank} failed: {cause}", file=sys.stderr, flush=True)
        return 1
    end_group()
    return code
