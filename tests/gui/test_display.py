"""The GUI tests run on a real X server (xcb) whenever Xvfb is installed; offscreen is the fallback."""
import os
import shutil

from PySide6.QtGui import QGuiApplication

from . import display
from .conftest import PLATFORM


def test_suite_runs_on_xcb_when_xvfb_is_installed(qapp):
    if "from QT_QPA_PLATFORM" in PLATFORM:
        assert QGuiApplication.platformName() == os.environ["QT_QPA_PLATFORM"]
    elif shutil.which("Xvfb"):
        assert QGuiApplication.platformName() == "xcb", PLATFORM
    else:
        assert QGuiApplication.platformName() == "offscreen"


def test_falls_back_to_offscreen_without_xvfb(monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(display.shutil, "which", lambda name: None)
    assert display.choose_platform() == "Qt platform offscreen: no Xvfb found"
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


def test_own_xvfb_starts_and_serves_xcb(monkeypatch):
    if not shutil.which("Xvfb"):
        return  # nothing to start here; the fallback test covers this machine
    started = display._start_xvfb()
    assert started is not None
    proc, name = started
    try:
        env = dict(os.environ, QT_QPA_PLATFORM="xcb", DISPLAY=name)
        assert display._works(env)
    finally:
        display._stop(proc)
