"""The memory budget for what files make LayerLab allocate: a data set, a network's parameters.

A small file can describe a huge allocation (a gzip bomb, an npz header claiming 10^13 values,
a CSV whose text columns one-hot encode to billions of cells). Sizes are estimated from headers
and counts first and refused above the budget, with one line that names the size, the budget and
how to change it. Default: half of the computer's memory; LAYERLAB_MEMORY_BUDGET sets it
(e.g. "8GB", "500MB" or a number of MB)."""
from __future__ import annotations

import os
import re

ENV = "LAYERLAB_MEMORY_BUDGET"
FRACTION = 0.5
_UNITS = {"": 2**20, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30,
          "t": 2**40, "tb": 2**40}


class BudgetError(ValueError):
    """An allocation a file asks for that is over the memory budget (one line)."""


def machine_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def budget_bytes() -> int:
    text = os.environ.get(ENV, "").strip().lower()
    if text:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?b?)", text)
        if m and float(m.group(1)) > 0:
            return int(float(m.group(1)) * _UNITS[m.group(2)])
    limit = machine_bytes() * FRACTION
    try:   # under an address-space limit (ulimit -v) the libraries' own mappings take much of it
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, soft * 0.25)
    except (ImportError, ValueError, OSError):
        pass
    return int(limit)


def human(n: float) -> str:
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{int(n):,} bytes"


def check_budget(size: float, what: str, budget: int | None = None) -> None:
    """Raise BudgetError when `size` bytes for `what` exceed the budget."""
    budget = budget_bytes() if budget is None else budget
    if size > budget:
        raise BudgetError(f"{what} would take {human(size)} of memory, over LayerLab's budget of "
                          f"{human(budget)}: make it smaller, or set {ENV} (e.g. {ENV}=16GB) if the computer "
                          "has the memory")
