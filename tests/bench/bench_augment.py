"""augmentation_overhead: the digits CNN's step time with the default image augmentation
(specs.DEFAULT_IMAGE_AUGMENT: rotation, zoom, brightness, contrast; per sample, on the device)
over the same run without, in %, measured in this one process. Target ≤ 15.

Whole trainer runs, paired back to back in alternating order so that load changes hit both alike;
the figure is the median of the per-pair ratios (CPU time of the training thread when the trainer
picks one thread, else wall time, as in bench_train)."""
from __future__ import annotations

import statistics
import time

import torch

from . import bench_train
from .common import figure

TARGET = 15.0


def run(repeats: int = 7) -> list[dict]:
    from layerlab.core.analysis import analyze
    from layerlab.core.data import load
    from layerlab.core.specs import DEFAULT_IMAGE_AUGMENT
    from layerlab.core.train.setup import choose_threads, macs_per_sample, num_threads

    project = bench_train._projects()["cnn"]
    project.training.epochs = 3
    ds = load(project.data)
    threads = choose_threads(torch.device("cpu"), macs_per_sample(analyze(project.graph)) * bench_train.BATCH)
    bench_train.CLOCK["fn"] = time.thread_time if threads == 1 else time.perf_counter
    settings = {"off": {}, "on": dict(DEFAULT_IMAGE_AUGMENT)}
    rates: dict[str, list[float]] = {"off": [], "on": []}

    def rate(kind: str) -> float:
        project.training.augment = settings[kind]
        return bench_train.trainer_rate(project, ds)
    with num_threads(threads):
        rate("on"), rate("off")                                   # warm-up
        for r in range(repeats):
            for kind in (("off", "on") if r % 2 == 0 else ("on", "off")):
                rates[kind].append(rate(kind))
    # step time ratio = samples/s without over samples/s with
    overhead = 100 * (statistics.median(a / b for a, b in zip(rates["off"], rates["on"])) - 1)
    how = "CPU time of the training thread" if threads == 1 else "wall time"
    return [figure("augmentation_overhead", overhead, "%", TARGET, overhead / TARGET,
                   note=f"digits CNN, {len(ds.x_train):,} train samples x {project.training.epochs} epochs, batch "
                        f"{bench_train.BATCH}, {threads} thread(s), {how}; augmentation {DEFAULT_IMAGE_AUGMENT}; "
                        f"median {statistics.median(rates['on']):.0f} vs {statistics.median(rates['off']):.0f} "
                        f"samples/s, median of {repeats} back-to-back pairs; reference: the 15% target")]


if __name__ == "__main__":
    import json
    for fig in run():
        print(json.dumps(fig))
