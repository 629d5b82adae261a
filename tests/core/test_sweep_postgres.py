"""Two sweep workers against a real PostgreSQL server: a throw-away cluster on a loopback port,
started by the fixture (as the `postgres` user when the tests run as root) and removed after."""
import subprocess

import pytest

from ..postgres_cluster import binary, cluster, free_port
from .sweep_support import spiral_file
from .test_sweep import SHARED_EPOCHS, check_no_trial_lost_or_run_twice, run_workers


@pytest.fixture
def postgres_url():
    for name in ("initdb", "pg_ctl"):
        if not binary(name):
            pytest.fail(f"PostgreSQL's {name} is missing: apt-get install postgresql (.ci/run does this)")
    with cluster() as url:
        yield url


def test_two_workers_finish_a_study_on_postgresql(tmp_path, postgres_url):
    path = spiral_file(tmp_path, epochs=SHARED_EPOCHS)
    per_worker = run_workers(path, postgres_url, 6)
    check_no_trial_lost_or_run_twice(postgres_url, tmp_path / "sweeps" / "two", 6, per_worker)
    assert not (tmp_path / "spiral.sweeps.db").exists()      # nothing went to the default SQLite file


def test_an_unreachable_server_is_one_line(tmp_path):
    import sys
    path = spiral_file(tmp_path)
    r = subprocess.run([sys.executable, "-m", "layerlab.core.cli", "sweep", str(path), "--storage",
                        f"postgresql://u:secret@127.0.0.1:{free_port()}/x"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "secret" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "cannot open the study storage" in r.stderr, r.stderr
