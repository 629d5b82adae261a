"""Text from someone else's files, made safe to print: control characters (terminal escape
sequences, carriage returns, bidi overrides) removed and long names shortened, so a crafted
project can neither drive the terminal nor flood it."""
from __future__ import annotations

import io
import re
import unicodedata

# C0 (except tab and newline), DEL, C1 and the bidirectional overrides / isolates
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# what LayerLab's own progress line writes: carriage return and "erase to end of line"
_OWN = re.compile(r"\r\x1b\[K")


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


def shown(text, limit: int = 60) -> str:
    """`text` for a message: controls stripped, at most `limit` characters (middle elided)."""
    text = strip_controls(str(text))
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return f"{text[:head]}…{text[-(limit - head - 1):]}"


def has_controls(text: str) -> bool:
    return bool(_CONTROL.search(text)) or any(unicodedata.category(c) == "Cs" for c in text)


class SafeStream(io.TextIOBase):
    """A stdout / stderr wrapper that removes control characters from everything written,
    keeping only LayerLab's own progress-line redraw (\\r ESC [K)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        parts = _OWN.split(text)
        self._stream.write("\r\x1b[K".join(strip_controls(p) for p in parts))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._stream, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", "utf-8")
