"""Builder figures: start-up to a shown window (fresh process), load + fit of a 300-node
graph, and one parameter edit to a refreshed canvas on it."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import big_graph, figure

ROOT = Path(__file__).resolve().parents[2]


def _env(home: Path) -> dict:
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), LAYERLAB_EXIT_WHEN_SHOWN="1",
               XDG_CONFIG_HOME=str(home / "cfg"), XDG_DATA_HOME=str(home / "data"))
    return env


def _startup(cmd: list[str], env: dict) -> tuple[float, str]:
    """Seconds from launching `cmd` to its 'window shown' line."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = ""
    for line in proc.stdout:
        if line.startswith("layerlab: window shown"):
            break
    elapsed = time.perf_counter() - t0
    proc.wait(timeout=60)
    if "window shown" not in line:
        raise RuntimeError(f"{' '.join(cmd)} never showed its window (exit {proc.returncode})")
    return elapsed, line.strip()


def startup_figures(home: Path, runs: int = 3) -> list[dict]:
    env = _env(home)
    cli = [sys.executable, "-m", "layerlab.core.cli", "gui"]
    direct = [sys.executable, "-m", "layerlab.gui.app"]
    _startup(direct, env)  # warm the file cache: what a second launch sees
    t_cli, line = zip(*(_startup(cli, env) for _ in range(runs)))
    t_direct, line_direct = zip(*(_startup(direct, env) for _ in range(runs)))
    return [figure("startup_window_s", statistics.median(t_cli), "s", 1.5,
                   note=f"`layerlab gui` on the example project, launch to window shown, median of {runs} "
                        f"({line[-1].split('(')[-1].rstrip(')')}); the GUI alone (python -m layerlab.gui.app): "
                        f"{statistics.median(t_direct):.2f} s ({line_direct[-1].split('(')[-1].rstrip(')')}); "
                        "reference: the 1.5 s target")]


def canvas_figures(home: Path) -> list[dict]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("XDG_CONFIG_HOME", str(home / "cfg"))
    os.environ.setdefault("XDG_DATA_HOME", str(home / "data"))
    from PySide6.QtWidgets import QApplication

    from layerlab.core.project import Project, save_project
    from layerlab.gui.app import create_window
    from layerlab.gui.commands import SetParam

    graph = big_graph(300)
    path = home / "big.layerlab.json"
    save_project(Project(graph=graph, name="300 layers"), path)
    win = create_window()
    win.resize(1360, 820)
    win.show()
    app = QApplication.instance()
    app.processEvents()

    loads = []
    for _ in range(3):
        t0 = time.perf_counter()
        assert win.files.load(path)
        win.view.fit()
        app.processEvents()  # items built, analysis shown, canvas painted
        loads.append(time.perf_counter() - t0)
    assert len(win.scene.nodes) == 300 and win.document.analysis.ok

    # steady state: the training UI imports torch in a background thread for a few seconds after
    # start-up (holding the GIL in bursts); edits are measured once that is done
    deadline = time.perf_counter() + 60
    while not win.training.is_ready and time.perf_counter() < deadline:
        app.processEvents()
    g = win.document.graph
    head = next(n for n in reversed(list(g.nodes.values())) if n.type == "Dense")
    item = win.scene.nodes[head.id]
    win.view.reset_zoom()
    win.view.centerOn(item)  # nodes drawn in full, not as far-out tiles
    app.processEvents()
    edits = []
    for k in range(31):
        units = 10 + (k % 2) * 6
        t0 = time.perf_counter()
        win.document.push(SetParam(g, head.id, "units", units))
        win.document.flush()      # shape inference + validation of all 300 nodes
        app.processEvents()       # the changed nodes repaint
        edits.append(time.perf_counter() - t0)
        assert item.shape_text == f"[B, {units}]"
    win.document.undo_stack.setClean()
    win.close()
    return [
        figure("load_fit_300_s", statistics.median(loads), "s", 1.0,
               note="open a 300-node project, build the canvas, fit, paint (median of 3); reference: 1 s target"),
        figure("edit_revalidate_300_ms", statistics.median(edits[1:]) * 1e3, "ms", 20.0,
               note="one parameter edit as an undo command to re-analysed, repainted canvas on the 300-node "
                    "graph (median of 30); reference: 20 ms target"),
    ]


def data_load_figures(home: Path) -> list[dict]:
    """A 5 ms timer on the GUI thread while the GUI's DataLoader reads a ~200 MB CSV in its worker."""
    import numpy as np
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from layerlab.core.specs import DataSpec
    from layerlab.gui.panels.data_loader import DataLoader
    from tests.gui.big_csv import write_big_csv

    app = QApplication.instance() or QApplication([])
    csv = write_big_csv(home / "big.csv")
    loader, ticks = DataLoader(), []
    timer = QTimer(interval=5)
    timer.setTimerType(timer.timerType().PreciseTimer)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    t0 = time.perf_counter()
    job = loader.start("bench", DataSpec(dataset="csv", path=str(csv)), home)
    timer.start()
    while not job.done.is_set():
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    late = np.maximum(np.diff(ticks) * 1000 - 5, 0.0)
    note = (f"{csv.stat().st_size / 1e6:.0f} MB CSV loaded in {time.perf_counter() - t0:.1f} s by the GUI's "
            f"DataLoader; lateness of a 5 ms GUI-thread timer over {len(late)} ticks, max {late.max():.0f} ms")
    return [figure("data_load_ui_p99_ms", float(np.percentile(late, 99)), "ms", 16.0, note=note)]


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="layerlab-bench-gui-") as tmp:
        home = Path(tmp)
        return startup_figures(home) + canvas_figures(home) + data_load_figures(home)


if __name__ == "__main__":
    import json
    for fig in run():
        print(json.dumps(fig))
