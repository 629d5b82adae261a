"""Application start-up: `create_window()` for tests and embedding, `main()` for `layerlab gui`.

Nothing here (or in what it imports) imports torch: the window shows first, and torch
loads only when the Code view or training needs it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from ..core import resources
from . import theme
from .main_window import MainWindow

APP_NAME = "LayerLab"


def ensure_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv else [APP_NAME])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setOrganizationDomain("layerlab.invalid")
    if not app.property("layerlabThemed"):
        theme.apply(app)
        app.setProperty("layerlabThemed", True)
    from . import wheel_guard
    wheel_guard.install(app)
    return app


def create_window(project_path: str | Path | None = None, *, restore_layout: bool = True,
                  start: bool = False) -> MainWindow:
    """The builder window on `project_path`, or on the built-in example project (untitled,
    so Save never overwrites the bundled file). start=True (a plain `layerlab gui`) instead
    reopens the last project, else shows the start page. Not shown yet. restore_layout=False
    ignores the dock layout saved in QSettings (for reproducible screenshots)."""
    ensure_app()
    win = MainWindow(restore_layout=restore_layout)
    if project_path is None and start:
        win.files.open_last_or_start()
    elif project_path is None:
        win.files.new_from_template(resources.example_project().name[: -len(".layerlab.json")])
    elif not win.files.load(project_path):  # the dialog said why; start on an empty project
        win.files.new()
    return win


def main(argv: list[str] | None = None) -> int:
    """Open the window and run the event loop: on PROJECT if given, on the built-in example with
    --example (`make run`), else on the last project or the start page."""
    argv = list(sys.argv[1:] if argv is None else argv)
    project = next((a for a in argv if not a.startswith("-")), None)
    app = ensure_app([APP_NAME] + [a for a in argv if a != "--example"])
    win = create_window(project, start=project is None and "--example" not in argv)
    win.show()
    if os.environ.get("LAYERLAB_EXIT_WHEN_SHOWN"):  # the start-up benchmark: report, then leave
        def shown():
            torch = "torch imported" if "torch" in sys.modules else "no torch"
            print(f"layerlab: window shown ({len(win.scene.nodes)} layers, {torch})", flush=True)
            win.document.undo_stack.setClean()
            win.close()
            app.quit()
        QTimer.singleShot(0, shown)
    else:
        QTimer.singleShot(0, win.files.offer_recovery)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
