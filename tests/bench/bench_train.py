"""Training throughput, each figure a ratio measured in this one process.

- train_<model>_vs_handtuned: LayerLab's trainer against a hand-tuned loop (pre-shuffled tensors,
  direct slicing, same model, same init, Adam, batch 64). Target ≥ 0.95.
- train_<model>_vs_idiomatic: against the idiomatic loop (TensorDataset + DataLoader(shuffle=True)).
  Targets ≥ 1.5 (spiral MLP, where per-step overhead dominates) and ≥ 1.2 (digits CNN).
- bookkeeping_share: the share of the trainer's epoch loop (run_epochs) spent outside training
  steps and checkpoint writes (validation, probes, per-epoch figures, rows, events), in %, on the digits MLP
  (batch 200) and the spiral template: 7 steps an epoch, where bookkeeping weighs most. Measured
  inside the run, CPU time of the training thread. Target ≤ 5.
- train_scaling_spiral_1m_vs_10k: the trainer's throughput on the spiral MLP at 1M samples over its
  throughput at 10k (both runs validate every epoch: 1 epoch of 700k train samples, 20 of 7k), so
  a per-sample cost that grows with the data set shows. Target ≥ 0.9.
- train_deep_chain_vs_hand_loop: a 200-layer chain (Dense 32 + ReLU, 200 times, then Dense 3) on
  the spiral, LayerLab's trainer (its epoch loop, validation and per-layer figures included) against
  a plain PyTorch loop over an nn.Sequential of the same layers and initial weights with fused Adam
  (what LayerLab resolves on CPU), so per-node overhead of the graph and the loop shows. Target ≥ 0.95.
- probe_overhead: time spent taking the default probes (probe_every = 1) over the rest of the run, in %
  (measured inside the run: the difference of two whole runs is smaller than this machine's noise).
  Target ≤ 5.

The trainer's time is its whole epoch loop (RunStarted to Finished: validation every epoch, metrics,
checkpoints, events, probes when on), against loops that only train. Every loop runs with the
thread count the trainer picks, so the ratio is the loop's doing, not threading. Each figure is
the median over repeats, interleaved so that load changes hit all loops alike.
"""
from __future__ import annotations

import statistics
import time

# With one thread all the work runs in the calling thread, so its CPU clock measures the loops
# alone, unaffected by other processes on a busy machine; with more threads, wall time.
CLOCK = {"fn": time.perf_counter}


def clock() -> float:
    return CLOCK["fn"]()

import torch
import torch.nn.functional as F

from .common import figure

BATCH = 64


def _projects():
    from layerlab.core.project import load_project
    from layerlab.core.resources import template_path

    spiral = load_project(template_path("mlp"))
    spiral.data.options = {"n_samples": 4000}
    cnn = load_project(template_path("digits_cnn"))
    for p, epochs in ((spiral, 25), (cnn, 6)):
        t = p.training
        t.epochs, t.batch_size, t.schedule, t.optimizer, t.weight_decay = epochs, BATCH, "constant", "adam", 0.0
        t.probe_every = 0
    return {"spiral": spiral, "cnn": cnn}


def _model(project):
    from layerlab.core.compiler import compile_graph
    from layerlab.core.train.init import initialize

    torch.manual_seed(0)
    c = compile_graph(project.graph)
    initialize(c, project.graph, project.training)
    return c.module


PROBE_TIME = {"s": 0.0}


def _count_probe_time():
    """Accumulate the clock spent inside probe snapshots (they run in the training thread)."""
    from layerlab.core.train import hooks
    if getattr(hooks.Probes._snapshot, "_counted", False):
        return
    original = hooks.Probes._snapshot

    def counted(self, *a, **k):
        t0 = clock()
        try:
            return original(self, *a, **k)
        finally:
            PROBE_TIME["s"] += clock() - t0
    counted._counted = True
    hooks.Probes._snapshot = counted


def trainer_rate(project, ds, probe_every: int = 0, share: list | None = None) -> float:
    from layerlab.core.train import Trainer
    from layerlab.core.train.events import Finished, RunStarted

    project.training.probe_every = probe_every
    marks = {}
    PROBE_TIME["s"] = 0.0

    def on_event(e):
        if isinstance(e, (RunStarted, Finished)):
            marks[type(e).__name__] = clock()
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        Trainer(project, ds, run_dir=tmp).fit(on_event)
    total = marks["Finished"] - marks["RunStarted"]
    if share is not None:
        share.append(100 * PROBE_TIME["s"] / max(total - PROBE_TIME["s"], 1e-9))
    return project.training.epochs * len(ds.x_train) / total


def _hand_loop_rate(model, opt, project, ds) -> float:
    """Samples/s of a plain PyTorch loop: pre-shuffled slicing, cross-entropy, the given optimizer."""
    x, y, n = ds.x_train, ds.y_train, len(ds.x_train)
    model.train()
    t0 = clock()
    for _ in range(project.training.epochs):
        perm = torch.randperm(n)
        xs, ys = x[perm], y[perm]
        for i in range(0, n, BATCH):
            loss = F.cross_entropy(model(xs[i:i + BATCH]), ys[i:i + BATCH])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return project.training.epochs * n / (clock() - t0)


def handtuned_rate(project, ds) -> float:
    model = _model(project)
    opt = torch.optim.Adam(model.parameters(), lr=project.training.lr)
    return _hand_loop_rate(model, opt, project, ds)


def idiomatic_rate(project, ds) -> float:
    from torch.utils.data import DataLoader, TensorDataset

    model = _model(project)
    opt = torch.optim.Adam(model.parameters(), lr=project.training.lr)
    loader = DataLoader(TensorDataset(ds.x_train, ds.y_train), batch_size=BATCH, shuffle=True)
    model.train()
    t0 = clock()
    for _ in range(project.training.epochs):
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return project.training.epochs * len(ds.x_train) / (clock() - t0)


def bookkeeping_share(project, ds) -> tuple[float, float, float]:
    """(% of run_epochs outside hooks.train and checkpoint writes, % in checkpoint writes, % of the
    run after the last epoch) of one Trainer.fit."""
    from layerlab.core.train import Trainer, trainer as trainer_module
    from layerlab.core.train.events import Finished, RunStarted

    spent = {"train": 0.0, "epochs": 0.0, "flush": 0.0}
    marks = {}

    def timed(fn, key):
        def call(*a, **k):
            t0 = time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.thread_time() - t0
                marks["epochs_done"] = time.thread_time()
        return call

    def on_event(e):
        if isinstance(e, (RunStarted, Finished)):
            marks[type(e).__name__] = time.thread_time()
    originals = trainer_module.run_epochs, Trainer.train, Trainer._maybe_flush
    trainer_module.run_epochs, Trainer.train, Trainer._maybe_flush = (
        timed(originals[0], "epochs"), timed(originals[1], "train"), timed(originals[2], "flush"))
    try:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            Trainer(project, ds, run_dir=tmp).fit(on_event)
    finally:
        trainer_module.run_epochs, Trainer.train, Trainer._maybe_flush = originals
    total, epochs = marks["Finished"] - marks["RunStarted"], spent["epochs"]
    return (100 * (epochs - spent["train"] - spent["flush"]) / epochs, 100 * spent["flush"] / epochs,
            100 * (marks["Finished"] - marks["epochs_done"]) / total)


def _bookkeeping(repeats: int) -> dict:
    from layerlab.core.data import load
    from layerlab.core.project import load_project
    from layerlab.core.resources import template_path
    from tests.bench.peers.projects import project_for
    from tests.bench.bench_peers import load_note

    spiral = load_project(template_path("mlp"))
    spiral.training.epochs = 300
    runs = {"digits MLP": project_for("mlp", 300, 200, 1e-3), "spiral": spiral}
    data = {k: load(p.data) for k, p in runs.items()}
    shares: dict[str, list[tuple[float, float, float]]] = {k: [] for k in runs}
    from layerlab.core.train.setup import num_threads
    with num_threads(1):
        for r in range(repeats):
            for k in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                shares[k].append(bookkeeping_share(runs[k], data[k]))
    med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in shares.items()}
    worst = max(m[0] for m in med.values())
    return figure("bookkeeping_share", worst, "%", 5.0,
                  note="the trainer's epoch loop outside training steps and checkpoint writes (validation, probes, "
                       f"per-epoch figures, rows, events), CPU time of the training thread, 300 epochs of 7 steps (the issue's digits run), median of {repeats}: "
                       + ", ".join(f"{k} {a:.1f}% (checkpoint writes, fsynced, every 2 s and at the end: {b:.1f}%; after "
                                   f"the last epoch, test evaluation, calibration, result files: {c:.1f}% of the run)"
                                   for k, (a, b, c) in med.items())
                       + f"; reference: the 5% target; {load_note()}")


def _epoch_loop_rate(project, ds) -> float:
    """Samples/s of the trainer's epoch loop (RunStarted to the last EpochEnd: training steps,
    validation, rows, events; not the one-off test evaluation and result files after it)."""
    from layerlab.core.train import Trainer
    from layerlab.core.train.events import EpochEnd, RunStarted

    marks = {}

    def on_event(e):
        if isinstance(e, (RunStarted, EpochEnd)):
            marks[type(e).__name__] = clock()
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        result = Trainer(project, ds, run_dir=tmp).fit(on_event)
    assert result.status == "finished" and result.epochs_run == project.training.epochs, result.status
    return project.training.epochs * len(ds.x_train) / (marks["EpochEnd"] - marks["RunStarted"])


def _scaling_spiral(repeats: int) -> dict:
    from layerlab.core.analysis import analyze
    from layerlab.core.data import load
    from layerlab.core.project import load_project
    from layerlab.core.resources import template_path
    from layerlab.core.train.setup import choose_threads, macs_per_sample, num_threads
    from tests.bench.bench_peers import load_note

    runs = {}
    for n, epochs in ((10_000, 20), (1_000_000, 1)):          # ≤ 20 epochs: both validate every epoch
        p = load_project(template_path("mlp"))
        p.data.options = {"n_samples": n}
        p.training.epochs, p.training.probe_every = epochs, 0
        runs[n] = (p, load(p.data))
    threads = choose_threads(torch.device("cpu"), macs_per_sample(analyze(runs[10_000][0].graph)) * 64)
    CLOCK["fn"] = time.thread_time if threads == 1 else time.perf_counter
    rates: dict[int, list[float]] = {n: [] for n in runs}
    with num_threads(threads):
        _epoch_loop_rate(*runs[10_000])                          # warm-up
        for r in range(repeats):
            for n in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                rates[n].append(_epoch_loop_rate(*runs[n]))
    small, large = (statistics.median(rates[n]) for n in (10_000, 1_000_000))
    how = "CPU time of the training thread" if threads == 1 else "wall time"
    return figure("train_scaling_spiral_1m_vs_10k", large, "samples/s", small,
                  note=f"spiral MLP (template), batch 64, Adam, probes off: 1M samples ({len(runs[1_000_000][1].x_train):,} "
                       f"train x 1 epoch) {large:,.0f} samples/s vs 10k ({len(runs[10_000][1].x_train):,} train x 20 epochs) "
                       f"{small:,.0f} samples/s; the epoch loop (training, validation every epoch, rows, events), "
                       f"{threads} thread(s), {how}, median of {repeats} interleaved; target ≥ 0.9; {load_note()}")


CHAIN_DEPTH, CHAIN_WIDTH = 200, 32


def _chain_project():
    from layerlab.core.graph import Graph
    from layerlab.core.layout import apply_layout
    from layerlab.core.project import load_project
    from layerlab.core.resources import template_path

    p = load_project(template_path("mlp"))
    g = Graph()
    prev = g.add_node("Input", {"shape": [2]})
    for _ in range(CHAIN_DEPTH):
        for node in (g.add_node("Dense", {"units": CHAIN_WIDTH}), g.add_node("ReLU")):
            g.connect(prev.id, node.id)
            prev = node
    for node in (g.add_node("Dense", {"units": 3}), g.add_node("Output")):
        g.connect(prev.id, node.id)
        prev = node
    apply_layout(g)
    p.graph = g
    p.data.options = {"n_samples": CHAIN_SAMPLES}
    t = p.training
    t.epochs, t.batch_size, t.lr, t.probe_every, t.schedule = CHAIN_EPOCHS, BATCH, 1e-3, 0, "constant"
    return p


CHAIN_SAMPLES, CHAIN_EPOCHS = 2000, 3


def _chain_hand_rate(project, ds) -> float:
    """A plain PyTorch loop: nn.Sequential of the same layers, LayerLab's initial weights,
    pre-shuffled slicing, fused Adam (the optimizer LayerLab resolves on CPU, so the ratio is the
    graph's and the loop's doing), zero_grad(set_to_none)."""
    from torch import nn

    layers = []
    width = 2
    for _ in range(CHAIN_DEPTH):
        layers += [nn.Linear(width, CHAIN_WIDTH), nn.ReLU()]
        width = CHAIN_WIDTH
    model = nn.Sequential(*layers, nn.Linear(width, 3))
    with torch.no_grad():
        ours = list(_model(project).parameters())
        theirs = list(model.parameters())
        assert [p.shape for p in ours] == [p.shape for p in theirs]
        for a, b in zip(theirs, ours):
            a.copy_(b)
    opt = torch.optim.Adam(model.parameters(), lr=project.training.lr, fused=True)   # as LayerLab resolves on CPU
    return _hand_loop_rate(model, opt, project, ds)


def _deep_chain(repeats: int) -> dict:
    from layerlab.core.analysis import analyze
    from layerlab.core.data import load
    from layerlab.core.train.setup import choose_threads, macs_per_sample, num_threads
    from tests.bench.bench_peers import load_note

    project = _chain_project()
    ds = load(project.data)
    threads = choose_threads(torch.device("cpu"), macs_per_sample(analyze(project.graph)) * BATCH)
    CLOCK["fn"] = time.thread_time if threads == 1 else time.perf_counter
    loops = {"trainer": lambda: _epoch_loop_rate(project, ds), "hand": lambda: _chain_hand_rate(project, ds)}
    rates: dict[str, list[float]] = {k: [] for k in loops}
    with num_threads(threads):
        loops["trainer"](), loops["hand"]()                        # warm-up
        for r in range(repeats):
            for k in (list(loops) if r % 2 == 0 else list(loops)[::-1]):
                rates[k].append(loops[k]())
    ratio = statistics.median(a / b for a, b in zip(rates["trainer"], rates["hand"]))
    how = "CPU time of the training thread" if threads == 1 else "wall time"
    return figure("train_deep_chain_vs_hand_loop", statistics.median(rates["trainer"]), "samples/s",
                  statistics.median(rates["hand"]), ratio,
                  note=f"{CHAIN_DEPTH} x (Dense {CHAIN_WIDTH} + ReLU) + Dense 3 on the spiral, {len(ds.x_train):,} train "
                       f"samples x {CHAIN_EPOCHS} epochs, batch {BATCH}, Adam lr 1e-3, probes off; trainer: the epoch loop "
                       f"(RunStarted to the last EpochEnd: steps, validation every epoch, per-layer norms, rows, events); "
                       f"reference: plain loop over nn.Sequential with the same initial weights, fused Adam; {threads} thread(s), {how}; ratio = median of {repeats} interleaved "
                       f"pairs; target ≥ 0.95; {load_note()}")


def scaling(repeats: int = 3, chain_repeats: int = 9) -> list[dict]:
    """The scaling figures alone (issue 14), about 60 s on 2 cores:
    `python -c 'from tests.bench.bench_train import scaling; print(scaling())'`."""
    return [_scaling_spiral(repeats), _deep_chain(chain_repeats)]


def run(repeats: int = 9) -> list[dict]:
    from layerlab.core.analysis import analyze
    from layerlab.core.data import load
    from layerlab.core.train.setup import choose_threads, macs_per_sample, num_threads

    figures, overheads = [], []
    _count_probe_time()
    for name, project in _projects().items():
        ds = load(project.data)
        threads = choose_threads(torch.device("cpu"), macs_per_sample(analyze(project.graph)) * BATCH)
        CLOCK["fn"] = time.thread_time if threads == 1 else time.perf_counter
        loops = {"trainer": lambda: trainer_rate(project, ds), "hand": lambda: handtuned_rate(project, ds),
                 "idiomatic": lambda: idiomatic_rate(project, ds),
                 "probes": lambda: trainer_rate(project, ds, probe_every=1)}
        shares: list[float] = []
        loops["probes"] = lambda: trainer_rate(project, ds, probe_every=1, share=shares)
        rates: dict[str, list[float]] = {k: [] for k in loops}
        with num_threads(threads):
            loops["trainer"](), loops["hand"]()                       # warm-up
            for r in range(repeats):                                   # rotate the order every repeat
                order = list(loops)[r % 4:] + list(loops)[:r % 4]
                for k in order:
                    rates[k].append(loops[k]())
        med = {k: statistics.median(v) for k, v in rates.items()}

        def paired(other: str) -> float:
            """Median of the per-repeat ratios: each pair ran back to back under the same load."""
            return statistics.median(a / b for a, b in zip(rates["trainer"], rates[other]))
        how = "CPU time of the training thread" if threads == 1 else "wall time"
        note = (f"{len(ds.x_train):,} train samples x {project.training.epochs} epochs, batch {BATCH}, {threads} "
                f"thread(s), {how}; ratio = median of {repeats} back-to-back pairs")
        figures.append(figure(f"train_{name}_vs_handtuned", med["trainer"], "samples/s", med["hand"],
                              paired("hand"), note=f"reference: hand-tuned loop; {note}"))
        figures.append(figure(f"train_{name}_vs_idiomatic", med["trainer"], "samples/s", med["idiomatic"],
                              paired("idiomatic"), note=f"reference: DataLoader loop; {note}"))
        overheads.append((statistics.median(shares), 100 * (paired("probes") - 1), name))
    value = max(o[0] for o in overheads)
    figures.append(figure("probe_overhead", value, "%", 5.0,
                          note="time inside the default probes (probe_every=1) over the rest of the run, median of "
                               f"{repeats}; worst of {', '.join(f'{n} {v:.1f}%' for v, _, n in overheads)} "
                               f"(paired with/without runs differ by {', '.join(f'{n} {d:+.1f}%' for _, d, n in overheads)}"
                               ", within this machine's noise); reference: the 5% target"))
    figures.append(_bookkeeping(5))
    figures += scaling()
    return figures


if __name__ == "__main__":
    import json
    for fig in run():
        print(json.dumps(fig))
