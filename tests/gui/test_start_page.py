"""Issue 11 item 11, first contact: the start page (every bundled template with a miniature and
one line, recent projects, drag-connect-train), the Help menu (shortcuts read from the actions,
About with the version), and a plain start reopening the last project or falling back."""
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QTreeWidget, QWidget

from layerlab.core.project import load_project, save_project
from layerlab.core.resources import template_names, template_path
from layerlab.gui.app import create_window
from layerlab.gui.help import version

from .conftest import close


@pytest.fixture
def started(qtbot):
    """What a plain `layerlab gui` opens (settings are the test's own, empty)."""
    wins = []

    def start():
        win = create_window(start=True)
        win.show()
        qtbot.waitExposed(win)
        wins.append(win)
        return win
    yield start
    for win in wins:
        close(win)


def test_first_start_shows_the_start_page_with_every_template(started, qtbot):
    win = started()
    page = win.start_page
    assert page.isVisible() and page.geometry() == win.view.rect()
    assert sorted(page.template_buttons) == template_names()
    for name, button in page.template_buttons.items():
        assert not button.icon().isNull()                          # the miniature of its graph
        title, description = button.text().split("\n")
        assert title == load_project(template_path(name)).name and description
    steps = [page.findChild(QWidget, f"startStep{i}").text() for i in (1, 2, 3)]
    assert "Drag" in steps[0] and "Connect" in steps[1] and "Train" in steps[2] and "F5" in steps[2]
    assert win.statusBar().currentMessage() == ""
    assert win.document.path is None


def test_opening_a_template_from_the_start_page_loads_it_untitled(started, qtbot):
    win = started()
    win.start_page.template_buttons["mlp"].click()
    assert not win.start_page.isVisible()
    assert win.document.path is None and not win.document.dirty
    expected = load_project(template_path("mlp")).graph
    assert set(win.document.graph.nodes) == set(expected.nodes)


def test_help_menu_lists_real_shortcuts_and_about(window, qtbot):
    menu = window.findChild(QWidget, "menuHelp")
    assert window.menuBar().actions()[-1].menu() is menu
    names = [a.objectName() for a in menu.actions() if not a.isSeparator()]
    assert names == ["actionStartPage", "actionShortcuts", "actionAbout"]
    menu.actions()[1].trigger()
    dialog = window.findChild(QWidget, "shortcutsDialog")
    assert dialog is not None and dialog.isVisible()
    tree = dialog.findChild(QTreeWidget, "shortcutsTable")
    rows = {}
    for g in range(tree.topLevelItemCount()):
        group = tree.topLevelItem(g)
        for i in range(group.childCount()):
            rows[(group.text(0), group.child(i).text(0))] = group.child(i).text(1)
    assert rows[("Edit", "Undo")] == window.actions.undo.shortcut().toString() == "Ctrl+Z"
    assert "Ctrl+Y" in rows[("Edit", "Redo")]
    assert rows[("File", "Save")] == "Ctrl+S"
    assert rows[("Train", "Train")] == "F5"
    assert rows[("Canvas (while it has focus)", "Fit to view")] == "F"
    dialog.close()
    menu.actions()[-1].trigger()
    about = window.findChild(QWidget, "aboutDialog")
    assert about is not None and about.isVisible()
    assert f"LayerLab {version()}" in about.findChild(QWidget, "aboutText").text()
    assert version() != "unknown (not installed)"
    about.close()


def test_help_start_page_shows_it_and_an_edit_closes_it(window, qtbot):
    window.findChild(QWidget, "menuHelp").actions()[0].trigger()
    assert window.start_page.isVisible()
    window.editor.append_layer("Dense")
    assert not window.start_page.isVisible()


def test_restart_reopens_the_last_project(started, tmp_path, qtbot):
    path = tmp_path / "mine.layerlab.json"
    save_project(load_project(template_path("mlp")), path)
    first = started()
    assert first.files.open(path)
    close(first)
    second = started()
    assert second.document.path == path.resolve()
    assert not second.start_page.isVisible()
    assert second.start_page.recent_buttons[0].text().startswith("mine.layerlab.json")


def test_missing_last_project_falls_back_to_the_start_page_with_a_message(started, tmp_path, dialogs):
    gone = tmp_path / "gone.layerlab.json"
    QSettings().setValue("lastProject", str(gone))
    win = started()
    assert win.start_page.isVisible()
    assert win.document.path is None
    message = win.statusBar().currentMessage()
    assert str(gone) in message and "no longer there" in message and "\n" not in message
    assert dialogs.calls == []                                       # a status line, not a dialog
    assert QSettings().value("lastProject") == ""                    # said once


def test_no_key_is_bound_twice(window, qtbot):
    """Two actions on one key are ambiguous in Qt: neither fires (Delete's Ctrl+D vs Duplicate)."""
    from collections import Counter

    from layerlab.gui.help import shortcut_rows
    keys = Counter(k for _, _, ks in shortcut_rows(window) for k in ks.split(", "))
    assert [k for k, n in keys.items() if n > 1] == []
