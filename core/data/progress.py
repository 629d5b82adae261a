"""Progress and cancellation for `load`: the GUI loads data sets in a worker thread, shows how
far it got and may stop it (a newer request, or Cancel).

A `Watch` maps its part of the work onto [lo, hi] of the whole; `step(fraction)` reports and
checks the cancel flag, raising `LoadCancelled`. CSV files are read through `WatchedFile`, so
the check runs per block the parser reads (256 KB), not once per file."""
from __future__ import annotations

import io
import os
from typing import Callable

from .errors import LoadCancelled


class Watch:
    def __init__(self, progress: Callable[[float], None] | None = None,
                 cancelled: Callable[[], bool] | None = None, lo: float = 0.0, hi: float = 1.0):
        self.progress, self.cancelled, self.lo, self.hi = progress, cancelled, lo, hi

    def check(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise LoadCancelled("loading cancelled")

    def step(self, fraction: float) -> None:
        self.check()
        if self.progress is not None:
            self.progress(self.lo + (self.hi - self.lo) * min(1.0, max(0.0, fraction)))

    def part(self, lo: float, hi: float) -> Watch:
        """The sub-range [lo, hi] of this watch's range (fractions of it)."""
        span = self.hi - self.lo
        return Watch(self.progress, self.cancelled, self.lo + span * lo, self.lo + span * hi)

    def file(self, path) -> WatchedFile:
        return WatchedFile(path, self)


def watch_of(progress=None, cancel=None) -> Watch:
    """`cancel` is a callable returning True to stop, or an object with `is_set()` (threading.Event)."""
    cancelled = getattr(cancel, "is_set", cancel)
    if cancelled is not None and not callable(cancelled):
        raise TypeError("cancel must be callable or have is_set()")
    return Watch(progress, cancelled)


class WatchedFile(io.FileIO):
    """A binary file that reports the share read and checks the cancel flag on every read."""

    def __init__(self, path, watch: Watch):
        super().__init__(path, "r")
        self.watch = watch
        self.size = max(1, os.fstat(self.fileno()).st_size)

    def _seen(self) -> None:
        self.watch.step(self.tell() / self.size)

    def read(self, size: int = -1) -> bytes:
        self.watch.check()
        data = super().read(size)
        self._seen()
        return data

    def readinto(self, buffer) -> int:
        self.watch.check()
        n = super().readinto(buffer)
        self._seen()
        return n
