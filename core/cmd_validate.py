"""`layerlab validate PROJECT`: a table of layers and shapes; exit 1 on problems, 2 on a bad file."""
from __future__ import annotations

from .analysis import analyze
from .cli import load_project_or_exit


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a project's network and print its layers and shapes")
    p.add_argument("project", help="a *.layerlab.json file")
    p.set_defaults(func=run)


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < len(r) - 1 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args) -> int:
    project = load_project_or_exit(args.project)
    graph = project.graph
    a = analyze(graph)
    listed = a.order + [n for n in graph.nodes if n not in a.order]
    rows = [("node", "type", "output shape", "params")]
    for nid in listed:
        node = graph.nodes[nid]
        shape = str(a.shapes[nid]) if nid in a.shapes else "?"
        rows.append((node.name, node.type, shape, f"{a.param_counts.get(nid, 0):,}"))
    print(format_table(rows))
    print(f"\n{len(graph.nodes)} layers, {a.total_params:,} trainable parameters")
    for p in a.problems:
        print(f"{p.severity}: {p}")
    settings = project.training.problems() + project.data.problems()   # what `train` would refuse
    if project.training.device in ("cuda", "mps"):       # torch only for a device that may be missing
        from .train.checks import device_problem
        settings += [str(p) for p in [device_problem(project.training.device)] if p is not None]
    for message in settings:
        print(f"error: {message}")
    if not a.ok or settings:
        print(f"\n{len(a.errors) + len(settings)} problem(s): the project cannot be trained as it is")
        return 1
    return 0
