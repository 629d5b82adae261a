"""Issue 11 item 1: runs trained before the first save follow the project and are found after
reopening; item 12: dialogs start in the last folder, saves keep the file's mode."""
from __future__ import annotations

import os
from pathlib import Path

from layerlab.gui.export_support import list_runs, runs_root

from .training_support import close_window, edit, field, open_window, train


def test_runs_of_an_untitled_project_move_beside_it_on_save_and_are_found_after_reopening(qtbot, tmp_path, dialogs):
    win, ui = open_window(qtbot, "mlp", tmp_path)
    try:
        ui.runs_root_override = None
        assert win.files.new_from_template("mlp") and win.document.path is None
        qtbot.waitUntil(lambda: ui.ctx.dataset() is not None, timeout=60_000)
        edit(qtbot, field(ui, "training_epochs"), 1)
        store = train(qtbot, ui)
        assert store.status == "finished", store.failure
        first = Path(store.run_dir)
        assert first.parent == ui.runs_root() and "appdata" in str(first)

        target = tmp_path / "work" / "spiral.layerlab.json"
        target.parent.mkdir()
        assert win.files.save_as(target)
        assert not first.exists()
        moved = target.parent / "runs" / first.name
        assert (moved / "metrics.csv").is_file()
        assert "1 run moved to" in win.statusBar().full_message

        win.document.undo_stack.setClean()
        assert win.files.new() and win.document.path is None
        assert win.files.open(target)
        assert runs_root(win) == target.parent / "runs"
        assert [r.path.name for r in list_runs(runs_root(win))] == [first.name]
        ui.show_dashboard()
        history = ui.dashboard.history
        history.reload()
        assert [r["name"] for r in history.runs] == [first.name]
    finally:
        close_window(win, ui)


def test_save_as_elsewhere_links_the_runs_and_says_so(window, tmp_path):
    first = tmp_path / "a" / "p.layerlab.json"
    first.parent.mkdir()
    assert window.files.save_as(first)
    run = first.parent / "runs" / "20260101-000000-p"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    second = tmp_path / "b" / "p.layerlab.json"
    second.parent.mkdir()
    assert window.files.save_as(second)
    linked = second.parent / "runs" / run.name
    assert linked.is_symlink() and linked.resolve() == run.resolve() and run.is_dir()
    assert "1 run linked to" in window.statusBar().full_message


def test_open_and_save_dialogs_start_in_the_last_folder(window, tmp_path, dialogs, monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    starts = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda parent, title, start, *a: (starts.append(start), ("", ""))[1]))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda parent, title, start, *a: (starts.append(start), ("", ""))[1]))
    folder = tmp_path / "projects"
    folder.mkdir()
    assert window.files.save_to(folder / "x.layerlab.json")
    window.files.new()
    window.files.save_as()
    window.files.open()
    assert Path(starts[0]).parent == folder and Path(starts[1]) == folder


def test_saving_keeps_the_files_mode(window, tmp_path):
    path = tmp_path / "shared.layerlab.json"
    assert window.files.save_to(path)
    os.chmod(path, 0o664)
    window.document.project.name = "changed"
    assert window.files.save_to(path)
    assert (path.stat().st_mode & 0o777) == 0o664
