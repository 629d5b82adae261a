"""House rules about the shape of the code, read from the source with `ast`: no import cycles
between modules (lazy and type-checking imports count too: a cycle is a tangle even when it only
bites at run time)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CYCLE_FREE = ("core", "gui")


def _modules(tops) -> dict[str, Path]:
    out = {}
    for top in tops:
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(["layerlab", *parts])] = path
    return out


def _targets(module: str, path: Path, node, known) -> list[str]:
    """The package modules an import statement loads (`from . import x` loads the submodule x)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            pkg = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            pkg = pkg[:len(pkg) - (node.level - 1)]
            base = ".".join(pkg + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    out = []
    for name in names:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known and name != module:
            out.append(name)
    return out


def import_graph(tops) -> dict[str, set[str]]:
    known = _modules(tops)
    return {m: {t for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                if isinstance(n, (ast.Import, ast.ImportFrom)) for t in _targets(m, p, n, known)}
            for m, p in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_cycle_finder_finds_a_cycle_and_only_cycles():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(g) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules():
    found = cycles(import_graph(CYCLE_FREE))
    assert found == [], "these modules import each other; move what they share into its own module"


# ---------------------------------------------------------------- layer knowledge stays in the catalogue
def _layer_names() -> set[str]:
    from layerlab.core.layers import REGISTRY
    return set(REGISTRY)


def _names_in(node, names) -> list[str]:
    if isinstance(node, (ast.Set, ast.List, ast.Tuple)):
        items = node.elts
    elif isinstance(node, ast.Dict):
        items = [*node.keys, *node.values]
    else:
        items = [node]
    return [x.value for x in items if isinstance(x, ast.Constant) and x.value in names]


def type_name_lists(source: str, names: set[str]) -> list[tuple[int, list[str]]]:
    """(line, names) for every literal collection holding two or more layer-type names, and every
    comparison against a layer-type name (`node.type == "Output"`, `t in ("Dense", ...)`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Set, ast.List, ast.Tuple, ast.Dict)):
            hits = _names_in(node, names)
            if len(set(hits)) >= 2:
                found.append((node.lineno, hits))
        elif isinstance(node, ast.Compare):
            hits = [h for side in (node.left, *node.comparators) for h in _names_in(side, names)]
            if hits:
                found.append((node.lineno, hits))
    return found


def test_the_scanner_sees_lists_and_comparisons_of_type_names():
    names = {"Dense", "Conv2d", "Output"}
    src = ('WIDTH = {"Dense": "units", "Conv2d": "filters"}\nok = ["Dense", "Adam"]\n'
           'if node.type == "Output": pass\nif t in ("Dense",): pass\nadd_node("Dense")\n')
    assert type_name_lists(src, names) == [(1, ["Dense", "Conv2d"]), (3, ["Output"]), (4, ["Dense"])]


# ONNX operator names ("Add", "Flatten", "Softmax") are another vocabulary that shares spellings
# with ours; the importer's operator table and its op-sequence matcher translate between the two.
NOT_SCANNED = ("core/layers", "core/importers/onnx_ops.py", "core/importers/onnx_patterns.py")


def test_no_hand_kept_lists_of_layer_type_names_outside_the_catalogue():
    names = _layer_names()
    offenders = [f"{path.relative_to(ROOT)}:{line} {hits}"
                 for top in ("core", "gui") for path in sorted((ROOT / top).rglob("*.py"))
                 if not any(path.is_relative_to(ROOT / skip) for skip in NOT_SCANNED)
                 for line, hits in type_name_lists(path.read_text(encoding="utf-8"), names)]
    assert offenders == [], "ask the LayerSpec (add a trait in core/layers/spec.py) instead of naming types"


# ---------------------------------------------------------------- function length
MAX_FUNCTION_LINES = 60
LONG_ALLOWED = {
    "core/train/loop.py:train_epoch",        # the per-batch hot loop: one frame, no calls it could spare
}


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(qualified name, lines) of every function or method longer than `limit` lines."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = child.end_lineno - child.lineno + 1
                if n > limit:
                    found.append((prefix + child.name, n))
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(ast.parse(source), "")
    return found


def test_long_function_finder_measures_methods_and_nested_functions():
    body = "\n".join(f"    x{i} = {i}" for i in range(4))
    src = f"class A:\n    def m(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n\ndef f():\n{body}\n"
    assert long_functions(src, limit=4) == [("A.m", 5), ("f", 5)]
    assert long_functions(src, limit=5) == []


def test_no_function_over_60_lines():
    found = [f"{path.relative_to(ROOT)}:{name} ({n} lines)"
             for top in ("core", "gui") for path in sorted((ROOT / top).rglob("*.py"))
             for name, n in long_functions(path.read_text(encoding="utf-8"))
             if f"{path.relative_to(ROOT)}:{name}" not in LONG_ALLOWED]
    assert found == [], "split these into functions named for what each step does"
