"""How a data-parallel process ends, cleanly or not (the worker and the exported train script).

A finished run used to exit 1 about one time in six: training done, metrics printed, then one rank
died with "terminate called without an active exception" (SIGABRT) and torchrun reported the run
as failed (issue 17). DistributedDataParallel sits in a reference cycle, so its reducer, which
holds the gloo process group, outlives `destroy_process_group` and the group's worker threads
("pt_gloo_runloop", "gloo_tcp_loop") keep running until interpreter finalization tears them and
the tensors they hold down in no fixed order. So: barrier, free the cycle while the group exists,
destroy it, flush, and leave with os._exit, leaving finalization nothing to tear down.
"""
from __future__ import annotations

import gc
import os
import sys

import torch.distributed as dist


def end_group() -> None:
    """All ranks past their last collective, DDP's reducer freed, then the group destroyed."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    dist.barrier()
    gc.collect()
    dist.destroy_process_group()


def peer_gone(error: BaseException) -> bool:
    """A collective broken because another rank left: that rank reports its own cause."""
    text = str(error)
    return isinstance(error, RuntimeError) and any(s in text for s in (
        "Connection reset by peer", "Connection closed by peer", "remote worker"))


def exit_process(code: int) -> None:
    """Leave now with `code`, after flushing what was printed: files are closed by then."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
