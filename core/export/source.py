"""Plain PyTorch source: a .py file with `class <Name>(nn.Module)` whose sub-modules and forward
variables are the graph's node names, the helper classes it needs copied verbatim from
core/layers/modules.py, the preprocessing as constants plus `preprocess(x)`, and `load()` for the
safetensors weights written beside it (keyed by node id, mapped to attribute names in the file).

The generated code is made only of validated values: identifiers are checked against a strict
pattern, numbers are emitted with repr() of int/float (finite only), strings with repr(), and the
project's free text (name, description) appears only inside an escaped docstring.
"""
from __future__ import annotations

import itertools
import os
import types
from dataclasses import dataclass, field
from pathlib import Path

from .compare import worst_diff
from .names import class_name, identifier
from .outcome import ExportError, Exported
from .prepared import Prepared, example_raw_batch, save_weights_readable
from .codegen import (_float_rows, constructor, docstring, helper_sources, lit,  # noqa: F401 (re-exported)
                      module_definitions)

INLINE_LIMIT = 20_000  # preprocessing values written into the .py; more go to a sidecar file


# ---------------------------------------------------------------- the generated file
# names the generated file defines itself, plus every definition it may copy from modules.py
RESERVED_GLOBALS = frozenset({"Path", "math", "torch", "nn", "load", "predict", "preprocess", "NODE_NAMES",
                              "WEIGHTS_FILE", "INPUT_SHAPE", "OUTPUT_SHAPE", "PREPROCESSING", "SHIFT", "SCALE",
                              "MATRIX", "CONSTANTS_FILE", "TEMPERATURE", "Network"}) | module_definitions()


@dataclass
class NetworkSource:
    class_name: str
    helpers: list[str]              # helper definitions copied from core/layers/modules.py
    uses_math: bool
    class_src: str                  # `class <Name>(nn.Module): ...`
    node_names: dict[str, str]      # node id -> attribute
    blocks: list[str] = field(default_factory=list)   # one class per block, before the network's


@dataclass
class _Written:
    """Block classes written so far, shared by every level of nested blocks."""
    by_key: dict = field(default_factory=dict)     # (block, input types) -> NetworkSource
    taken: set = field(default_factory=set)        # class names in use


def _block_classes(c, graph, reserved: frozenset[str], defs: dict,
                   made: _Written) -> tuple[list[NetworkSource], dict[str, str]]:
    """One class per block and input types (layer sizes follow the inputs, so instances fed
    other shapes need a class of their own), instantiated once per instance; and each instance's
    node id -> class name. `made` is shared by every level of nested blocks, so a block used
    inside several others is written once, before its first user; returned: the classes this
    level made first."""
    made.taken |= reserved
    new, of_node = [], {}
    for nid, inner in c.blocks.items():
        block = graph.nodes[nid].params["block"]
        key = (block, inner.analysis.ports)
        if key not in made.by_key:
            seen = sum(1 for k in made.by_key if k[0] == block)
            label = block if not seen else f"{block}_{seen + 1}"
            src = network_source(inner, defs[block], label, frozenset(made.taken), defs, made)
            made.by_key[key] = src
            made.taken.add(src.class_name)
            new.append(src)
        of_node[nid] = made.by_key[key].class_name
    return new, of_node


def network_source(compiled, graph, project_name: str, reserved: frozenset[str] = frozenset(),
                   defs: dict | None = None, _made: _Written | None = None) -> NetworkSource:
    """The network as a plain nn.Module class named after the project, with sub-modules and
    forward variables named after the graph's nodes. `defs`: the project's block definitions
    (default `graph.blocks`)."""
    from ..layers import merge_for
    from ..layers import modules as M

    c = compiled
    gm = c.module
    defs = graph.blocks if defs is None else defs
    by_block, block_class = _block_classes(c, graph, reserved, defs, _Written() if _made is None else _made)
    name = class_name(project_name, RESERVED_GLOBALS | reserved | set(block_class.values()))
    submodules = dict(gm.named_children())
    helpers = {type(m).__name__ for m in gm.modules() if type(m).__module__ == M.__name__}
    helper_src, helper_globals = helper_sources(helpers)

    init_lines, fwd_lines, args = [], [], []
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            args.append(identifier(node.name))
        elif node.op == "call_module":
            target = identifier(node.target)
            nid = c.node_of_module[target]
            gnode = graph.nodes[nid]
            shape = c.analysis.shapes[nid]
            init_lines.append(f"        # {gnode.type} {target!r} -> {shape}")
            made = f"{block_class[nid]}()" if nid in block_class else constructor(submodules[target])
            init_lines.append(f"        self.{target} = {made}")
            ins = ", ".join(identifier(a.name) for a in node.args)
            fwd_lines.append(f"        {identifier(node.name)} = self.{target}({ins})")
        elif node.op == "call_function" and (merge := merge_for(node.target)) is not None:
            fwd_lines.append(f"        {identifier(node.name)} = {merge.expression(node, identifier, lit)}")
        elif node.op == "output":
            fwd_lines.append(f"        return {identifier(node.args[0].name)}")
        else:
            raise ExportError(f"the source format cannot write the operation {node.op} {node.target!r}")
    in_t, out_t = c.input_type, c.output_type
    about = f"Input {in_t} -> output {out_t}. Sub-modules and variables are the graph's node names."
    class_src = "\n".join([f"class {name}(nn.Module):", f"    {docstring(about)}", "",
                           "    def __init__(self):", "        super().__init__()", *init_lines, "",
                           f"    def forward(self, {', '.join(args)}):", *fwd_lines])
    node_names = {nid: identifier(mod) for mod, nid in c.node_of_module.items()}
    blocks = [src for b in by_block for src in [*b.blocks, b.class_src]]
    return NetworkSource(name, helper_src, "math" in helper_globals, class_src, node_names, blocks)


def generate(prep: Prepared, weights_file: str, constants_file: str | None = None) -> tuple[str, str]:
    """(source text, class name). `constants_file` names the sidecar for large preprocessing."""
    c = prep.compiled
    net = network_source(c, prep.project.graph, prep.project.name)
    out = _file_head(prep, net, weights_file)
    if net.helpers:
        out += ["", "# Layers torch.nn lacks, copied from LayerLab (layerlab/core/layers/modules.py).", ""]
        for src in net.helpers:
            out += [src, "", ""]
    else:
        out.append("")
    for src in net.blocks:
        out += [src, "", ""]
    out += [net.class_src, "", ""]
    out += _preprocess_source(prep.preprocessing, constants_file)
    out += _loading_source(net, c.input_type, prep.temperature)
    return "\n".join(out), net.class_name


def _file_head(prep: Prepared, net: NetworkSource, weights_file: str) -> list[str]:
    """The module docstring, imports and shape constants."""
    kind = prep.preprocessing["kind"]
    in_t, out_t = prep.compiled.input_type, prep.compiled.output_type
    scale, example = prep.input_scale
    doc = "\n".join([
        f"{prep.project.name}: a network exported from LayerLab as plain PyTorch.",
        "",
        *( [prep.project.description.strip(), ""] if prep.project.description.strip() else []),
        f"Inputs: {scale}.",
        f"Outputs: {out_t}.",
        f"Preprocessing ({kind}, fitted on the training split) is `preprocess(x)`; `predict(model, x)`",
        "applies it and runs the network in evaluation mode.",
        "",
        *( [f"    {example}"] if example else []),
        f"    model = load()                # reads {weights_file} beside this file",
        "    outputs = predict(model, x)",
        "",
        "Needs only PyTorch and safetensors.",
    ])
    out: list[str] = [docstring(doc), "from pathlib import Path", ""]
    if net.uses_math:
        out.append("import math")
        out.append("")
    return out + ["import torch", "from torch import nn", "",
                  f"WEIGHTS_FILE = {lit(weights_file)}",
                  f"INPUT_SHAPE = {lit(tuple(in_t.shape))}",
                  f"OUTPUT_SHAPE = {lit(tuple(out_t.shape))}", *_temperature_lines(prep.temperature), ""]


def _temperature_lines(t: float | None) -> list[str]:
    if t is None:
        return []
    return ["# Calibration (temperature scaling fitted on the validation split): predict() returns logits / T.",
            f"TEMPERATURE = {lit(float(t))}"]


def _loading_source(net: NetworkSource, in_t, temperature: float | None = None) -> list[str]:
    """NODE_NAMES, `load()`, `predict()` and a `__main__` smoke run."""
    name = net.class_name
    out = ["", "",
           "# The weights file is keyed by LayerLab node id (renaming a layer keeps its weights);",
           "# this maps each node id to the attribute that holds it here.",
           "NODE_NAMES = {"]
    out += [f"    {lit(nid)}: {lit(identifier(mod))}," for nid, mod in net.node_names.items()]
    return out + ["}", "", "",
                  "def load(weights_path=None, device=\"cpu\"):",
                  f"    {docstring(f'A {name} with its trained weights (a safetensors file; nothing is unpickled).')}",
                  "    from safetensors.torch import load_file",
                  "",
                  "    path = Path(weights_path) if weights_path else Path(__file__).with_name(WEIGHTS_FILE)",
                  "    state = {}",
                  "    for key, value in load_file(str(path), device=str(device)).items():",
                  "        node, _, rest = key.partition(\".\")",
                  "        state[NODE_NAMES.get(node, node) + \".\" + rest] = value",
                  f"    model = {name}().to(device)",
                  "    model.load_state_dict(state)",
                  "    return model.eval()",
                  "", "",
                  "def predict(model, x):",
                  "    \"\"\"Raw inputs -> outputs: preprocess, then the network in eval mode, without gradients"
                  + (" (calibrated: logits / TEMPERATURE)." if temperature is not None else ".") + "\"\"\"",
                  "    model.eval()",
                  "    with torch.no_grad():",
                  "        return model(preprocess(x))" + (" / TEMPERATURE" if temperature is not None else ""),
                  "", "",
                  "if __name__ == \"__main__\":",
                  "    net = load()",
                  "    x = " + ("torch.randint(0, 2, (2, *INPUT_SHAPE))" if in_t.dtype == "long"
                             else "torch.randn(2, *INPUT_SHAPE)"),
                  "    print(net)",
                  "    print(\"output shape:\", tuple(predict(net, x).shape))",
                  ""]


def _preprocess_source(pre: dict, constants_file: str | None) -> list[str]:
    kind = pre["kind"]
    out = ["# Preprocessing fitted on the training split only; apply it to raw inputs before the network.",
           f"PREPROCESSING = {lit(kind)}"]
    if kind == "none":
        return out + ["", "", "def preprocess(x):",
                      "    \"\"\"No preprocessing: inputs go to the network as they are.\"\"\"",
                      "    return x"]
    consts = [("SHIFT", "shift", pre["shift"])]
    consts.append(("MATRIX", "matrix", pre["matrix"]) if kind == "pca_whiten" else ("SCALE", "scale", pre["scale"]))
    total = sum(len(v) * (len(v[0]) if isinstance(v[0], list) else 1) for _, _, v in consts)
    if total > INLINE_LIMIT:
        if constants_file is None:
            raise ExportError("large preprocessing needs a constants file")
        out += [f"CONSTANTS_FILE = {lit(constants_file)}  # too many values to write here", "",
                "", "def _constants():",
                "    from safetensors.torch import load_file",
                "    return load_file(str(Path(__file__).with_name(CONSTANTS_FILE)))", "", "",
                "_c = _constants()"]
        out += [f"{const} = _c[{lit(key)}]" for const, key, _ in consts]
    else:
        for const, key, values in consts:
            if isinstance(values[0], list):
                out.append(f"{const} = torch.tensor([")
                for row in values:
                    out.append("    [")
                    out.append(_float_rows(row, "        "))
                    out.append("    ],")
                out.append("])")
            else:
                out.append(f"{const} = torch.tensor([")
                out.append(_float_rows(values, "    "))
                out.append("])")
    formula = "(flatten(x) - SHIFT) @ MATRIX" if kind == "pca_whiten" else "(flatten(x) - SHIFT) * SCALE"
    op = "@ MATRIX" if kind == "pca_whiten" else "* SCALE"
    return out + ["", "", "def preprocess(x):",
                  f"    \"\"\"{kind}: {formula}, reshaped back to the input's shape.\"\"\"",
                  "    flat = x.reshape(x.shape[0], -1).float() - SHIFT",
                  f"    return (flat {op}).reshape(x.shape)"]


# ---------------------------------------------------------------- writing and checking
def export_source(prep: Prepared, out: str | os.PathLike, verify: bool = True) -> Exported:
    out = Path(out)
    if out.suffix != ".py":
        out = out.with_suffix(".py")
    if not out.stem.isidentifier():
        raise ExportError(f"{out.name}: the file name must be an importable module name "
                          "(letters, digits and _), e.g. digits_cnn.py")
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = out.with_suffix(".safetensors")
    constants = out.with_name(out.stem + ".preprocess.safetensors")
    source, name = generate(prep, weights.name, constants.name)
    try:
        compile(source, str(out), "exec")
    except SyntaxError as e:  # a bug here, never the user's input: say so plainly
        raise ExportError(f"internal error: generated source does not compile ({e})") from None
    save_weights_readable(prep.module, prep.compiled.node_of_module, weights,
                 metadata={"format": "layerlab.source", "class": name})
    paths = [out, weights]
    if "CONSTANTS_FILE" in source:
        _save_constants(prep.preprocessing, constants)
        paths.append(constants)
    from ..project import atomic_write_text
    atomic_write_text(out, source)
    info = {"format": "source", "class": name}
    if verify:
        info["max_abs_diff"] = verify_source(out, prep)
    return Exported(paths, info)


def _save_constants(pre: dict, path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    tensors = {"shift": torch.tensor(pre["shift"], dtype=torch.float32)}
    key = "matrix" if pre["kind"] == "pca_whiten" else "scale"
    tensors[key] = torch.tensor(pre[key], dtype=torch.float32)
    save_file(tensors, str(path))


def import_generated(path) -> types.ModuleType:
    """Run a generated file as a fresh module (our own output: made from checked values only)."""
    import sys

    path = Path(path)
    name = f"_layerlab_generated_{path.stem}_{next(_generated)}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module          # dataclasses look their module up while the file runs
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


_generated = itertools.count()


def verify_source(path, prep: Prepared) -> float:
    import torch

    from .preprocessing import deployable

    gen = import_generated(path)
    model = gen.load()
    reference = deployable(prep.module, prep.preprocessing, prep.temperature)
    worst = 0.0
    for i, n in enumerate((1, 6)):
        x = example_raw_batch(prep.compiled, prep.preprocessing, batch=n, seed=300 + i)
        with torch.no_grad():
            worst = worst_diff(worst, gen.predict(model, x), reference(x))
    if not worst <= 1e-5:
        raise ExportError(f"{path}: the generated source differs from LayerLab's model by {worst:.2e}")
    return worst
