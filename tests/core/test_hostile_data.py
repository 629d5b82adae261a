"""Data files crafted to exhaust memory or hang (issue 13 items 1-5): sizes are estimated from
headers and counts and refused above the budget before allocating; only regular files are read."""
from __future__ import annotations

import gzip
import io
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerlab.core.data import DataError, load
from layerlab.core.specs import DataSpec


def _idx_gz(path, dims, payload=None):
    header = struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    body = payload if payload is not None else bytes(int(np.prod(dims)))
    path.write_bytes(gzip.compress(header + body, compresslevel=1))
    return path


def _load(tmp_path, **spec):
    return load(DataSpec(**spec), base_dir=tmp_path)


def test_a_gzipped_idx_file_is_measured_from_its_header_before_unpacking(tmp_path, monkeypatch):
    _idx_gz(tmp_path / "x.gz", (2_000, 100, 100))      # 20 MB unpacked, 20 KB packed
    _idx_gz(tmp_path / "y.gz", (2_000,), payload=bytes([0, 1]) * 1_000)
    monkeypatch.setenv("LAYERLAB_MEMORY_BUDGET", "50MB")
    tracemalloc.start()
    with pytest.raises(DataError, match=r"IDX file x.gz \(2,000×100×100 unsigned byte.*over LayerLab's budget of "
                                        r"50.0 MB.*LAYERLAB_MEMORY_BUDGET"):
        _load(tmp_path, dataset="idx", path="x.gz", options={"labels": "y.gz"})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 * 2**20          # the 20 MB were never unpacked
    monkeypatch.setenv("LAYERLAB_MEMORY_BUDGET", "2GB")
    assert _load(tmp_path, dataset="idx", path="x.gz", options={"labels": "y.gz"}).input_shape == (1, 100, 100)


def test_a_gzip_stream_longer_than_its_header_says_is_refused(tmp_path):
    _idx_gz(tmp_path / "x.gz", (10, 4), payload=bytes(40 + 5_000_000))
    _idx_gz(tmp_path / "y.gz", (10,))
    with pytest.raises(DataError, match="unpacks to more than"):
        _load(tmp_path, dataset="idx", path="x.gz", options={"labels": "y.gz"})


def _npz_with_header(path, shape, dtype="<f4"):
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": dtype, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("X.npy", head.getvalue())
        zf.writestr("y.npy", head.getvalue())
    return path


def test_an_npz_header_declaring_10_13_values_is_refused_in_one_line(tmp_path):
    _npz_with_header(tmp_path / "bomb.npz", (10**13,))
    with pytest.raises(DataError, match=r"npz array 'X' in bomb.npz \(10,000,000,000,000 float32\) would take "
                                        r".*TB of memory"):
        _load(tmp_path, dataset="npz", path="bomb.npz")


def test_a_deflated_npz_is_measured_before_inflating(tmp_path, monkeypatch):
    np.savez_compressed(tmp_path / "z.npz", X=np.zeros((20_000, 500), np.float32), y=np.zeros(20_000, np.int64))
    monkeypatch.setenv("LAYERLAB_MEMORY_BUDGET", "100MB")
    with pytest.raises(DataError, match=r"20,000×500 float32.*over LayerLab's budget"):
        _load(tmp_path, dataset="npz", path="z.npz")


def test_csv_one_hot_size_is_checked_before_allocating(tmp_path, monkeypatch):
    rows = "\n".join(f"v{i},{i % 2}" for i in range(5_000))
    (tmp_path / "t.csv").write_text("name,label\n" + rows + "\n")
    monkeypatch.setenv("LAYERLAB_MEMORY_BUDGET", "200MB")
    tracemalloc.start()
    with pytest.raises(DataError, match=r"5,000 rows × 5,000 features after one-hot.*over LayerLab's budget"):
        _load(tmp_path, dataset="csv", path="t.csv", options={"max_categories": 100_000})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 60 * 2**20         # the 100 MB float32 one-hot (and its float64 ancestor) never existed


def test_csv_one_hot_is_built_as_before(tmp_path):
    (tmp_path / "t.csv").write_text("a,colour,y\n1,red,0\n2,,1\n3,blue,0\n4,red,1\n5,blue,0\n6,red,1\n7,blue,0\n"
                                    "8,red,1\n9,blue,0\n10,red,1\n")
    ds = _load(tmp_path, dataset="csv", path="t.csv", options={"impute": "mean"}, preprocessing="none",
               val_fraction=0.0, test_fraction=0.0)
    assert ds.feature_names == ["a", "colour=blue", "colour=red"]
    x = ds.raw_x_train.numpy()
    row2 = x[x[:, 0] == 2][0]
    assert np.isfinite(row2).all() and 0 < row2[1] < 1      # the missing cell filled with the train mean
    assert ((x[x[:, 0] == 3][0][1:]) == [1, 0]).all()


def test_many_small_images_at_a_huge_size_are_refused_before_allocating(tmp_path, monkeypatch):
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(30):
            Image.new("RGB", (1, 1)).save(tmp_path / "imgs" / cls / f"{i}.png")
    monkeypatch.setenv("LAYERLAB_MEMORY_BUDGET", "1GB")
    with pytest.raises(DataError, match=r"60 images of 3×1024×1024.*over LayerLab's budget of 1.0 GB"):
        _load(tmp_path, dataset="images", path="imgs", options={"size": 1024})


@pytest.mark.parametrize("source", ["csv", "npz", "idx"])
def test_devices_and_fifos_are_refused_not_read(tmp_path, source):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    extra = {"options": {"labels": "pipe"}} if source == "idx" else {}
    for path in ("/dev/zero", "/dev/urandom", str(fifo)):
        with pytest.raises(DataError, match="not a regular file"):
            _load(tmp_path, dataset=source, path=path, **extra)


def test_train_prints_which_rows_were_filled_or_dropped(tmp_path, capsys):
    """Issue 18 item 3: the data set's notes reach the terminal, naming the rows (penguins-like CSV)."""
    import json

    from layerlab.core.cli import main
    from layerlab.core.resources import template_path
    lines = ["bill_length,bill_depth,island,species"]
    for i in range(60):
        bill = "" if i in (4, 17) else f"{35 + i % 10}.{i % 7}"
        island = "" if i == 9 else ("Biscoe", "Dream", "Torgersen")[i % 3]
        lines.append(f"{bill},{15 + i % 5},{island},{('Adelie', 'Gentoo', 'Chinstrap')[i % 3]}")
    (tmp_path / "penguins.csv").write_text("\n".join(lines) + "\n")
    doc = json.loads(template_path("mlp").read_text())
    doc["data"] = {"dataset": "csv", "path": "penguins.csv", "options": {"impute": "mean"}}
    doc["graph"]["nodes"][0]["params"]["shape"] = [5]
    for impute, expect in (("mean", ["bill_length: 2 missing values filled with the train mean",
                                     "(data rows 5, 18)", "island: 1 missing value", "(data row 10)"]),
                           ("drop", ["dropped 3 rows with missing or non-numeric values (data rows 5, 10, 18)"])):
        doc["data"]["options"]["impute"] = impute
        (tmp_path / "p.layerlab.json").write_text(json.dumps(doc))
        assert main(["train", str(tmp_path / "p.layerlab.json"), "--epochs", "1",
                     "--out", str(tmp_path / f"run-{impute}")]) == 0
        notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: ")]
        for words in expect:
            assert any(words in n for n in notes), (words, notes)


def test_train_names_data_files_outside_the_project_folder(tmp_path, capsys):
    """Issue 13 item 15: ../ paths, absolute paths and symlinked class folders are named."""
    import json

    from layerlab.core.cli import main
    from layerlab.core.data.paths import outside_project
    from layerlab.core.resources import template_path
    proj = tmp_path / "proj"
    (proj / "imgs" / "a").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (proj / "imgs" / "b").symlink_to(tmp_path / "elsewhere")
    (proj / "inside.csv").write_text("a,b\n1,2\n")
    (tmp_path / "outside.csv").write_text("a,b\n1,2\n")
    assert outside_project(DataSpec(dataset="csv", path="inside.csv"), proj) == []
    assert outside_project(DataSpec(dataset="csv", path="../outside.csv"), proj) == [tmp_path / "outside.csv"]
    assert outside_project(DataSpec(dataset="csv", path="/etc/passwd"), proj) == [Path("/etc/passwd")]
    assert outside_project(DataSpec(dataset="images", path="imgs"), proj) == [tmp_path / "elsewhere"]
    assert outside_project(DataSpec(dataset="spiral"), proj) == []
    doc = json.loads(template_path("mlp").read_text())
    doc["data"] = {"dataset": "csv", "path": "/etc/passwd"}
    (proj / "p.layerlab.json").write_text(json.dumps(doc))
    assert main(["train", str(proj / "p.layerlab.json"), "--out", str(proj / "run")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "reading data from outside the project's folder: /etc/passwd" and len(err) == 2


def test_a_megabyte_column_name_is_refused_in_a_short_line(tmp_path):
    (tmp_path / "t.csv").write_text("a" * 2**20 + ",y\n1,0\n2,1\n")
    with pytest.raises(DataError, match="column name 1,048,576 characters long") as e:
        _load(tmp_path, dataset="csv", path="t.csv", target="nope")
    assert len(str(e.value)) < 300
