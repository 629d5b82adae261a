"""Two sweep workers against a real PostgreSQL server: a throw-away cluster on a loopback port,
started by the fixture (as the `postgres` user when the tests run as root) and removed after."""
import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from .sweep_support import spiral_file
from .test_sweep import SHARED_EPOCHS, check_no_trial_lost_or_run_twice, run_workers


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(name)
    if not path:
        pytest.fail(f"PostgreSQL's {name} is missing: apt-get install postgresql (.ci/run does this)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = tempfile.mkdtemp(prefix="layerlab-pg-")
    data = os.path.join(root, "data")
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True, timeout=120)
    try:
        run(_bin("initdb"), "-D", data, "-A", "trust", "-U", "sweeper", "--no-sync")
        run(_bin("pg_ctl"), "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        yield f"postgresql://sweeper@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, _bin("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_finish_a_study_on_postgresql(tmp_path, postgres_url):
    path = spiral_file(tmp_path, epochs=SHARED_EPOCHS)
    per_worker = run_workers(path, postgres_url, 6)
    check_no_trial_lost_or_run_twice(postgres_url, tmp_path / "sweeps" / "two", 6, per_worker)
    assert not (tmp_path / "spiral.sweeps.db").exists()      # nothing went to the default SQLite file


def test_an_unreachable_server_is_one_line(tmp_path):
    import sys
    path = spiral_file(tmp_path)
    r = subprocess.run([sys.executable, "-m", "layerlab.core.cli", "sweep", str(path), "--storage",
                        f"postgresql://u:secret@127.0.0.1:{_free_port()}/x"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "secret" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "cannot open the study storage" in r.stderr, r.stderr
