"""One call in a worker thread, answered on the GUI thread: `done(value, error)` with the call's
value (None when it raised) and the error as one line. The call must not touch Qt objects."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal


class Background(QObject):
    done = Signal(object, str)

    def run(self, call, name: str) -> None:
        def work():
            try:
                value, error = call(), ""
            except Exception as e:     # noqa: BLE001 - one line for the user; the core's errors say why
                value, error = None, str(e).splitlines()[0] if str(e) else type(e).__name__
            self.done.emit(value, error)

        threading.Thread(target=work, name=name, daemon=True).start()
