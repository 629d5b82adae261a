"""`layerlab gui`: screenshots offscreen, a one-line refusal where no window can open, and
a start-up path that does not import torch."""
import os
import subprocess
import sys
from pathlib import Path

from layerlab.gui.cli import XCB_LIBS, display_problem

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "resources" / "templates" / "digits_cnn.layerlab.json"


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"), **extra)
    return env


def _layerlab(*args, env, timeout=60):
    return subprocess.run([sys.executable, "-m", "layerlab.core.cli", "gui", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_screenshot_writes_a_png(tmp_path):
    png = tmp_path / "shot.png"
    r = _layerlab(str(TEMPLATE), "--screenshot", str(png), "--select", "conv2",
                  env=_env(tmp_path, QT_QPA_PLATFORM="offscreen"))
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QImage
    img = QImage(str(png))
    assert (img.width(), img.height()) == (1360, 820)


def test_screenshot_without_display_falls_back_to_offscreen(tmp_path):
    png = tmp_path / "shot.png"
    r = _layerlab("--screenshot", str(png), env=_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert png.is_file()


def test_screenshot_of_a_malformed_file_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.layerlab.json"
    bad.write_text("{")
    r = _layerlab(str(bad), "--screenshot", str(tmp_path / "x.png"), env=_env(tmp_path))
    assert r.returncode == 2
    assert "invalid JSON" in r.stderr and "Traceback" not in r.stderr


def test_no_display_is_one_line_with_the_fix_and_exit_1(tmp_path):
    r = _layerlab(env=_env(tmp_path), timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no display" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0]


def test_display_problem_cases():
    have_all = lambda name: True  # noqa: E731
    have_none = lambda name: False  # noqa: E731
    up = lambda display: True  # noqa: E731
    assert display_problem({}, "darwin") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", have_none) is None
    assert "no display" in display_problem({}, "linux", have_all)
    assert display_problem({"DISPLAY": ":0"}, "linux", have_all, reachable=up) is None
    msg = display_problem({"DISPLAY": ":0"}, "linux", lambda n: n != "xcb-cursor", reachable=up)
    assert msg.count("\n") == 0 and "apt-get install libxcb-cursor0" in msg
    msg = display_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux", have_none, reachable=up)
    assert all(pkg in msg for pkg in XCB_LIBS)
    msg = display_problem({"DISPLAY": ":42"}, "linux", have_all, reachable=lambda d: False)
    assert "no X server answers on DISPLAY=:42" in msg and "Xvfb" in msg
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", have_none, plugins={"wayland"}) is None
    assert "no display" in display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", have_all, plugins=set())


def test_unreachable_x_display_is_detected(tmp_path):
    from layerlab.gui.cli import x_display_reachable
    assert x_display_reachable(":987") is False  # nothing listens there
    assert x_display_reachable("not a display") is True  # Qt reports malformed values itself


def test_window_shows_without_importing_torch(tmp_path):
    code = ("import sys\n"
            "from layerlab.gui.app import create_window\n"
            "w = create_window(); w.show()\n"
            "from PySide6.QtWidgets import QApplication; QApplication.processEvents()\n"
            "assert len(w.scene.nodes) == 16\n"
            "print('torch' in sys.modules)\n"
            "w.document.undo_stack.setClean(); w.close()\n")
    r = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
