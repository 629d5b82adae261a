"""A throw-away PostgreSQL cluster on a loopback port, for the shared-study sweep test
(tests/core/test_sweep_postgres.py) and the packaged app's smoke test (packaging/smoke_test.py):
started as the `postgres` user when run as root, stopped and removed afterwards."""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile


def binary(name: str) -> str | None:
    """The newest installed PostgreSQL's `name` (initdb, pg_ctl), or None."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return found[-1] if found else shutil.which(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def cluster(prefix: str = "layerlab-pg-"):
    """Yields the URL of a fresh cluster (user `sweeper`, trust auth, fsync off)."""
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = tempfile.mkdtemp(prefix=prefix)
    data = os.path.join(root, "data")
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True, timeout=120)
    try:
        run(binary("initdb"), "-D", data, "-A", "trust", "-U", "sweeper", "--no-sync")
        run(binary("pg_ctl"), "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        yield f"postgresql://sweeper@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, binary("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
