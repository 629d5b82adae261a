"""House rules that are checked, not hoped for: core never imports Qt; every package is installed."""
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "superqt", "layerlab.gui", "gui")


def test_core_source_never_imports_qt_or_gui():
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                if name.split(".")[0] in QT or name.startswith("layerlab.gui"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                    "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
                    and str(node.args[0].value).startswith(("layerlab.gui", "PySide6")):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {node.args[0].value}")
    assert offenders == []


def test_importing_all_of_core_loads_no_qt():
    code = ("import pkgutil, importlib, sys, layerlab.core as c\n"
            "for m in pkgutil.walk_packages(c.__path__, 'layerlab.core.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph', 'superqt')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(re.findall(r'"(layerlab\.[\w.]+)"', (ROOT / "pyproject.toml").read_text()))
    found = set()
    for top, name in (("core", "layerlab.core"), ("gui", "layerlab.gui")):
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            found.add(".".join([name, *rel.parts]))
    assert found - listed == set(), f"add these to [tool.setuptools] packages: {sorted(found - listed)}"


def test_no_module_over_400_lines():
    long = [f"{p.relative_to(ROOT)} ({n})" for top in ("core", "gui") for p in (ROOT / top).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert long == [], "split these by concept"


def test_cli_start_up_imports_no_torch():
    # `layerlab gui` must show its window fast: building the parser may not pull torch in
    code = ("import sys\nfrom layerlab.core.cli import build_parser\nbuild_parser()\n"
            "sys.exit('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "a sub-command's register() imports torch: import it inside run() instead"
