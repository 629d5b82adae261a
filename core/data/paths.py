"""Which files a data spec reads that lie outside the project's folder (`../../etc/passwd`, an
absolute path, a class folder symlinked into /usr): the command line names them before reading,
the app asks first."""
from __future__ import annotations

from pathlib import Path

from ..specs import FILE_SOURCES


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def data_paths(spec, base_dir) -> list[Path]:
    """The paths the spec names (data.path, and the IDX labels / images options), made absolute."""
    if spec.dataset not in FILE_SOURCES:
        return []
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    names = [spec.path] if isinstance(spec.path, str) and spec.path else []
    options = spec.options if isinstance(spec.options, dict) else {}
    if spec.dataset == "idx":
        names += [v for k, v in options.items() if k in ("labels", "images") and isinstance(v, str) and v]
    out = []
    for name in names:
        p = Path(name).expanduser()
        out.append(p if p.is_absolute() else base / p)
    return out


def outside_project(spec, base_dir) -> list[Path]:
    """Resolved data files and folders the spec reads outside `base_dir` (symlinks followed;
    an image folder's class folders each checked)."""
    root = (Path(base_dir) if base_dir is not None else Path.cwd()).resolve()
    found = []
    for p in data_paths(spec, base_dir):
        if not _inside(p, root):
            found.append(p.resolve())
        elif spec.dataset == "images" and p.is_dir():
            try:
                found += [c.resolve() for c in sorted(p.iterdir()) if c.is_dir() and not _inside(c, root)]
            except OSError:
                continue
    return found
