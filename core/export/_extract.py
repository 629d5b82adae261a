"""Copy LayerLab's own definitions, verbatim, into a standalone file.

The training-script export must reproduce a run without LayerLab, so instead of re-writing the
data, init, loss, optimizer and schedule code (and drifting from it), it copies the top-level
definitions it needs out of LayerLab's modules: `closure(modules, roots)` follows the names each
definition uses (inside its own module, and through `from .x import y` to other modules) and
returns the module-level imports and the definitions' source text, in an order where everything
is defined before the code that runs at import time needs it. Any relative import left inside a
chosen definition is an error: that code would need LayerLab at run time.
"""
from __future__ import annotations

import ast
import builtins
import functools
import importlib
from dataclasses import dataclass, field
from pathlib import Path

from .outcome import ExportError

SKIP = {"annotations", "TYPE_CHECKING"}


@dataclass
class Def:
    module: str
    name: str
    source: str
    uses: set[str]
    order: tuple[int, int]
    runs_at_import: bool          # an assignment (its value is evaluated when the file loads)
    imports_layerlab: bool = False  # a relative import inside its body


@dataclass
class ModuleInfo:
    name: str
    defs: dict[str, Def] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)      # bound name -> import line
    relative: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (module, name)


def _strip_annotations(node: ast.AST) -> ast.AST:
    """A copy without annotations: the script starts with `from __future__ import annotations`,
    so names used only in annotations are never evaluated and need not be copied."""
    import copy

    node = copy.deepcopy(node)
    for n in ast.walk(node):
        if isinstance(n, ast.arg):
            n.annotation = None
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n.returns = None
        elif isinstance(n, ast.AnnAssign):
            n.annotation = ast.Constant(None)
    return node


def _free_names(node: ast.AST) -> set[str]:
    node = _strip_annotations(node)
    loaded, stored = set(), set()
    # a method's name binds in the class namespace, which its sibling methods do not see
    methods = {id(n) for n in node.body} if isinstance(node, ast.ClassDef) else set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            (loaded if isinstance(n.ctx, ast.Load) else stored).add(n.id)
        elif isinstance(n, ast.arg):
            stored.add(n.arg)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            stored.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not node \
                and id(n) not in methods:
            stored.add(n.name)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        stored.discard(node.name)
        # decorators and defaults are evaluated in the enclosing scope
        for extra in getattr(node, "decorator_list", []):
            loaded |= {n.id for n in ast.walk(extra) if isinstance(n, ast.Name)}
    return loaded - stored


def _resolve(package: str, level: int, module: str | None) -> str:
    parts = package.split(".")
    base = parts[: len(parts) - level + 1]
    return ".".join(base + ([module] if module else []))


def read_module(name: str) -> ModuleInfo:
    """The module's top-level definitions and imports (parsed once per file version)."""
    path = Path(importlib.import_module(name).__file__)
    return _read(name, str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _read(name: str, file: str, mtime: int) -> ModuleInfo:
    path = Path(file)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    info = ModuleInfo(name)
    for i, node in enumerate(tree.body):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.Import):
            for a in node.names:
                bound = a.asname or a.name.split(".")[0]
                info.imports[bound] = f"import {a.name}" + (f" as {a.asname}" if a.asname else "")
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                bound = a.asname or a.name
                if node.level:
                    target = _resolve(package, node.level, node.module)
                    info.relative[bound] = (target, a.name)
                else:
                    alias = f" as {a.asname}" if a.asname else ""
                    info.imports[bound] = f"from {node.module} import {a.name}{alias}"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            src = "".join(lines[start - 1: node.end_lineno])
            inner = any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(node))
            info.defs[node.name] = Def(name, node.name, src, _free_names(node), (0, i), False, inner)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if not names or len(names) != len(targets):
                continue
            src = "".join(lines[node.lineno - 1: node.end_lineno])
            uses = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} if node.value is not None else set()
            for nm in names:
                info.defs[nm] = Def(name, nm, src, uses, (0, i), True)
    return info


def closure(module_names: list[str], roots: list[tuple[str, str]], provided: set[str] = frozenset()
            ) -> tuple[list[str], list[Def]]:
    """(import lines, definitions) needed by `roots` [(module, name)]. Names in `provided` are
    defined by the generated file itself and are neither copied nor followed."""
    modules = {n: read_module(n) for n in module_names}
    chosen: dict[tuple[str, str], Def] = {}
    imports: dict[str, str] = {}
    stack = list(roots)
    known_builtins = set(dir(builtins))
    while stack:
        mod, name = stack.pop()
        if name in provided or (mod, name) in chosen:
            continue
        info = modules.get(mod)
        if info is None:
            raise ExportError(f"internal: {name!r} lives in {mod}, which the script export does not copy from")
        if name in info.relative:
            stack.append(info.relative[name])
            continue
        d = info.defs.get(name)
        if d is None:
            if name in info.imports:
                imports[name] = info.imports[name]
                continue
            raise ExportError(f"internal: {mod} has no top-level {name!r} to copy")
        chosen[(mod, name)] = d
        for used in d.uses:
            if used in provided or used in SKIP:
                continue
            if used in info.defs or used in info.relative:
                stack.append((mod, used))
            elif used in info.imports:
                if imports.get(used, info.imports[used]) != info.imports[used]:
                    raise ExportError(f"internal: {used!r} is imported differently in two copied modules")
                imports[used] = info.imports[used]
            elif used not in known_builtins:
                pass   # a local name the scan could not tell apart; Python will say if it is missing
    by_name: dict[str, Def] = {}
    for d in chosen.values():
        other = by_name.get(d.name)
        if other is not None and other.source != d.source:
            raise ExportError(f"internal: two copied definitions are both named {d.name!r} "
                              f"({other.module} and {d.module})")
        by_name[d.name] = d
    for d in by_name.values():
        if d.imports_layerlab:
            raise ExportError(f"internal: {d.module}.{d.name} imports from LayerLab inside its body, so it "
                              "cannot run standalone")
    order = {n: i for i, n in enumerate(module_names)}
    defs = _ordered(list(by_name.values()), order)
    # several names bound by one assignment appear once
    seen, unique = set(), []
    for d in defs:
        if d.source not in seen:
            seen.add(d.source)
            unique.append(d)
    return sorted(set(imports.values())), unique


def _ordered(defs: list[Def], module_order: dict[str, int]) -> list[Def]:
    """Source order, except that anything an import-time statement (assignment, class body,
    decorator) needs comes first: a dependency-first walk in a stable order."""
    by_name = {d.name: d for d in defs}
    key = {d.name: (module_order.get(d.module, 99), d.order) for d in defs}
    out, state = [], {}

    def visit(d: Def):
        if state.get(d.name) == 2:
            return
        if state.get(d.name) == 1:
            return                      # a cycle through function bodies is fine at import time
        state[d.name] = 1
        if d.runs_at_import or d.source.lstrip().startswith(("class ", "@")):
            for u in sorted(d.uses & set(by_name), key=lambda n: key[n]):
                visit(by_name[u])
        state[d.name] = 2
        out.append(d)

    for d in sorted(defs, key=lambda d: key[d.name]):
        visit(d)
    return out
