"""Project = graph + data spec + training spec, stored as `*.layerlab.json`.

Loading is versioned (older versions migrate) and every malformed input becomes a
ProjectError with a one-line message; saving is atomic (temp file, fsync, rename).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .graph import Graph, GraphError
from .specs import DataSpec, SpecError, TrainSpec, spec_from_dict, spec_to_dict

FORMAT = "layerlab.project"
VERSION = 1
SUFFIX = ".layerlab.json"


class ProjectError(Exception):
    """A project file that cannot be read. str() is one line naming file and cause."""


@dataclass
class Project:
    graph: Graph = field(default_factory=Graph)
    data: DataSpec = field(default_factory=DataSpec)
    training: TrainSpec = field(default_factory=TrainSpec)
    name: str = "Untitled"
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "name": self.name, "description": self.description,
                "graph": self.graph.to_dict(), "data": spec_to_dict(self.data),
                "training": spec_to_dict(self.training)}

    @classmethod
    def from_dict(cls, doc: Any) -> "Project":
        if not isinstance(doc, dict):
            raise ProjectError("not a LayerLab project: the top level must be a JSON object")
        if doc.get("format") != FORMAT:
            raise ProjectError(f"not a LayerLab project: format is {doc.get('format')!r}, expected {FORMAT!r}")
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ProjectError("the project has no valid version number")
        if version > VERSION:
            raise ProjectError(f"the project is version {version}, newer than this LayerLab reads "
                               f"({VERSION}): update LayerLab")
        doc = migrate(doc)
        for key in ("name", "description"):
            if not isinstance(doc.get(key, ""), str):
                raise ProjectError(f"{key} must be a string")
        try:
            return cls(graph=Graph.from_dict(doc.get("graph")),
                       data=spec_from_dict(DataSpec, doc.get("data"), "data"),
                       training=spec_from_dict(TrainSpec, doc.get("training"), "training"),
                       name=doc.get("name", "Untitled"), description=doc.get("description", ""))
        except (GraphError, SpecError) as e:
            raise ProjectError(str(e)) from None


# version N -> function turning a version-N document into version N+1
MIGRATIONS: dict[int, Callable[[dict], dict]] = {
    # v0 (pre-release) kept the graph's edges as [src, dst, slot] triples
    0: lambda d: {**d, "version": 1, "graph": {
        **d.get("graph", {}),
        "edges": [{"src": e[0], "dst": e[1], "slot": e[2] if len(e) > 2 else 0} if isinstance(e, list) else e
                  for e in (d.get("graph") or {}).get("edges", [])]}},
}


def migrate(doc: dict) -> dict:
    while doc["version"] < VERSION:
        doc = MIGRATIONS[doc["version"]](doc)
    return doc


def load_project(path: str | os.PathLike) -> Project:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ProjectError(f"{p}: is a folder, not a project file") from None
    except UnicodeDecodeError:
        raise ProjectError(f"{p}: not a text file (is it really a .layerlab.json?)") from None
    except OSError as e:
        raise ProjectError(f"{p}: cannot read ({e.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProjectError(f"{p}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise ProjectError(f"{p}: JSON nested too deeply") from None
    try:
        return Project.from_dict(doc)
    except ProjectError as e:
        # one line, even when the file's own text (a key, a name) holds line breaks
        raise ProjectError(f"{p}: " + " ".join(str(e).splitlines())) from None


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write beside the target, fsync, then rename over it: a crash leaves old or new, never half."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(p.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_project(project: Project, path: str | os.PathLike) -> None:
    atomic_write_text(path, json.dumps(project.to_dict(), indent=2, ensure_ascii=False) + "\n")
