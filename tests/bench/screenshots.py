"""Screenshots of the app as a person sees it, on a real X server (Xvfb, Qt xcb), at 1366x768 and
1920x1080: the start page, the builder, a training run, each dashboard tab, each set-up dock, the export dialog.

    python -m tests.bench.screenshots [OUT_DIR]     (default: build/screenshots)

Each size runs in its own process on its own Xvfb whose screen is that size, with throw-away
settings and data folders. The README's two pictures (docs/screenshot-builder.png,
docs/screenshot-training.png) are copied from the 1920x1080 set. Not a benchmark (the bench
runner only collects bench_*.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZES = ((1366, 768), (1920, 1080))


def _shoot(out: Path, w: int, h: int) -> list[Path]:
    """In the child: the window maximised to the screen, one PNG per view."""
    from PySide6.QtWidgets import QApplication

    from layerlab.gui.app import create_window
    from layerlab.gui.training.ui import install_training_ui

    win = create_window()      # the example, untitled: what a first start shows
    ui = install_training_ui(win)
    ui.runs_root_override = Path(tempfile.mkdtemp(prefix="layerlab-shots-runs-"))
    win.resize(w, h - 30)
    win.show()
    app = QApplication.instance()
    shots: list[Path] = []

    def wait(ms: int) -> None:
        from PySide6.QtCore import QDeadlineTimer, QEventLoop
        deadline = QDeadlineTimer(ms)
        while not deadline.hasExpired():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

    def grab(name: str, widget=None) -> None:
        wait(300)
        path = out / f"{w}x{h}-{name}.png"
        (widget or win).grab().save(str(path))
        shots.append(path)

    while not ui.is_ready:
        wait(100)
    wait(800)
    win.show_start_page()
    grab("start-page")
    win.hide_start_page()
    grab("builder")
    for key, dock in ui.docks.items():
        dock.show()
        dock.raise_()
        grab(f"setup-{key.lower()}")
    win.document.project.training.epochs = 6
    ui.train()
    wait(1000)
    for _ in range(300):         # the dashboard with a curve in it, also on a busy machine
        store = ui.controller.store
        if store is not None and len(store.epochs) >= 2 or not ui.controller.running:
            break
        wait(200)
    for i in range(ui.dashboard.tabs.count()):
        ui.dashboard.tabs.setCurrentIndex(i)
        grab(f"dashboard-{i + 1}")
    while ui.controller.running:
        wait(200)
    ui.dashboard.tabs.setCurrentIndex(0)
    inspect = ui.dashboard.inspect_tabs
    for i in range(inspect.count()):    # saliency, feature maps, boundary, confusion: each computed
        inspect.setCurrentIndex(i)
        wait(3000)
        grab(f"inspect-{i + 1}")
    inspect.setCurrentIndex(0)
    wait(2000)
    grab("training-finished")       # the README picture: every card drawn, saliency computed
    dialog = win.export()
    if dialog is not None:
        dialog.show()
        grab("export-dialog", dialog)
        dialog.close()
    win.document.undo_stack.setClean()
    win.close()
    return shots


def _child(out: str, w: int, h: int) -> int:
    for p in _shoot(Path(out), w, h):
        print(p, flush=True)
    return 0


def main(out: Path = ROOT / "build" / "screenshots") -> int:
    sys.path.insert(0, str(ROOT))
    from tests.gui.display import _start_xvfb, _stop
    out.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix="layerlab-shots-home-")
    failed = 0
    for w, h in SIZES:
        os.environ["LAYERLAB_TEST_SCREEN"] = f"{w}x{h}x24"
        import tests.gui.display as display
        display.SCREEN = f"{w}x{h}x24"
        started = _start_xvfb()
        if started is None:
            print("screenshots: no Xvfb; install it (.ci/run does)", file=sys.stderr)
            return 1
        proc, name = started
        env = dict(os.environ, DISPLAY=name, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=f"{home}/cfg{w}",
                   XDG_DATA_HOME=f"{home}/data{w}")
        try:
            r = subprocess.run([sys.executable, "-m", "tests.bench.screenshots", "--child", str(out), str(w), str(h)],
                               env=env, cwd=ROOT, timeout=600)
            failed += r.returncode != 0
        finally:
            _stop(proc)
    for name, readme in (("builder", "screenshot-builder.png"), ("training-finished", "screenshot-training.png")):
        shot = out / f"1920x1080-{name}.png"
        if shot.is_file():
            shutil.copyfile(shot, ROOT / "docs" / readme)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "screenshots"))
