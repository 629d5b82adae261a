"""`layerlab gui [PROJECT] [--screenshot PNG]`, registered through the `layerlab.commands`
entry point. Importing this module imports no Qt, so headless commands stay fast.

Before Qt starts, `display_problem()` checks that a window can open; when not, the
command prints one line with the cause and the fix instead of letting Qt abort.
"""
from __future__ import annotations

import ctypes.util
import glob
import os
import sys
from pathlib import Path

# Debian package -> library Qt's xcb platform plugin loads
XCB_LIBS = {
    "libxcb-cursor0": "xcb-cursor",
    "libxcb-icccm4": "xcb-icccm",
    "libxcb-keysyms1": "xcb-keysyms",
    "libxkbcommon-x11-0": "xkbcommon-x11",
}
LIB_DIRS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/lib/*-linux-gnu", "/lib/*-linux-gnu",
            "/usr/local/lib")


def has_library(name: str) -> bool:
    if ctypes.util.find_library(name):
        return True
    return any(glob.glob(os.path.join(d, f"lib{name}.so*")) for d in LIB_DIRS)


def x_display_reachable(display: str, timeout: float = 0.5) -> bool:
    """True if an X server answers at DISPLAY (`:0`, `unix:0`, `host:10.0`), by opening its
    socket; an unparsable DISPLAY counts as reachable (Qt then says what is wrong)."""
    import re
    import socket

    m = re.fullmatch(r"(?P<host>[^:]*):(?P<num>\d+)(?:\.\d+)?", display.strip())
    if not m:
        return True
    host, num = m["host"], int(m["num"])
    if host in ("", "unix") or host.startswith("/"):
        path = host if host.startswith("/") else f"/tmp/.X11-unix/X{num}"
        for address in (path, "\0" + path):  # the file, or Linux's abstract socket
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(timeout)
                    s.connect(address)
                    return True
            except OSError:
                continue
        if host == "unix" or host.startswith("/"):
            return False
        host = "localhost"
    try:
        with socket.create_connection((host, 6000 + num), timeout=timeout):
            return True
    except OSError:
        return False


def _qt_platform_plugins() -> set[str]:
    try:
        import importlib.util
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return set()
    if spec is None or not spec.submodule_search_locations:
        return set()
    folder = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms"
    return {p.name.split(".")[0].removeprefix("libq") for p in folder.glob("libq*.so")}


def display_problem(env=None, platform: str | None = None, find=has_library, plugins=None,
                    reachable=x_display_reachable) -> str | None:
    """None when a window can open, else one line naming the cause and the fix."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if qpa and qpa != "xcb":
        return None  # offscreen, wayland, vnc, eglfs…: the user chose; Qt reports its own errors
    if not qpa and env.get("WAYLAND_DISPLAY"):
        plugins = _qt_platform_plugins() if plugins is None else plugins
        if "wayland" in plugins:
            return None
    if not env.get("DISPLAY"):
        return ("no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset): run it in a desktop "
                "session, under Xvfb (xvfb-run layerlab gui), or set QT_QPA_PLATFORM=offscreen")
    missing = [pkg for pkg, lib in XCB_LIBS.items() if not find(lib)]
    if missing:
        return (f"Qt's xcb platform plugin needs libraries that are missing ({', '.join(missing)}): "
                f"sudo apt-get install {' '.join(missing)}")
    if not reachable(env["DISPLAY"]):
        return (f"no X server answers on DISPLAY={env['DISPLAY']}: start one (e.g. Xvfb {env['DISPLAY']} &), "
                "fix DISPLAY, or set QT_QPA_PLATFORM=offscreen")
    return None


def register(sub) -> None:
    p = sub.add_parser("gui", help="open the network builder (optionally on PROJECT)")
    p.add_argument("project", nargs="?",
                   help="a *.layerlab.json file (default: the project open at the last quit, else the start page)")
    p.add_argument("--example", action="store_true", help="open the built-in example project (what `make run` does)")
    p.add_argument("--screenshot", metavar="PNG",
                   help="render the window to PNG and exit (works without a display)")
    p.add_argument("--select", metavar="LAYER", help="with --screenshot: select this layer first")
    p.add_argument("--size", metavar="WxH", default="1360x820", help="with --screenshot: window size")
    p.set_defaults(func=run)


def run(args) -> int:
    from layerlab.core.cli import CliError

    problem = display_problem()
    if args.screenshot:
        if problem:  # no window needed: render offscreen
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return screenshot(args.project, args.screenshot, args.select, args.size, CliError)
    if problem:
        raise CliError(problem, 1)
    from .app import main
    return main([args.project] if args.project else (["--example"] if args.example else []))


def screenshot(project, png: str, select: str | None, size: str, error) -> int:
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise error(f"--size must look like 1360x820 (got {size!r})", 2) from None
    if project is not None and not Path(project).is_file():
        raise error(f"{project}: no such file", 2)
    from PySide6.QtWidgets import QApplication, QMessageBox

    from .app import create_window, ensure_app

    app = ensure_app()
    shown = []  # a file the window cannot open must not block on a dialog
    QMessageBox.critical = staticmethod(lambda parent, title, text, *a, **k: shown.append(text))
    win = create_window(project, restore_layout=False)
    win.persist_layout = False
    if shown:
        raise error(shown[0], 2)
    win.resize(width, height)
    win.show()
    for _ in range(3):
        app.processEvents()
    if select:
        node = win.document.graph.by_name(select)
        if node is None:
            raise error(f"no layer named {select!r}", 2)
        win.scene.select_nodes([node.id])
    win.view.fit_readable()
    if select:
        win.view.ensureVisible(win.scene.nodes[node.id], 40, 40)
    app.processEvents()
    out = Path(png)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not win.grab().save(str(out), "PNG"):
        raise error(f"cannot write {out}", 1)
    print(f"wrote {out} ({width}×{height})")
    win.document.undo_stack.setClean()
    win.close()
    return 0
