"""Data-parallel training: `layerlab train PROJECT --nproc N` runs N worker processes under
torchrun, each holding a replica wrapped in DistributedDataParallel (gloo on CPU, nccl on CUDA).

    launch.py   starting torchrun, and passing on the workers' one-line messages
    shard.py    per-epoch shards of the training set, all-reduced sums, sharded evaluation
    fit.py      the epoch loop for one process or one rank
    worker.py   one rank: project, data, set-up, training, rank 0's run folder
    ending.py   leaving the process group and the process without an abort at exit
"""
from __future__ import annotations

from .launch import launch, launch_command, run_torchrun, worker_args
from .shard import all_reduce_sum, evaluate_sharded, shard_indices

__all__ = ["all_reduce_sum", "evaluate_sharded", "launch", "launch_command", "run_torchrun", "shard_indices",
           "worker_args"]
