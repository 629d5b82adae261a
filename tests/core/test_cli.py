"""`layerlab validate`: exit 0 valid, 1 with problems listed, 2 on an unreadable file, no tracebacks."""
import json
import subprocess
import sys

import pytest

from layerlab.core.cli import main
from layerlab.core.graph import Graph
from layerlab.core.project import Project, save_project
from layerlab.core.resources import template_path

from .conftest import chain


def test_valid_project_prints_table(capsys):
    assert main(["validate", str(template_path("digits_cnn"))]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "Conv2d" in out and "[B, 32, 8, 8]" in out and "[B, 10]" in out
    assert "trainable parameters" in out


def test_invalid_project_exits_1_and_lists_problems(tmp_path, capsys):
    g = Graph()
    chain(g, ("Input", {"shape": [1, 8, 8]}), ("Dense", {"units": 10}), "Output")
    path = tmp_path / "bad.layerlab.json"
    save_project(Project(g), path)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "error: Dense 'dense1' needs a flat input but gets [B, 1, 8, 8]: insert Flatten" in out
    assert "1 problem(s)" in out


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": "x"}), None])
def test_malformed_or_missing_file_is_one_line_exit_2(tmp_path, content):
    path = tmp_path / "p.layerlab.json"
    if content is not None:
        path.write_text(content)
    r = subprocess.run([sys.executable, "-m", "layerlab.core.cli", "validate", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("layerlab validate: ")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "validate" in capsys.readouterr().out


def test_packaged_launcher_passes_every_sub_command_through():
    """The PyInstaller entry script opens the GUI unless argv starts with a sub-command: a command
    added to the CLI must not open the GUI in the package (import, lr-find, sweep... once did)."""
    import argparse
    import importlib.util
    from pathlib import Path

    from layerlab.core.cli import build_parser

    path = Path(__file__).resolve().parents[2] / "packaging" / "launcher.py"
    spec = importlib.util.spec_from_file_location("layerlab_launcher", path)
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name in sub.choices:
        assert launcher.app_argv([name, "x"]) == [name, "x"], name
    assert launcher.app_argv(["project.layerlab.json"]) == ["gui", "project.layerlab.json"]
    assert launcher.app_argv([]) == ["gui"]


def test_packaged_launcher_runs_a_module_as_python_m_would(tmp_path):
    """The GUI starts its training process as `sys.executable -m layerlab.core.train.child FD`; in the
    package sys.executable is the app, so `LayerLab -m MODULE ARGS` must run MODULE as __main__ (it
    opened the GUI's argument parser instead: 'unrecognized arguments: -m', and no run could start)."""
    import subprocess
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "packaging" / "launcher.py"
    data = tmp_path / "x.json"
    data.write_text('{"b": 1, "a": [2]}')
    r = subprocess.run([sys.executable, str(path), "-m", "json.tool", "--sort-keys", str(data)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ['{', '"a":', '[', '2', '],', '"b":', '1', '}']
    # torchrun starts its workers as `python -u -m MODULE` (train --nproc N)
    r = subprocess.run([sys.executable, str(path), "-u", "-m", "json.tool", str(data)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and '"a"' in r.stdout, r.stderr
