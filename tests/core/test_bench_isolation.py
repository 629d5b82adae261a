"""Issue 11 item 13: `make bench` uses its own settings and data folders, never the user's."""
import os

from tests.bench.__main__ import XDG, isolate


def test_bench_points_settings_and_data_at_a_temporary_home(monkeypatch, tmp_path):
    for name in XDG:
        monkeypatch.setenv(name, str(tmp_path / "real" / name))
    home = isolate()
    for name in XDG:
        assert os.environ[name].startswith(str(home)) and "real" not in os.environ[name]
