"""Safe names for generated code: identifiers checked against a strict pattern, class names made
from the project name."""
from __future__ import annotations

import keyword
import re

from .outcome import ExportError

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def identifier(name: str) -> str:
    """`name` if it is a safe Python identifier for generated code, else ExportError."""
    if not isinstance(name, str) or not IDENT.match(name) or keyword.iskeyword(name):
        raise ExportError(f"{name!r} cannot be a name in generated code: rename the layer "
                          "(letters, digits and _, starting with a letter)")
    return name


def class_name(project_name: str, taken: frozenset[str] = frozenset()) -> str:
    """A CamelCase class name from the project name, made only of [A-Za-z0-9]."""
    words = re.findall(r"[A-Za-z0-9]+", project_name or "")
    name = "".join(w[:1].upper() + w[1:] for w in words)[:64]
    if not name or not name[0].isalpha():
        name = "Network" + name
    if keyword.iskeyword(name) or name in taken:
        name += "Model"
    return identifier(name)
