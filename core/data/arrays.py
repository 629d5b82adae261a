"""Array files: MNIST-style IDX (images file + labels file, optionally gzipped) and NumPy .npz
with arrays X and y (never unpickled)."""
from __future__ import annotations

import math
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..memory import budget_bytes
from .dataset import Raw
from .errors import DataError
from .limits import check_bytes, dataset_bytes, gunzip, read_bytes, regular_file
from .options import Options
from .targets import make_target

# IDX type codes: numpy dtype (big-endian), name
IDX_TYPES = {0x08: (">u1", "unsigned byte"), 0x09: (">i1", "signed byte"), 0x0B: (">i2", "short"),
             0x0C: (">i4", "int"), 0x0D: (">f4", "float"), 0x0E: (">f8", "double")}


def _idx_header(data: bytes, name: str) -> tuple[str, str, tuple[int, ...], int]:
    """(dtype, type name, dims, header length) from the first bytes of an IDX file."""
    if len(data) < 4:
        raise DataError(f"IDX file {name} is {len(data)} bytes, too short for an IDX header: "
                        "it is truncated or not an IDX file; download it again")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{name} is not an IDX file (it starts with bytes {data[:4].hex(' ')}, an IDX file with "
                        "00 00): point at the MNIST-style images/labels file, unpacked or .gz")
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        raise DataError(f"IDX file {name} has an unknown type code 0x{code:02x} (known: "
                        f"{', '.join(f'0x{c:02x}' for c in IDX_TYPES)}): the file is damaged or not IDX")
    if ndim == 0:
        raise DataError(f"IDX file {name} says it has 0 dimensions: the file is damaged")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"IDX file {name} is truncated inside its header ({len(data)} of {header} bytes): "
                        "download it again")
    dtype, tname = IDX_TYPES[code]
    return dtype, tname, struct.unpack(f">{ndim}I", data[4:header]), header


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file: 2 zero bytes, a type code, the number of dims, dims as big-endian uint32,
    then the values big-endian in C order. Truncated or padded files are refused; the size the
    header declares is checked against the memory budget before anything that large is read."""
    name = path.name
    data = read_bytes(path, "IDX file", budget_bytes())
    gz = data[:2] == b"\x1f\x8b"
    head = gunzip_head(data, name) if gz else data[:4 + 4 * 255]
    dtype, tname, dims, header = _idx_header(head, name)
    count = math.prod(dims)
    need = count * np.dtype(dtype).itemsize
    shape = "×".join(f"{d:,}" for d in dims)
    check_bytes(need + dataset_bytes(count), f"IDX file {name} ({shape} {tname} values)")
    if gz:
        data = gunzip(data, header + need, name)
    have = len(data) - header
    if have < need:
        raise DataError(f"IDX file {name} is truncated: its header promises {shape} {tname} values "
                        f"({need:,} bytes) but only {have:,} bytes follow; download or unpack it again")
    if have > need:
        raise DataError(f"IDX file {name} has {have - need:,} bytes after the {shape} {tname} values its "
                        "header promises: the file is damaged or its header is wrong; download it again")
    return np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims)


def gunzip_head(data: bytes, name: str) -> bytes:
    """The first bytes of a gzipped IDX file: its header, at most 4 + 4 × 255 bytes."""
    return gunzip(data, 4 + 4 * 255, name, whole=False)


def load_idx(images: Path, labels: Path, task: str) -> Raw:
    x = read_idx(images)
    y = read_idx(labels)
    if x.ndim == 1:
        raise DataError(f"IDX images file {images.name} is 1-D (labels?): data.path must be the images file "
                        "and data.options.labels the labels file")
    if x.ndim > 4:
        raise DataError(f"IDX images file {images.name} has {x.ndim} dimensions: LayerLab reads [N, features], "
                        "[N, H, W] or [N, H, W, C]")
    if len(y) != len(x):
        raise DataError(f"IDX files disagree: {images.name} holds {len(x):,} samples but {labels.name} holds "
                        f"{len(y):,} labels: pair the matching images and labels files")
    xf = x.astype(np.float32)
    if x.dtype == np.uint8:
        xf /= 255.0
    if x.ndim == 3:
        xf = xf[:, None]
    elif x.ndim == 4:
        xf = np.ascontiguousarray(xf.transpose(0, 3, 1, 2))
    if not np.isfinite(xf).all():
        raise DataError(f"IDX images file {images.name} holds NaN or infinite values: clean the data")
    yt, task, k, names = make_target(y.astype(y.dtype.newbyteorder("=")), task, f"IDX labels file {labels.name}")
    return Raw(x=xf, y=yt, task=task, num_classes=k, class_names=names,
               feature_names=[f"x{i}" for i in range(xf.shape[1])] if xf.ndim == 2 else [])


def _npz_key(files: list[str], want: str, alt: str, path: Path) -> str:
    for k in (want, alt):
        if k in files:
            return k
    raise DataError(f"npz file {path.name} has arrays {files or 'none'} but no {want!r}: save it with "
                    "np.savez(path, X=features, y=targets)")


def _npz_array(npz, key: str, path: Path) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise DataError(f"npz array {key!r} in {path.name} holds Python objects (dtype=object), which "
                            "LayerLab never unpickles (it could run code): save it as a numeric array, e.g. "
                            "np.asarray(a, dtype=np.float32)") from None
        raise DataError(f"npz array {key!r} in {path.name} cannot be read ({e}): save it again with np.savez") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"npz array {key!r} in {path.name} is damaged ({e}): save it again with np.savez") from None


def npz_shapes(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Each member's (shape, dtype) from its .npy header, read without decompressing the data."""
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                              else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = reader(f)
                out[info.filename[:-4]] = (tuple(shape), dtype)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, RuntimeError, NotImplementedError):
        return out   # np.load below gives the one-line reason
    return out


def _check_npz_size(path: Path) -> None:
    for key, (shape, dtype) in npz_shapes(path).items():
        count = math.prod(shape)
        check_bytes(count * dtype.itemsize + dataset_bytes(count),
                    f"npz array {key!r} in {path.name} ({'×'.join(f'{d:,}' for d in shape)} {dtype})")


def load_npz(path: Path, task: str, opts: Options) -> Raw:
    as_long = opts.choice("input_dtype", "float", ("float", "long")) == "long"
    regular_file(path, "npz file")
    _check_npz_size(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path.name} is not a readable .npz file ({str(e)[:80]}): save it with "
                        "np.savez(path, X=features, y=targets)") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{path.name} holds a single array, not an .npz archive: save it with "
                        "np.savez(path, X=features, y=targets)")
    with npz:
        files = list(npz.files)
        x = _npz_array(npz, _npz_key(files, "X", "x", path), path)
        y = _npz_array(npz, _npz_key(files, "y", "Y", path), path)
    if x.ndim == 0 or y.ndim == 0:
        raise DataError(f"npz file {path.name}: X and y must have a sample axis first (got X {list(x.shape)}, "
                        f"y {list(y.shape)})")
    if len(x) != len(y):
        raise DataError(f"npz file {path.name}: X has {len(x):,} samples but y has {len(y):,}: "
                        "they must match, one target per sample")
    if x.dtype.kind not in "iufb":
        raise DataError(f"npz array 'X' in {path.name} has dtype {x.dtype} (not numbers): encode the features "
                        "as numbers, e.g. one-hot for categories")
    if x.ndim == 1:
        x = x[:, None]
    if as_long:
        if x.dtype.kind not in "iub" or (x.size and x.min() < 0):
            raise DataError(f"npz options input_dtype 'long' needs X of non-negative whole numbers (token ids), "
                            f"got {x.dtype}: use input_dtype 'float'")
        xf = x.astype(np.int64)
    else:
        xf = x.astype(np.float32, copy=False)   # a float32 X is not copied again
        bad = ~np.isfinite(xf.reshape(len(xf), -1)).all(axis=1)
        if bad.any():
            raise DataError(f"npz array 'X' in {path.name} has NaN or infinite values in {int(bad.sum()):,} "
                            f"samples (first: sample {int(np.flatnonzero(bad)[0]) + 1}): clean them")
    yt, task, k, names = make_target(y, task, f"npz array 'y' in {path.name}")
    return Raw(x=xf, y=yt, task=task, num_classes=k, class_names=names,
               feature_names=[f"x{i}" for i in range(xf.shape[1])] if xf.ndim == 2 and not as_long else [],
               input_dtype="long" if as_long else "float")
