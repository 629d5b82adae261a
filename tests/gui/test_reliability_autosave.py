"""A session killed with SIGKILL loses at most the autosave interval: its recovery file
survives, the stale lock is recognised, and the next start restores the edits."""
import os
import signal
import subprocess
import sys
import textwrap

from PySide6.QtWidgets import QMessageBox

from layerlab.gui.app import create_window
from layerlab.gui.files import AUTOSAVE_MS

from .conftest import close

CHILD = textwrap.dedent("""
    import sys
    from PySide6.QtWidgets import QApplication
    from layerlab.gui.app import create_window
    win = create_window()
    win.files.autosave_timer.setInterval(200)   # the real 30 s interval, shortened for the test
    conv1 = win.document.graph.by_name("conv1")
    win.scene.select_nodes([conv1.id])
    win.actions.delete.trigger()                 # an unsaved edit
    app = QApplication.instance()
    while not win.files.recovery_path.exists():  # the timer fires inside the event loop
        app.processEvents()
    print(win.files.recovery_path, flush=True)
    app.exec()                                   # working on, until killed
""")


def test_sigkill_after_autosave_recovers_the_edits(dialogs, tmp_path):
    assert AUTOSAVE_MS == 30_000  # what "at most 30 s lost" rests on
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}  # XDG_DATA_HOME: this test's, set by conftest
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env)
    try:
        recovery = child.stdout.readline().strip()
        assert recovery.endswith(".layerlab.json"), recovery
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert os.path.exists(recovery)
    dialogs.answers["question"] = QMessageBox.StandardButton.Yes
    win = create_window()
    try:
        assert win.files.offer_recovery() is True
        names = {n.name for n in win.document.graph.nodes.values()}
        assert "conv1" not in names and "conv2" in names and win.document.dirty
    finally:
        close(win)
