"""GUI test fixtures: a real X display (our own Xvfb, xcb) or offscreen as the fallback,
settings and app data in a temporary folder, dialogs recorded instead of shown, and a check
that no test leaves a QThread running."""
import os
import tempfile

from .display import choose_platform

PLATFORM = choose_platform()  # before any Qt import
_HOME = tempfile.mkdtemp(prefix="layerlab-gui-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_HOME, "cache")

import pytest  # noqa: E402
from PySide6.QtCore import QSettings, QThread, QThreadPool  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

from .helpers import Dialogs  # noqa: E402

# ------------------------------------------------------------------ no dangling threads
_started: list = []
_original_start = QThread.start


def _tracking_start(self, *args, **kwargs):
    _started.append(self)
    return _original_start(self, *args, **kwargs)


QThread.start = _tracking_start


def dangling_threads() -> list[str]:
    """QThreads started through Python that still run, plus busy thread-pool workers."""
    out = []
    for t in list(_started):
        try:
            running = t.isRunning()
        except RuntimeError:  # the C++ object is gone: it finished and was deleted
            running = False
        if running:
            out.append(f"{type(t).__name__} {t.objectName()!r}")
        else:
            _started.remove(t)
    busy = QThreadPool.globalInstance().activeThreadCount()
    if busy:
        out.append(f"{busy} QThreadPool worker(s)")
    return out


@pytest.fixture(autouse=True)
def _no_dangling_qthreads(qapp, request):
    yield
    if request.node.get_closest_marker("allow_threads"):
        return
    left = dangling_threads()
    if left:
        pytest.fail(f"test left threads running: {', '.join(left)}; stop and wait for them", pytrace=False)


def pytest_configure(config):
    config.addinivalue_line("markers", "allow_threads: the test manages running threads itself")


def pytest_report_header(config):
    return PLATFORM


# ------------------------------------------------------------------ isolation
@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, qapp):
    from layerlab.gui.app import ensure_app
    ensure_app()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "appdata"))
    QSettings().clear()
    yield
    QSettings().clear()


@pytest.fixture(autouse=True)
def dialogs(monkeypatch) -> Dialogs:
    """Every QMessageBox call is recorded and answered (default: the dialog's default button)."""
    rec = Dialogs()
    for kind in ("critical", "warning", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(rec.handler(kind)))
    for kind in ("getOpenFileName", "getSaveFileName"):
        monkeypatch.setattr(QFileDialog, kind, staticmethod(rec.file_handler(kind)))
    return rec


def close(win) -> None:
    win.document.undo_stack.setClean()
    win.close()
    win.deleteLater()


@pytest.fixture
def window(qtbot):
    """The builder on the example project, shown; closed clean at the end (not through
    qtbot.addWidget: pytest-qt would close it before this fixture can mark it saved)."""
    from layerlab.gui.app import create_window
    win = create_window()
    win.show()
    qtbot.waitExposed(win)
    yield win
    close(win)


@pytest.fixture
def blank(qtbot):
    """The builder on an empty project (Input and Output only), shown."""
    from layerlab.gui.app import create_window
    win = create_window()
    win.files.new()
    win.show()
    qtbot.waitExposed(win)
    yield win
    close(win)
