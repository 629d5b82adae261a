"""The hostile-file corpus for `make reliability` (issue 13): projects, data files and weights
crafted by hand as an attacker would, each written by this generator into a folder of its own.

    cases = build(root)      # -> [Case]; every case a command line for `layerlab`

Each case names the files that must survive it untouched (`protect`): what an export must not
overwrite without --force, another run's folder."""
from __future__ import annotations

import gzip
import io
import json
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from layerlab.core.resources import template_path

MB = 2**20


@dataclass
class Case:
    name: str
    argv: list[str]
    protect: list[Path] = field(default_factory=list)


def base_doc(template: str = "mlp") -> dict:
    return json.loads(template_path(template).read_text())


class Corpus:
    def __init__(self, root: Path):
        self.root = root
        self.cases: list[Case] = []

    def folder(self, name: str) -> Path:
        d = self.root / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def project(self, name: str, doc=None, text: str | None = None, command: str = "validate",
                extra: tuple = ()) -> Path:
        d = self.folder(name)
        p = d / "p.layerlab.json"
        p.write_text(text if text is not None else json.dumps(doc), encoding="utf-8")
        argv = [command, str(p)] + (["--epochs", "1", "--out", str(d / "run")] if command == "train" else [])
        self.cases.append(Case(name, argv + list(extra)))
        return p

    def data_case(self, name: str, data: dict, writer) -> None:
        d = self.folder(name)
        writer(d)
        doc = base_doc()
        doc["data"] = data
        self.project(name, doc, command="train")


# ---------------------------------------------------------------- projects
def _set_units(doc, value_text: str) -> str:
    return json.dumps(doc).replace('"units": 16', f'"units": {value_text}', 1)


def _chain_doc(n: int, cycle: bool = False) -> dict:
    nodes = [{"id": "n0", "type": "Input", "name": "x", "params": {"shape": [2]}}]
    nodes += [{"id": f"n{i}", "type": "ReLU", "name": f"r{i}"} for i in range(1, n - 1)]
    nodes.append({"id": f"n{n - 1}", "type": "Output", "name": "out"})
    edges = [{"src": f"n{i}", "dst": f"n{i + 1}"} for i in range(n - 1)]
    if cycle:
        edges[n // 2] = {"src": f"n{n // 2 + 5}", "dst": f"n{n // 2 + 1}"}
    doc = base_doc()
    doc["graph"] = {"nodes": nodes, "edges": edges}
    return doc


def projects(c: Corpus) -> None:
    for i, v in enumerate(["Infinity", "-Infinity", "NaN", "9" * 5000, "1e400", "4" * 4000, '"16"', "[16]"]):
        c.project(f"units_{i}", text=_set_units(base_doc(), v))
    seed = json.dumps(base_doc()).replace('"seed": 0', '"seed": ' + "7" * 5000, 1)
    c.project("huge_int_seed", text=seed)
    deep = base_doc()
    nested = 1
    for _ in range(400):
        nested = {"a": nested}
    deep["data"]["options"] = {"noise": nested}
    c.project("nested_400", deep)
    c.project("nested_400_export", deep, command="export", extra=("--format", "train-script", "--out",
                                                                   str(c.folder("nested_400_export") / "s.py")))
    dotted = base_doc()
    dotted["graph"]["nodes"][1]["id"] = "n2.weight"
    c.project("dotted_id", dotted)
    for name, where in (("huge_node_name", "node"), ("huge_project_name", "project")):
        doc = base_doc()
        if where == "node":
            doc["graph"]["nodes"][1]["name"] = "n" * (10 * MB)
        else:
            doc["name"] = "p" * (10 * MB)
        c.project(name, doc)
    esc = base_doc()
    esc["name"] = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x9b1m\u202eevil"
    esc["description"] = "\x1b[2J" * 100
    c.project("escape_name_validate", esc)
    c.project("escape_name_train", esc, command="train")
    bad_type = base_doc()
    bad_type["graph"]["nodes"][2]["type"] = "\x1b[2J" + "X" * MB
    c.project("escape_huge_type", bad_type)
    for name, section, key, value in (("lr_nan", "training", "lr", "NaN"),
                                      ("val_fraction_neg_inf", "data", "val_fraction", "-Infinity"),
                                      ("epochs_huge", "training", "epochs", "1" + "0" * 15),
                                      ("batch_size_zero", "training", "batch_size", "0")):
        doc = base_doc()
        doc[section][key] = "@@"
        text = json.dumps(doc).replace('"@@"', value)
        c.project(f"{name}_validate", text=text)
        c.project(f"{name}_train", text=text, command="train")
    c.project("nodes_100k", _chain_doc(100_000))
    c.project("nodes_20k", _chain_doc(20_000))
    c.project("cycle_20k", _chain_doc(20_000, cycle=True))
    big = base_doc()
    big["graph"]["nodes"][0]["params"]["shape"] = [65536]
    for n in big["graph"]["nodes"]:
        if n["type"] == "Dense":
            n["params"]["units"] = 65536
    c.project("params_17g_validate", big)
    c.project("params_17g_export", big, command="export",
              extra=("--format", "train-script", "--out", str(c.folder("params_17g_export") / "s.py")))
    dims = base_doc()
    dims["graph"]["nodes"][0]["params"]["shape"] = [10**12, 10**12]
    c.project("input_dims_huge", dims)
    pos = base_doc()
    pos["graph"]["nodes"][0]["pos"] = [1e308, -1e308]
    c.project("pos_huge", text=json.dumps(pos).replace("1e+308", "1" + "0" * 400, 1))
    c.project("not_json", text="\x00\x01PK garbage {")
    c.project("empty", text="")
    ver = base_doc()
    ver["version"] = 10**30
    c.project("version_huge", ver)
    edges = base_doc()
    edges["graph"]["edges"].append({"src": "nope", "dst": "n1", "slot": 10**20})
    c.project("edge_missing_node", edges)
    fifo_dir = c.folder("project_fifo")
    os.mkfifo(fifo_dir / "p.layerlab.json")
    c.cases.append(Case("project_fifo", ["validate", str(fifo_dir / "p.layerlab.json")]))
    c.cases.append(Case("project_dev_zero", ["validate", "/dev/zero"]))
    c.cases.append(Case("project_dev_urandom_train", ["train", "/dev/urandom"]))


# ---------------------------------------------------------------- data files
def _idx_header(dims, code=0x08) -> bytes:
    return struct.pack(">BBBB", 0, 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


def _gz_zeros(path: Path, head: bytes, zero_bytes: int) -> None:
    z = zlib.compressobj(1, zlib.DEFLATED, 31)     # gzip framing
    chunk = bytes(MB)
    with open(path, "wb") as f:
        f.write(z.compress(head))
        for _ in range(zero_bytes // MB):
            f.write(z.compress(chunk))
        f.write(z.flush())


def _labels(d: Path, n: int) -> None:
    (d / "y.idx").write_bytes(_idx_header((n,)) + bytes(i % 2 for i in range(n)))


def _npz_zeros(path: Path, shape, chunks: int) -> None:
    head = io.BytesIO()
    import numpy as np
    np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as f:
            f.write(head.getvalue())
            for _ in range(chunks):
                f.write(bytes(MB))
        y = io.BytesIO()
        np.save(y, np.arange(shape[0]) % 2)
        zf.writestr("y.npy", y.getvalue())


def _npz_header_only(path: Path, shape, descr="<f4") -> None:
    import numpy as np
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": descr, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("X.npy", head.getvalue())
        zf.writestr("y.npy", head.getvalue())


def _png_header(path: Path, w: int, h: int) -> None:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def _images(d: Path, n: int, writer) -> None:
    for k in ("a", "b"):
        (d / "imgs" / k).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            writer(d / "imgs" / k / f"{i}.png")


def _tiny_png(path: Path) -> None:
    from PIL import Image
    Image.new("RGB", (1, 1)).save(path)


def data_files(c: Corpus) -> None:
    c.data_case("idx_gz_bomb", {"dataset": "idx", "path": "x.gz", "options": {"labels": "y.idx"}},
                lambda d: (_gz_zeros(d / "x.gz", _idx_header((20_000, 100, 100)), 200 * MB), _labels(d, 20_000)))
    c.data_case("idx_gz_longer_than_header", {"dataset": "idx", "path": "x.gz", "options": {"labels": "y.idx"}},
                lambda d: (_gz_zeros(d / "x.gz", _idx_header((10, 2)), 100 * MB), _labels(d, 10)))
    c.data_case("idx_header_10_12", {"dataset": "idx", "path": "x.idx", "options": {"labels": "y.idx"}},
                lambda d: ((d / "x.idx").write_bytes(_idx_header((10**6, 10**6))), _labels(d, 10)))
    c.data_case("idx_gz_truncated", {"dataset": "idx", "path": "x.gz", "options": {"labels": "y.idx"}},
                lambda d: ((d / "x.gz").write_bytes(gzip.compress(_idx_header((10, 2)) + bytes(20))[:-12]),
                           _labels(d, 10)))
    c.data_case("npz_deflated_zeros", {"dataset": "npz", "path": "z.npz"},
                lambda d: _npz_zeros(d / "z.npz", (100_000, 500), 190))
    c.data_case("npz_header_10_13", {"dataset": "npz", "path": "z.npz"},
                lambda d: _npz_header_only(d / "z.npz", (10**13,)))
    c.data_case("npz_header_negative", {"dataset": "npz", "path": "z.npz"},
                lambda d: _npz_header_only(d / "z.npz", (10**6, 10**6, 10**6)))
    c.data_case("npz_object_dtype", {"dataset": "npz", "path": "z.npz"},
                lambda d: _npz_header_only(d / "z.npz", (4,), descr="|O"))
    c.data_case("npz_not_zip", {"dataset": "npz", "path": "z.npz"},
                lambda d: (d / "z.npz").write_bytes(b"PK\x03\x04" + os.urandom(2000)))
    c.data_case("csv_20k_categories", {"dataset": "csv", "path": "t.csv", "options": {"max_categories": 100_000}},
                lambda d: (d / "t.csv").write_text("name,label\n" + "".join(f"v{i},{i % 2}\n" for i in range(20_000))))
    c.data_case("csv_400_text_columns", {"dataset": "csv", "path": "t.csv"},
                lambda d: (d / "t.csv").write_text(",".join(f"c{j}" for j in range(400)) + ",y\n" + "".join(
                    ",".join(f"w{(i * 7 + j) % 100}" for j in range(400)) + f",{i % 2}\n" for i in range(5_000))))
    c.data_case("csv_escape_columns", {"dataset": "csv", "path": "t.csv"},
                lambda d: (d / "t.csv").write_text("\x1b[2Ja,\x1b]0;x\x07b,y\n1,zz\x1b[31m,0\n2,3,1\n"))
    c.data_case("csv_huge_column_name", {"dataset": "csv", "path": "t.csv", "target": "nope"},
                lambda d: (d / "t.csv").write_text("a" * MB + ",y\n1,0\n2,1\n"))
    c.data_case("csv_huge_numbers", {"dataset": "csv", "path": "t.csv"},
                lambda d: (d / "t.csv").write_text("a,y\n" + "9" * 5000 + ",0\n1e999,1\n2,0\n"))
    c.data_case("images_300_at_1024", {"dataset": "images", "path": "imgs", "options": {"size": 1024}},
                lambda d: _images(d, 150, _tiny_png))
    c.data_case("image_pixel_bomb", {"dataset": "images", "path": "imgs", "options": {"size": 8}},
                lambda d: _images(d, 2, lambda p: _png_header(p, 60_000, 60_000)))
    for name, path in (("csv_dev_zero", "/dev/zero"), ("csv_dev_urandom", "/dev/urandom")):
        c.data_case(name, {"dataset": "csv", "path": path}, lambda d: None)
    c.data_case("npz_dev_zero", {"dataset": "npz", "path": "/dev/zero"}, lambda d: None)
    c.data_case("idx_dev_urandom", {"dataset": "idx", "path": "/dev/urandom", "options": {"labels": "/dev/zero"}},
                lambda d: None)
    c.data_case("csv_fifo", {"dataset": "csv", "path": "pipe.csv"}, lambda d: os.mkfifo(d / "pipe.csv"))
    c.data_case("images_fifo_class", {"dataset": "images", "path": "imgs"},
                lambda d: (_images(d, 2, _tiny_png), os.mkfifo(d / "imgs" / "a" / "p.png")))
    c.data_case("csv_outside_folder", {"dataset": "csv", "path": "../../../../../../../etc/passwd"}, lambda d: None)
    c.data_case("images_symlink_usr", {"dataset": "images", "path": "imgs"},
                lambda d: ((d / "imgs").mkdir(), (d / "imgs" / "a").symlink_to("/usr/share/doc"),
                           (d / "imgs" / "b").symlink_to("/usr/include")))


def build(root: Path) -> list[Case]:
    """Write the project and data cases under `root`; run, weights and export cases are added by
    `hostile_runs.build` (they need a trained run)."""
    c = Corpus(root)
    projects(c)
    data_files(c)
    return c.cases

