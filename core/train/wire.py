"""The training process's message format: plain data that both ends own.

A message is a tree of dicts, lists, tuples, strings, numbers, booleans, None, numpy arrays of
numeric dtype, and instances of the event dataclasses in `TYPES`. It travels as bytes: a JSON
header in which each array is replaced by a reference and each dataclass by `{"$t": name, "f":
fields}`, followed by the arrays' raw bytes. Nothing is unpickled on either side: a message
can only ever produce these types, whatever the bytes say.

`TYPES` is an explicit table, not a scan: a class missing from it fails loudly when sent
(tests/core/test_training_process.py checks that every event dataclass is in it).
"""
from __future__ import annotations

import dataclasses
import json
import struct

import numpy as np

from ..analysis import Problem
from .diagnosis import Diagnosis
from .events import (DiagnosisEvent, EpochEnd, Failed, Finished, Paused, Resumed, RunResult, RunStarted, Step,
                     Stopped)
from .probes import LayerStats, ProbeSnapshot

TYPES = {cls.__name__: cls for cls in (
    RunStarted, Step, EpochEnd, DiagnosisEvent, Paused, Resumed, Finished, Stopped, Failed, RunResult,
    ProbeSnapshot, LayerStats, Diagnosis, Problem)}
_HEAD = struct.Struct("<I")


class WireError(ValueError):
    """Bytes that are not a message of this format (a truncated or foreign message)."""


def encode(msg) -> bytes:
    arrays: list[np.ndarray] = []
    head = json.dumps(_plain(msg, arrays), separators=(",", ":")).encode()
    meta = json.dumps([[a.dtype.str, list(a.shape)] for a in arrays]).encode()
    parts = [_HEAD.pack(len(head)), head, _HEAD.pack(len(meta)), meta]
    parts += [a.tobytes() for a in arrays]
    return b"".join(parts)


def decode(data: bytes):
    try:
        n = _HEAD.unpack_from(data, 0)[0]
        head = json.loads(data[4: 4 + n])
        m = _HEAD.unpack_from(data, 4 + n)[0]
        meta = json.loads(data[8 + n: 8 + n + m])
        arrays, at = [], 8 + n + m
        for dtype, shape in meta:
            dt = np.dtype(dtype)
            if dt.kind not in "biuf":
                raise WireError(f"array of dtype {dtype} in a message")
            size = dt.itemsize * int(np.prod(shape, dtype=np.int64))
            if at + size > len(data):
                raise WireError("truncated message")
            arrays.append(np.frombuffer(data, dt, int(np.prod(shape, dtype=np.int64)), at).reshape(shape).copy())
            at += size
        return _typed(head, arrays)
    except (struct.error, json.JSONDecodeError, UnicodeDecodeError, TypeError, KeyError) as e:
        raise WireError(f"not a training-process message: {e}") from None


def _plain(x, arrays: list):
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"cannot send an array of dtype {x.dtype}")
        arrays.append(np.ascontiguousarray(x))
        return {"$nd": len(arrays) - 1}
    if isinstance(x, (list, tuple)):
        return [_plain(v, arrays) for v in x]
    if isinstance(x, dict):
        return {"$d": [[_plain(k, arrays), _plain(v, arrays)] for k, v in x.items()]}
    name = type(x).__name__
    if dataclasses.is_dataclass(x) and TYPES.get(name) is type(x):
        return {"$t": name, "f": {f.name: _plain(getattr(x, f.name), arrays) for f in dataclasses.fields(x)}}
    raise TypeError(f"cannot send a {type(x).__qualname__}: add it to wire.TYPES or send plain data")


def _typed(x, arrays: list):
    if isinstance(x, list):
        return [_typed(v, arrays) for v in x]
    if not isinstance(x, dict):
        return x
    if "$nd" in x:
        return arrays[x["$nd"]]
    if "$d" in x:
        return {_key(_typed(k, arrays)): _typed(v, arrays) for k, v in x["$d"]}
    cls = TYPES.get(x.get("$t"))
    if cls is None:
        raise WireError(f"unknown message type {x.get('$t')!r}")
    tuples = {f.name for f in dataclasses.fields(cls) if "tuple" in str(f.type)}
    return cls(**{k: _tuples(_typed(v, arrays)) if k in tuples else _typed(v, arrays) for k, v in x["f"].items()})


def _tuples(v):
    """Tuple fields (hashable, in frozen dataclasses) travel as JSON lists: restore them."""
    return tuple(_tuples(i) for i in v) if isinstance(v, list) else v


def _key(k):
    return tuple(k) if isinstance(k, list) else k
