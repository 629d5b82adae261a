"""Data files from someone else: read only regular files, and know what a file will become in
memory before allocating it (the budget is core.memory's: a fraction of the computer's memory,
or LAYERLAB_MEMORY_BUDGET)."""
from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

from ..memory import BudgetError, check_budget
from .errors import DataError

# the features exist as a float32 array, as a tensor, split into train / val / test and
# preprocessed: about four float32 copies of the data set at the peak
COPIES = 4


def regular_file(path: Path, what: str) -> os.stat_result:
    """stat of `path`, refusing anything but a regular file (a device never ends, a FIFO blocks)."""
    try:
        info = path.stat()
    except OSError as e:
        raise DataError(f"{what} {path} cannot be read ({e.strerror or e}): check the path") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket, not a regular file"
        raise DataError(f"{what} {path} is {kind}: point it at a data file")
    return info


def check_bytes(size: float, what: str) -> None:
    """DataError when `size` bytes exceed the memory budget."""
    try:
        check_budget(size, what)
    except BudgetError as e:
        raise DataError(str(e)) from None


def dataset_bytes(values: float) -> float:
    """What `values` float32 numbers cost once loaded, split and preprocessed."""
    return float(values) * 4 * COPIES


def read_bytes(path: Path, what: str, limit: int) -> bytes:
    """A regular file's bytes; refused before reading when larger than `limit`."""
    info = regular_file(path, what)
    if info.st_size > limit:
        check_bytes(info.st_size, f"{what} {path.name}")
    with open(path, "rb") as f:
        return f.read(min(limit, info.st_size) + 1)   # read(n) reserves n bytes up front


def gunzip(data: bytes, limit: int, name: str, whole: bool = True) -> bytes:
    """Decompress at most `limit` bytes; with `whole`, a stream that holds more is refused (a gzip
    bomb); without, the first `limit` bytes are returned."""
    import io
    import zlib
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
            out = f.read(limit + 1 if whole else limit)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"IDX file {name} is a broken gzip archive ({e}): download it again") from None
    if len(out) > limit:
        raise DataError(f"IDX file {name} unpacks to more than the {limit:,} bytes its header promises: "
                        "the archive is damaged or crafted; download it again")
    return out
