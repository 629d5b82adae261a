"""Standalone training script: one .py file that reproduces a LayerLab run without LayerLab.

It holds the project's data and training specs as literals, the network as a plain nn.Module
(the source export's class), and LayerLab's own code for everything else, copied verbatim by
`_extract.closure` from core.data (generation, splits, preprocessing fitted on the train split),
core.train (init, loss, optimizer, schedule, regularization, metrics) and core.train.epochs and core.train.loop (the
epoch loop every run uses) and core.distributed (its DDP hooks and sharding), and core.train.end_report
(result.json's ECE / reliability, ROC / PR, perplexity and per-class report). Built-in data sets are
regenerated with
the same numpy code; file sources are read from the path the project used (or
`--data PATH`); the text corpus and the built-in tables (resources/datasets) are copied beside the script. On CPU with one process, a seeded
script run gives LayerLab's validation metrics epoch for epoch.

    python train_digits.py --epochs 5 --out run
    torchrun --nproc_per_node 2 train_digits.py      # DistributedDataParallel, rank 0 writes run/
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..compiler import CompileError, compile_graph
from ..specs import BUILTIN_DATASETS, spec_to_dict
from . import _extract
from .names import identifier
from .outcome import ExportError, Exported
from .codegen import docstring, lit
from .source import network_source

LIBRARY = ["layerlab.core.export.script_main", "layerlab.core.distributed.fit", "layerlab.core.distributed.shard",
           "layerlab.core.distributed.sync_bn",
           "layerlab.core.distributed.ending", "layerlab.core.data",
           "layerlab.core.data.dataset", "layerlab.core.data.errors", "layerlab.core.data.options",
           "layerlab.core.data.synthetic", "layerlab.core.data.builtin", "layerlab.core.data.splits",
           "layerlab.core.data.preprocess", "layerlab.core.data.targets", "layerlab.core.data.tabular",
           "layerlab.core.data.csv_cells", "layerlab.core.data.csv_file",
           "layerlab.core.data.arrays", "layerlab.core.data.images", "layerlab.core.data.limits",
           "layerlab.core.memory", "layerlab.core.safe_text", "layerlab.core.specs",
           "layerlab.core.train.init", "layerlab.core.train.imbalance", "layerlab.core.train.losses", "layerlab.core.train.metrics",
           "layerlab.core.train.augment",
           "layerlab.core.train.optim", "layerlab.core.train.regularize", "layerlab.core.train.freeze",
           "layerlab.core.train.epochs", "layerlab.core.train.loop", "layerlab.core.train.fused_step",
           "layerlab.core.train.events",
           "layerlab.core.train.end_report", "layerlab.core.train.calibration", "layerlab.core.train.curves",
           "layerlab.core.train.generate"]
SYNTHETIC = ("spiral", "moons", "circles", "xor", "blobs", "sine", "reverse")
TABULAR = ("iris", "wine", "breast_cancer", "diabetes")


def pylit(v: Any) -> str:
    """A Python literal for JSON-like data (the project's specs): dicts with string keys, lists,
    strings, finite numbers, booleans and None, each written by repr of its exact type."""
    if isinstance(v, dict):
        if not all(isinstance(k, str) for k in v):
            raise ExportError("spec keys must be strings")
        return "{" + ", ".join(f"{lit(k)}: {pylit(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(pylit(x) for x in v) + "]"
    return lit(v)


def _import_block(lines: set[str]) -> list[str]:
    """`import x` lines, then `from x import a, b` merged per module, each group sorted."""
    plain = sorted(line for line in lines if line.startswith("import "))
    merged: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("from "):
            module, _, names = line[5:].partition(" import ")
            merged.setdefault(module, []).append(names)
    return plain + [f"from {m} import {', '.join(sorted(set(n)))}" for m, n in sorted(merged.items())]


def _data_source(project, base_dir: Path | None) -> tuple[list[tuple[str, str]], list[str], dict[str, str]]:
    """(library roots, load_raw source lines, DATA_PATHS) for the project's data source."""
    d = project.data
    name = d.dataset
    opts = "Options(DATA['options'], DATA['dataset'])"
    roots = [("layerlab.core.data.options", "Options")]

    def where(p: str) -> str:
        path = Path(p).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        return str(path.resolve()) if (path.is_absolute() or base_dir is not None) else str(path)

    paths: dict[str, str] = {}
    if name in SYNTHETIC:
        roots.append(("layerlab.core.data.synthetic", name))
        body = [f"    return {identifier(name)}({opts}, DATA['seed'])"]
    elif name in ("digits", "text"):
        roots.append(("layerlab.core.data.builtin", name))
        body = [f"    return {name}({opts}, DATA['seed'])"]
        paths["corpus" if name == "text" else "table"] = "corpus.txt" if name == "text" else "digits.csv.gz"
    elif name in TABULAR:
        roots.append(("layerlab.core.data.builtin", "_tabular"))
        body = ["    return _tabular(DATA['dataset'])"]
        paths["table"] = f"{name}.csv.gz"
    elif name == "csv":
        roots.append(("layerlab.core.data.tabular", "load_csv"))
        paths["path"] = where(d.path)
        body = [f"    return load_csv(Path(paths['path']), DATA['target'], DATA['task'], {opts})"]
    elif name == "images":
        roots.append(("layerlab.core.data.images", "load_images"))
        paths["path"] = where(d.path)
        body = [f"    return load_images(Path(paths['path']), {opts})"]
    elif name == "npz":
        roots.append(("layerlab.core.data.arrays", "load_npz"))
        paths["path"] = where(d.path)
        body = [f"    return load_npz(Path(paths['path']), DATA['task'], {opts})"]
    elif name == "idx":
        roots.append(("layerlab.core.data.arrays", "load_idx"))
        options = d.options if isinstance(d.options, dict) else {}
        paths["images"] = where(options.get("images") or d.path)
        labels = str(options.get("labels", ""))
        paths["labels"] = where(labels) if labels else ""
        body = ["    return load_idx(Path(paths['images']), Path(paths['labels']), DATA['task'])"]
    else:
        raise ExportError(f"the training script cannot load data set {name!r}")
    about = docstring(f"All samples before splitting (LayerLab data source {name!r}).")
    return roots, ["def load_raw(paths):", f"    {about}",
                   *body], paths


def _beside(dataset: str) -> set[str]:
    """The functions the script defines itself (not copied): where the data file it ships beside it is."""
    return {"corpus_path"} if dataset == "text" else {"table_path"} if dataset in ("digits", *TABULAR) else set()


def _compile(project):
    """The compiled graph, refusing a graph that does not compile or an unknown data set."""
    try:
        compiled = compile_graph(project.graph)
    except CompileError as e:
        raise ExportError(str(e)) from None
    if project.data.dataset not in BUILTIN_DATASETS and project.data.dataset not in ("csv", "images", "npz", "idx"):
        raise ExportError(f"unknown data set {project.data.dataset!r}")
    return compiled


def _init_plan(project, compiled) -> list[tuple[str, str, str, float]]:
    """(attribute, init scheme, activation that follows, leaky slope) per module with parameters,
    in LayerLab's init order; a layer inside a block with an override of its own follows as a
    dotted path ("res1.conv_a")."""
    from ..train.init import init_activation

    spec = project.training
    modules = dict(compiled.module.named_children())
    plan = []
    for name, node_id in compiled.node_of_module.items():
        if not any(True for _ in modules[name].parameters()):
            continue
        act, slope = init_activation(project.graph, node_id, spec.loss)
        plan.append((identifier(name), spec.init_overrides.get(node_id, spec.init), act, float(slope)))
    from ..compiler import QUALIFIER, walk_layers
    for ref in walk_layers(compiled, project.graph):      # then overrides inside blocks, as initialize() does
        scheme = spec.init_overrides.get(ref.qid)
        if scheme is None or QUALIFIER not in ref.qid or not any(True for _ in ref.module.parameters()):
            continue
        act, slope = init_activation(ref.owner, ref.node.id, spec.loss)
        plan.append((_attribute_path(ref.path), scheme, act, float(slope)))
    return plan


def _start_weights(project, base_dir) -> str:
    """training.start_weights as an absolute path (the script loads it from there)."""
    from ..train.freeze import resolve_path

    sw = project.training.start_weights
    return str(resolve_path(sw, base_dir).resolve()) if sw else ""


def _attribute_path(path: str) -> str:
    """A module path of LayerLab's network as the exported class spells it."""
    return ".".join(identifier(part) for part in path.split("."))


def _library_code(project, roots, net, plan):
    """(imports, defs): LayerLab's code the script copies, from main, exit_process and the data
    source's roots; refuses a network class name that clashes with copied code."""
    from .script_main import PROVIDED
    imports, defs = _extract.closure(LIBRARY, [("layerlab.core.export.script_main", "main"),
                                               ("layerlab.core.distributed.ending", "exit_process"), *roots],
                                     provided=set(PROVIDED) | _beside(project.data.dataset))
    clash = {d.name for d in defs} & ({net.class_name} | {n for n, *_ in plan})
    if net.class_name in {d.name for d in defs}:
        raise ExportError(f"internal: the network class name {net.class_name} clashes with copied code ({clash})")
    return imports, defs


def _about(project) -> str:
    """The script's module docstring: what it reproduces, what it needs, how to run it."""
    spec = project.training
    return "\n".join([
        f"{project.name}: a standalone training script exported from LayerLab.",
        "",
        f"Reproduces the project's run: data set {project.data.dataset!r} ({project.data.preprocessing} "
        "preprocessing fitted on the training split only), "
        f"{spec.init} init, {spec.loss} loss, {spec.optimizer} (lr {spec.lr}), {spec.schedule} schedule, "
        f"{spec.epochs} epochs of batch {spec.batch_size}"
        + (f", early stopping on {spec.monitor} (patience {spec.patience})" if spec.early_stopping else "") + "."
        + (" Frozen layers and per-layer LR factors as in the project." if spec.frozen or spec.lr_multipliers else "")
        + (f" It starts from training.start_weights ({spec.start_weights}), read where it was at export."
           if spec.start_weights else ""),
        "The code below the specs is LayerLab's own, copied verbatim; it needs PyTorch, NumPy",
        "and safetensors" + (", Pillow" if project.data.dataset == "images" else "") + " - not LayerLab.",
        "",
        "    python THIS_FILE.py --epochs 5 --out run",
        "    torchrun --nproc_per_node 2 THIS_FILE.py --out run    # DistributedDataParallel (gloo / nccl)",
        "",
        "Outputs in --out (rank 0): metrics.csv, best.safetensors and last.safetensors (keyed by LayerLab",
        "node id: LayerLab and the source export load them), preprocessing.json, result.json.",
    ])


def _specs_block(project, compiled, net, plan, paths, base_dir=None) -> list[str]:
    """The project as literals: data and training specs, data paths, init plan, output shape and
    whether the model counts as small (the loop's fast path)."""
    from ..train import freeze
    from ..train.setup import SMALL_WORK, macs_per_sample

    small = macs_per_sample(compiled.analysis) * project.training.batch_size < SMALL_WORK
    return ["# ---- the project (literals written from the project file)",
            f"PROJECT_NAME = {lit(project.name)}",
            f"DATA = {pylit(spec_to_dict(project.data))}",
            f"TRAINING = {pylit(spec_to_dict(project.training))}",
            f"DATA_PATHS = {pylit(paths)}",
            "# (attribute, init scheme, activation that follows, leaky slope), in LayerLab's init order",
            f"INIT_PLAN = {pylit([list(p) for p in plan])}",
            f"NODE_NAMES = {pylit(net.node_names)}",
            "# transfer learning: frozen module paths, and (module path, LR factor) pairs",
            f"FROZEN = {pylit([_attribute_path(p) for p in freeze.frozen_paths(compiled, project.training)])}",
            f"LR_FACTORS = {pylit([[_attribute_path(p), f] for p, f in freeze.lr_factor_paths(compiled, project.training)])}",
            f"START_WEIGHTS = {lit(_start_weights(project, base_dir))}",
            f"OUTPUT_SHAPE = {lit(tuple(compiled.output_type.shape))}",
            f"SMALL_MODEL = {lit(bool(small))}"]


def _network_block(net, load_raw, dataset: str) -> list[str]:
    """The network class with its helpers, make_model, load_raw (and corpus_path for text)."""
    text = ["# ---- the network (as `layerlab export --format source` writes it)", ""]
    for src in [*net.helpers, *net.blocks]:         # block classes before the network that uses them
        text += [src, "", ""]
    text += [net.class_src, "", "",
             "def make_model():",
             f"    return {net.class_name}()",
             "", "",
             "# ---- the data source", "",
             *load_raw, ""]
    if dataset == "text":
        text += ["", "def corpus_path():",
                 "    return Path(__file__).resolve().with_name(DATA_PATHS['corpus'])", ""]
    if "table_path" in _beside(dataset):
        text += ["", "def table_path(name):",
                 "    return Path(__file__).resolve().with_name(DATA_PATHS['table'])", ""]
    return text


def generate(project, base_dir: Path | None = None) -> tuple[str, dict[str, str]]:
    """(script text, DATA_PATHS)."""
    compiled = _compile(project)
    plan = _init_plan(project, compiled)
    net = network_source(compiled, project.graph, project.name,
                         reserved=frozenset(_extract.read_module("layerlab.core.export.script_main").defs))
    roots, load_raw, paths = _data_source(project, base_dir)
    imports, defs = _library_code(project, roots, net, plan)
    specs = _specs_block(project, compiled, net, plan, paths, base_dir)
    base_imports = {"import math", "import sys", "from pathlib import Path", "import torch", "from torch import nn"}
    text = [docstring(_about(project)), "from __future__ import annotations", ""]
    text += _import_block(set(imports) | base_imports)
    text += ["", "", *specs, "", ""]
    text += _network_block(net, load_raw, project.data.dataset)
    text += ["", "# ---- copied verbatim from LayerLab (core.data, core.train, core.distributed,"
             " core.export.script_main)",
             ""]
    for d in defs:
        text += [d.source.rstrip(), "", ""]
    text += ["if __name__ == \"__main__\":", "    exit_process(main())", ""]
    return "\n".join(text), paths


def export_train_script(project, out: str | os.PathLike, run_dir=None, base_dir=None) -> Exported:
    from ..project import atomic_write_text

    out = Path(out)
    if out.suffix != ".py":
        out = out.with_suffix(".py")
    out.parent.mkdir(parents=True, exist_ok=True)
    source, paths = generate(project, Path(base_dir) if base_dir else None)
    try:
        compile(source, str(out), "exec")
    except SyntaxError as e:
        raise ExportError(f"internal error: the generated script does not compile ({e})") from None
    atomic_write_text(out, source)
    written = [out]
    if project.data.dataset == "text":
        from ..data import corpus_path
        target = out.with_name("corpus.txt")
        shutil.copyfile(corpus_path(), target)
        written.append(target)
    if "table" in paths:
        from ..data.builtin import table_path
        target = out.with_name(paths["table"])
        shutil.copyfile(table_path(project.data.dataset), target)
        written.append(target)
    info = {"format": "train-script", "data": project.data.dataset}
    missing = [p for k, p in paths.items() if k not in ("corpus", "table") and p and not Path(p).exists()]
    if missing:
        info["warnings"] = [f"data file {p} does not exist here: pass --data PATH when running the script"
                            for p in missing]
    return Exported(written, info)
