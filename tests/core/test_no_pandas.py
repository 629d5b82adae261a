"""pandas is a test dependency only: the app's data and GUI modules neither import it nor pull it in."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"^\s*(?:import\s+pandas|from\s+pandas[\s.])", re.MULTILINE)


def test_no_source_in_core_or_gui_imports_pandas():
    found = [str(p.relative_to(ROOT)) for d in ("core", "gui") for p in (ROOT / d).rglob("*.py")
             if IMPORT.search(p.read_text(encoding="utf-8"))]
    assert found == []
    assert IMPORT.search("x = 1\n    import pandas as pd\n")       # the scan does find an import


def test_loading_a_csv_and_the_setup_panel_module_leave_pandas_unloaded(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,y\n" + "".join(f"{i},{i % 3},{'cat' if i % 2 else 'dog'}\n" for i in range(40)))
    code = (
        "import sys\n"
        "from layerlab.core.data import load\n"
        "from layerlab.core.specs import DataSpec\n"
        f"ds = load(DataSpec(dataset='csv', path={str(tmp_path / 't.csv')!r}))\n"
        "import layerlab.core.data.tabular, layerlab.core.export.train_script, layerlab.gui.panels.setup_data\n"
        "from layerlab.core.data.csv_file import peek_csv\n"
        f"assert peek_csv({str(tmp_path / 't.csv')!r}, 3)[0] == ['a', 'b', 'y']\n"
        "print(ds.feature_names, 'pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={"QT_QPA_PLATFORM": "offscreen", **__import__("os").environ})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("['a', 'b'] False")


def test_pandas_is_only_a_test_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("pandas") for d in project["dependencies"])
    assert any(d.startswith("pandas") for d in project["optional-dependencies"]["test"])
    assert "pandas==" in (ROOT / "packaging" / "constraints.txt").read_text()
