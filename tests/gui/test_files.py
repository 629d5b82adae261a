"""Open / save / reopen, malformed files, the unsaved-changes prompt, recent files and
crash recovery."""
import json

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMessageBox

from layerlab.core.project import load_project
from layerlab.gui.app import create_window
from layerlab.gui.files import recovery_dir

from .conftest import close
from .helpers import drop_layer, item_named

Button = QMessageBox.StandardButton


def test_save_and_reopen_round_trips_the_graph(window, tmp_path, dialogs, qtbot):
    win = window
    drop_layer(win.view, "Dropout", QPointF(300, 300))
    assert win.document.dirty and win.isWindowModified()
    path = tmp_path / "net.layerlab.json"
    dialogs.files.append(path)
    win.actions.save.trigger()  # untitled: Save asks where
    assert path.is_file() and not win.document.dirty and win.document.path == path.resolve()
    assert "net.layerlab.json" in win.windowTitle()
    saved = win.document.graph.to_dict()
    assert load_project(path).graph.to_dict() == saved

    other = create_window(path)
    try:
        assert other.document.graph.to_dict() == saved
        assert set(other.scene.nodes) == set(win.scene.nodes)
        assert other.files.recent_files()[0] == str(path.resolve())
    finally:
        close(other)


def test_save_as_adds_the_suffix_and_recent_menu_reopens(window, tmp_path, dialogs):
    win = window
    dialogs.files.append(tmp_path / "copy")
    win.actions.save_as.trigger()
    target = tmp_path / "copy.layerlab.json"
    assert target.is_file()
    recent = [a for a in win.recent_menu.actions() if str(target) in a.text()]
    assert recent
    win.files.new()
    assert win.document.path is None
    recent = [a for a in win.recent_menu.actions() if str(target) in a.text()]
    recent[0].trigger()
    assert win.document.path == target.resolve()


def test_malformed_file_is_a_dialog_not_a_crash(window, tmp_path, dialogs):
    bad = tmp_path / "bad.layerlab.json"
    bad.write_text('{"format": "layerlab.project", "version": 1, "graph": {"nodes": 3}}')
    nodes = dict(window.document.graph.nodes)
    assert window.files.open(bad) is False
    kind, title, text = dialogs.calls[-1]
    assert kind == "critical" and "bad.layerlab.json" in text and "nodes" in text
    assert window.document.graph.nodes == nodes  # the open project is untouched
    (tmp_path / "junk.layerlab.json").write_text("{not json")
    assert window.files.open(tmp_path / "junk.layerlab.json") is False
    assert "invalid JSON" in dialogs.calls[-1][2]


def test_create_window_on_a_malformed_file_opens_empty(tmp_path, dialogs):
    bad = tmp_path / "bad.layerlab.json"
    bad.write_text("[]")
    win = create_window(bad)
    try:
        assert dialogs.kinds() == ["critical"]
        assert {n.type for n in win.document.graph.nodes.values()} == {"Input", "Output"}
    finally:
        close(win)


def test_unsaved_changes_prompt_on_close(window, dialogs):
    win = window
    win.editor.select_all()
    win.actions.delete.trigger()
    dialogs.answers["question"] = Button.Cancel
    assert win.close() is False and win.isVisible()
    assert dialogs.calls[-1][1] == "Unsaved changes"
    dialogs.answers["question"] = Button.Discard
    assert win.close() is True


def test_autosave_writes_recovery_file_and_next_start_offers_it(window, dialogs, qtbot):
    win = window
    assert win.files.autosave_timer.interval() == 30_000 and win.files.autosave_timer.isActive()
    assert win.files.autosave() is None  # nothing unsaved: no file
    item = item_named(win, "conv1")
    win.scene.select_nodes([item.node_id])
    win.actions.delete.trigger()
    path = win.files.autosave()  # what the 30 s timer calls
    assert path == win.files.recovery_path and path.is_file()
    assert path.parent == recovery_dir() and "appdata" in str(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "layerlab.recovery"
    assert "conv1" not in {n["name"] for n in doc["project"]["graph"]["nodes"]}
    expected = win.document.graph.to_dict()

    # another session starting now does not offer it: this one is alive and holds the lock
    other = create_window()
    try:
        assert other.files.orphaned_recovery() == []
    finally:
        close(other)
    # "crash": the lock goes away without the clean close that removes the file
    win.files._lock.unlock()
    win.files._lock = None
    dialogs.answers["question"] = Button.Yes
    after = create_window()
    try:
        assert after.files.offer_recovery() is True
        assert dialogs.calls[-1][1] == "Recover unsaved work?"
        assert after.document.graph.to_dict() == expected
        assert after.document.dirty and not path.exists()
    finally:
        close(after)


def test_declined_recovery_is_discarded(window, dialogs):
    win = window
    win.editor.select_all()
    win.actions.delete.trigger()
    path = win.files.autosave()
    win.files._lock.unlock()
    win.files._lock = None
    dialogs.answers["question"] = Button.No
    after = create_window()
    try:
        assert after.files.offer_recovery() is False
        assert not path.exists() and after.files.orphaned_recovery() == []
    finally:
        close(after)


def test_clean_close_removes_recovery_and_keeps_dock_layout(window, dialogs):
    win = window
    win.editor.select_all()
    win.actions.delete.trigger()
    path = win.files.autosave()
    assert path.is_file()
    win.palette_dock.hide()
    dialogs.answers["question"] = Button.Discard
    assert win.close()
    assert not path.exists() and list(recovery_dir().glob("*.lock")) == []
    again = create_window()
    try:
        again.show()
        assert again.palette_dock.isHidden()
    finally:
        close(again)


def test_opening_a_project_removes_temp_files_of_killed_saves_only(window, tmp_path, dialogs):
    """Issue 18 item 5: `.NAME.xxxxxxxx.tmp` left by a save killed mid-write goes on the next start."""
    import os
    import time
    from layerlab.core.project import save_project
    path = tmp_path / "p.layerlab.json"
    save_project(window.document.project, path)
    stale, other = tmp_path / ".p.layerlab.json.k1ll3d00.tmp", tmp_path / ".q.layerlab.json.k1ll3d00.tmp"
    for f in (stale, other):
        f.write_text("half a save")
        os.utime(f, (time.time() - 3600,) * 2)
    assert window.files.open(path) is True
    assert not stale.exists() and other.exists()


def test_a_bundled_template_opens_untitled_so_nothing_writes_into_the_package(window):
    from layerlab.core import resources

    template = resources.template_path("mlp")
    before = template.read_bytes()
    assert window.files.load(template)
    assert window.document.path is None          # Save asks where; runs go to the app's data folder
    assert str(template.resolve()) not in window.files.recent_files()
    assert template.read_bytes() == before
