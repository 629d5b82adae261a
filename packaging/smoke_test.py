"""Smoke test of the packaged app: validate the bundled example, then render the GUI offscreen."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

app = Path(sys.argv[1]).resolve()
example = next((app.parent / "_internal").rglob("digits_cnn.layerlab.json"))
env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
r = subprocess.run([str(app), "validate", str(example)], capture_output=True, text=True, timeout=300, env=env)
assert r.returncode == 0 and "[B, 10]" in r.stdout, r.stdout + r.stderr
png = Path(tempfile.mkdtemp()) / "shot.png"
r = subprocess.run([str(app), "gui", str(example), "--screenshot", str(png)], capture_output=True, text=True,
                   timeout=300, env=env)
assert r.returncode == 0 and png.stat().st_size > 10_000, r.stdout + r.stderr
size_mb = sum(f.stat().st_size for f in app.parent.rglob("*") if f.is_file()) / 2**20
print(f"smoke test passed: validate + GUI screenshot ({png.stat().st_size // 1024} KB); bundle {size_mb:.0f} MB")
