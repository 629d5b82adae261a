"""How an export ends: `Exported` (the paths it wrote, plus facts for the report) or `ExportError`
(one line saying why not and what to do)."""
from __future__ import annotations

from pathlib import Path
from typing import Any


class ExportError(ValueError):
    """An export that cannot be made; the message says why and what to do."""


class Exported(list):
    """The paths an export wrote (a plain list of Path), plus `info`: facts for the report
    (opset, max difference measured against LayerLab's own model, ...)."""

    def __init__(self, paths=(), info: dict[str, Any] | None = None):
        super().__init__(Path(p) for p in paths)
        self.info = dict(info or {})
