"""A ~200 MB numeric CSV written in seconds (numpy builds the bytes; no per-number formatting),
for the background data-load test and benchmark."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_big_csv(path: Path, rows: int = 1_250_000, cols: int = 20, seed: int = 0) -> Path:
    """`rows` lines of `cols` numbers d.ddddd and an integer label 0-2: 162 bytes a line."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write((",".join(f"f{i}" for i in range(cols)) + ",label\n").encode())
        for start in range(0, rows, 250_000):          # blocks keep the temporary arrays small
            n = min(250_000, rows - start)
            v = rng.integers(0, 10**6, (n, cols), dtype=np.int32)
            out = np.empty((n, cols, 8), np.uint8)
            out[:, :, 0] = 48 + v // 100_000
            out[:, :, 1] = ord(".")
            for j, p in enumerate((10_000, 1_000, 100, 10, 1)):
                out[:, :, 2 + j] = 48 + (v // p) % 10
            out[:, :, 7] = ord(",")
            tail = np.stack([48 + rng.integers(0, 3, n), np.full(n, 10)], axis=1).astype(np.uint8)
            f.write(np.concatenate([out.reshape(n, cols * 8), tail], axis=1).tobytes())
    return path
