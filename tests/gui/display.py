"""Pick the Qt platform for GUI tests before Qt is imported: a real X server (xcb) when one can
be had, offscreen otherwise. Real windows catch what offscreen hides (window sizes, fonts,
focus, wheel events), so xcb is the default.

Order: an explicit QT_QPA_PLATFORM wins; else our own Xvfb on a free display (never the
user's desktop); else offscreen. The chosen platform is checked by starting a QApplication
in a child process, because Qt aborts the process when the xcb plugin cannot load."""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys

_PROBE = "from PySide6.QtWidgets import QApplication; QApplication([]); print('ok')"
SCREEN = os.environ.get("LAYERLAB_TEST_SCREEN", "1920x1080x24")


def _start_xvfb() -> tuple[subprocess.Popen, str] | None:
    """Start Xvfb on a free display number (it picks one and writes it to a pipe when ready)."""
    xvfb = shutil.which("Xvfb")
    if not xvfb:
        return None
    read, write = os.pipe()
    try:
        proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
                                pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None
    finally:
        os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number.isdigit():
        proc.kill()
        return None
    atexit.register(_stop, proc)
    return proc, f":{number}"


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def _works(env: dict) -> bool:
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "ok" in out.stdout


def choose_platform() -> str:
    """Set QT_QPA_PLATFORM (and DISPLAY for xcb) in os.environ; return a one-line description."""
    wanted = os.environ.get("QT_QPA_PLATFORM")
    if wanted and wanted != "xcb":
        return f"Qt platform {wanted} (from QT_QPA_PLATFORM)"
    if wanted == "xcb" and os.environ.get("DISPLAY"):
        return f"Qt platform xcb on DISPLAY={os.environ['DISPLAY']} (from QT_QPA_PLATFORM)"
    started = _start_xvfb()
    if started:
        proc, display = started
        env = dict(os.environ, QT_QPA_PLATFORM="xcb", DISPLAY=display)
        if _works(env):
            os.environ.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
            return f"Qt platform xcb on our own Xvfb {display} ({SCREEN})"
        _stop(proc)
        reason = "xcb could not start on Xvfb (missing xcb libraries? run .ci/run)"
    else:
        reason = "no Xvfb found"
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return f"Qt platform offscreen: {reason}"
