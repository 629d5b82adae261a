"""Running Python *without LayerLab*, to prove an export stands on its own.

LayerLab is usually installed in editable mode: a `.pth` hook in site-packages puts the source
tree on the import path at start-up. `python -I -S` skips that: -I ignores PYTHON* variables, the
user site and the current folder; -S skips `site`, so no `.pth` file runs. The interpreter's
site-packages folders are then appended by hand (their `.pth` files stay unprocessed), so torch,
numpy, safetensors and scikit-learn import while `layerlab` (and the repo's `core`) do not.
The prelude asserts that before running anything.
"""
from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path


def site_dirs() -> list[str]:
    paths = sysconfig.get_paths()
    return sorted({paths["purelib"], paths["platlib"]})


def prelude() -> str:
    """Python source that sets sys.path without LayerLab and proves `import layerlab` fails."""
    return (
        "import sys, importlib.util as _u\n"
        f"sys.path.extend({site_dirs()!r})\n"
        "for _name in ('layerlab', 'core', 'gui'):\n"
        "    if _u.find_spec(_name) is not None:\n"
        "        raise SystemExit('LayerLab is importable here (' + _name + '): the isolation failed')\n"
        "try:\n"
        "    import layerlab\n"
        "except ModuleNotFoundError:\n"
        "    pass\n"
        "else:\n"
        "    raise SystemExit('import layerlab succeeded: the isolation failed')\n"
    )


def command(code: str) -> list[str]:
    """argv running `code` in an interpreter where LayerLab cannot be imported."""
    return [sys.executable, "-I", "-S", "-c", prelude() + code]


def script_command(script: str | os.PathLike, *args: str) -> list[str]:
    """argv running a script file (as __main__, with `args`) without LayerLab."""
    code = (f"sys.argv = [{str(script)!r}, *{list(args)!r}]\n"
            "import runpy\n"
            f"runpy.run_path({str(script)!r}, run_name='__main__')\n")
    return command(code)


def launcher(folder: str | os.PathLike) -> Path:
    """An executable `python-without-layerlab` in `folder` (for `torchrun --no-python`, whose
    workers would otherwise start a plain interpreter with the editable install active):
    `python-without-layerlab SCRIPT ARGS...` runs SCRIPT isolated."""
    folder = Path(folder)
    boot = folder / "boot_without_layerlab.py"
    boot.write_text(prelude() + "import runpy\nsys.argv = sys.argv[1:]\n"
                    "runpy.run_path(sys.argv[0], run_name='__main__')\n", encoding="utf-8")
    exe = folder / "python-without-layerlab"
    exe.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S {shlex.quote(str(boot))} \"$@\"\n",
                   encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP)
    return exe


def run_group(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with output captured, in a process group of its own that is killed whole
    past `timeout` (so torchrun's workers cannot outlive it); then TimeoutExpired is raised."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
