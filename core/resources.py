"""Where LayerLab's bundled files live (templates, example project, sample text)."""
from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent / "resources"


def resource_dir() -> Path:
    """The installed `layerlab.resources` package, or the source tree's resources/."""
    try:
        from importlib.resources import files
        path = Path(str(files("layerlab.resources")))
        if path.is_dir():
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return _ROOT


def templates_dir() -> Path:
    return resource_dir() / "templates"


def template_names() -> list[str]:
    return sorted(p.name[: -len(".layerlab.json")] for p in templates_dir().glob("*.layerlab.json"))


def template_path(name: str) -> Path:
    path = templates_dir() / f"{name}.layerlab.json"
    if not path.is_file():
        raise FileNotFoundError(f"no template {name!r}; templates: {', '.join(template_names())}")
    return path


def example_project() -> Path:
    """The project `make run` opens."""
    return template_path("digits_cnn")
