"""Project = graph + data spec + training spec, stored as `*.layerlab.json`.

Loading is versioned (older versions migrate) and every malformed input becomes a
ProjectError with a one-line message; saving is atomic (temp file, fsync, rename).
"""
from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .graph import MAX_NODES, Graph, GraphError
from .safe_text import shown, strip_controls
from .specs import DataSpec, SpecError, TrainSpec, spec_from_dict, spec_to_dict

FORMAT = "layerlab.project"
VERSION = 2                     # 2: block definitions ("blocks")
SUFFIX = ".layerlab.json"
MAX_FILE_BYTES = 64 * 2**20     # a project is a few KB; larger is a crafted or wrong file
MAX_DEPTH = 32                  # the format nests 7 deep; deeper would recurse in save and export
MAX_NAME = 200                  # project name, shown in titles and messages
MAX_DESCRIPTION = 4_000_000   # free notes; still bounded
MAX_BLOCKS = 1_000              # block definitions per project
_BLOCK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


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
                "graph": self.graph.to_dict(), "blocks": blocks_to_dict(self.graph.blocks),
                "data": spec_to_dict(self.data),
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
        for key, limit in (("name", MAX_NAME), ("description", MAX_DESCRIPTION)):
            value = doc.get(key, "")
            if not isinstance(value, str):
                raise ProjectError(f"{key} must be a string")
            if len(value) > limit:
                raise ProjectError(f"the project's {key} is {len(value):,} characters long (at most {limit:,}): "
                                   f"shorten it ({shown(value, 40)!r})")
        depth = nesting_depth(doc)
        if depth > MAX_DEPTH:
            raise ProjectError(f"the project nests {depth} levels deep (a project needs under {MAX_DEPTH}): "
                               "the file is crafted or damaged; remove the deep value")
        try:
            graph = Graph.from_dict(doc.get("graph"))
            graph.blocks = blocks_from_dict(doc.get("blocks", {}))
            return cls(graph=graph,
                       data=spec_from_dict(DataSpec, doc.get("data"), "data"),
                       training=spec_from_dict(TrainSpec, doc.get("training"), "training"),
                       name=strip_controls(doc.get("name", "Untitled")), description=doc.get("description", ""))
        except (GraphError, SpecError) as e:
            raise ProjectError(str(e)) from None


def blocks_to_dict(blocks: dict[str, Graph]) -> dict[str, Any]:
    return {name: sub.to_dict() for name, sub in blocks.items()}


def blocks_from_dict(raw: Any) -> dict[str, Graph]:
    """Block definitions from parsed JSON (name -> sub-graph); GraphError names the bad one."""
    if not isinstance(raw, dict):
        raise GraphError("blocks must be an object mapping block names to sub-graphs")
    if len(raw) > MAX_BLOCKS:
        raise GraphError(f"the project defines {len(raw):,} blocks (at most {MAX_BLOCKS:,})")
    blocks, total = {}, 0
    for name, sub in raw.items():
        check_block_name(name)
        try:
            blocks[name] = Graph.from_dict(sub)
        except GraphError as e:
            raise GraphError(f"block {name!r}: {e}") from None
        total += len(blocks[name].nodes)
        if total > MAX_NODES:
            raise GraphError(f"the blocks hold over {MAX_NODES:,} nodes", "split the project")
    return blocks


def check_block_name(name: Any) -> None:
    if not isinstance(name, str) or not _BLOCK_NAME.match(name):
        raise GraphError(f"{shown(repr(name), 80)} is not a valid block name",
                         "use letters, digits and _, starting with a letter (at most 64)")


def nesting_depth(doc: Any) -> int:
    """How deep lists and objects nest (iterative: a crafted file must not exhaust the stack)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


# version N -> function turning a version-N document into version N+1
MIGRATIONS: dict[int, Callable[[dict], dict]] = {
    # v0 (pre-release) kept the graph's edges as [src, dst, slot] triples
    0: lambda d: {**d, "version": 1, "graph": {
        **d.get("graph", {}),
        "edges": [{"src": e[0], "dst": e[1], "slot": e[2] if len(e) > 2 else 0} if isinstance(e, list) else e
                  for e in (d.get("graph") or {}).get("edges", [])]}},
    # v1 had no blocks
    1: lambda d: {**d, "version": 2, "blocks": d.get("blocks", {})},
}


def migrate(doc: dict) -> dict:
    while doc["version"] < VERSION:
        doc = MIGRATIONS[doc["version"]](doc)
    return doc


def load_project(path: str | os.PathLike) -> Project:
    p = Path(path)
    doc = read_json_file(p, MAX_FILE_BYTES, "a project", ".layerlab.json")
    try:
        return Project.from_dict(doc)
    except ProjectError as e:
        # one line, even when the file's own text (a key, a name) holds line breaks
        raise ProjectError(f"{p}: " + shown(" ".join(str(e).splitlines()), 600)) from None


def read_json_file(p: Path, max_bytes: int, what: str, suffix: str) -> Any:
    """Parsed JSON of a file from anyone: a regular file of at most `max_bytes`, UTF-8, numbers
    Python can read; every failure is a one-line ProjectError naming the file."""
    try:
        info = p.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):
            raise ProjectError(f"{p}: not a regular file (a device or pipe): open a {suffix} file")
        if info.st_size > max_bytes:
            raise ProjectError(f"{p}: {info.st_size / 2**20:,.0f} MB, far larger than {what} (at most "
                               f"{max_bytes // 2**20} MB): is it really a {suffix}?")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ProjectError(f"{p}: is a folder, not {what} file") from None
    except UnicodeDecodeError:
        raise ProjectError(f"{p}: not a text file (is it really a {suffix}?)") from None
    except OSError as e:
        raise ProjectError(f"{p}: cannot read ({e.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ProjectError(f"{p}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise ProjectError(f"{p}: JSON nested too deeply") from None
    except ValueError as e:   # an integer of thousands of digits (Python's int-parsing limit)
        raise ProjectError(f"{p}: holds a number too long to read ({shown(e, 80)}): the file is crafted or "
                           "damaged") from None


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write beside the target, fsync, then rename over it: a crash leaves old or new, never half.
    The file keeps its permissions (a new one gets the usual mode under the umask); hidden temp
    files that an earlier, killed save left beside it are removed."""
    p = Path(path)
    mode = _mode_for(p)
    clean_stale_temps(p)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
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


def _mode_for(p: Path) -> int:
    try:
        return stat.S_IMODE(p.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:   # read, not set: os.umask would change it for every thread for a moment
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


STALE_TEMP_S = 30.0   # a save takes milliseconds; an older temp file is from a killed one


def clean_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove `.NAME.xxxxxxxx.tmp` files (mkstemp's pattern for this very file) older than
    STALE_TEMP_S; nothing else is touched. Returns what was removed."""
    p = Path(path)
    pattern = re.compile(rf"^\.{re.escape(p.name)}\.[A-Za-z0-9_]{{8}}\.tmp$")
    removed = []
    try:
        entries = list(os.scandir(p.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        try:
            if (pattern.match(entry.name) and entry.is_file(follow_symlinks=False)
                    and now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_S):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def save_project(project: Project, path: str | os.PathLike) -> None:
    atomic_write_text(path, json.dumps(project.to_dict(), indent=2, ensure_ascii=False) + "\n")
