"""`make bench`: run every tests/bench/bench_*.py and print one JSON object per figure:
{"name", "value", "unit", "reference", "ratio"}. A figure's reference says what it is
compared against (a plain PyTorch loop in the same process, or a target)."""
from __future__ import annotations

import atexit
import importlib
import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")


def isolate() -> Path:
    """Settings, app data and caches in a throw-away folder: a benchmark must never touch the
    user's recent files, window layout or runs (child processes inherit the environment)."""
    home = Path(tempfile.mkdtemp(prefix="layerlab-bench-home-"))
    for name in XDG:
        os.environ[name] = str(home / name.split("_")[1].lower())
    atexit.register(shutil.rmtree, home, True)
    return home


def main(argv: list[str]) -> int:
    isolate()
    wanted = set(argv)
    failed = 0
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        if wanted and path.stem not in wanted and path.stem.removeprefix("bench_") not in wanted:
            continue
        try:
            figures = importlib.import_module(f"tests.bench.{path.stem}").run()
        except Exception:  # one broken benchmark must not hide the others' figures
            failed += 1
            print(json.dumps({"name": path.stem, "error": traceback.format_exc(limit=3)}), flush=True)
            continue
        for fig in figures:
            print(json.dumps(fig), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
