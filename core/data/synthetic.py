"""Generated data sets: 2-D classification toys, a noisy sine, and digit-sequence reversal.
All are seeded by `DataSpec.seed` and sized by `DataSpec.options`."""
from __future__ import annotations

import numpy as np

from .dataset import Raw
from .options import OPTIONS, Options

MAX_SAMPLES = 1_000_000
XY = ["x1", "x2"]


def _n(opts: Options, source: str, lo: int = 10) -> int:
    return opts.int("n_samples", OPTIONS[source]["n_samples"][0], lo, MAX_SAMPLES)


def _noise(opts: Options, source: str) -> float:
    return opts.float("noise", OPTIONS[source]["noise"][0], 0.0, 100.0)


def _raw2d(x: np.ndarray, y: np.ndarray, names: list[str]) -> Raw:
    return Raw(x=x.astype(np.float32), y=y.astype(np.int64), task="classification",
               num_classes=len(names), class_names=names, feature_names=list(XY))


def spiral(opts: Options, seed: int) -> Raw:
    """K interleaved spiral arms (the CS231n spiral): radius 0→1, each arm turning 4 radians."""
    k = opts.int("classes", OPTIONS["spiral"]["classes"][0], 2, 20)
    n = _n(opts, "spiral", lo=2 * k)
    noise = _noise(opts, "spiral")
    rng = np.random.default_rng(seed)
    per = np.full(k, n // k)
    per[: n % k] += 1
    xs, ys = [], []
    for c, m in enumerate(per):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, m) + rng.normal(0.0, noise, m)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(m, c))
    return _raw2d(np.concatenate(xs), np.concatenate(ys), [f"arm {c}" for c in range(k)])


def _shuffled_noisy(x: np.ndarray, y: np.ndarray, rs: np.random.RandomState, noise: float | None):
    """sklearn.utils.shuffle, then Gaussian noise on the points, drawn from the same RandomState."""
    idx = np.arange(len(x))
    rs.shuffle(idx)
    x, y = x[idx], y[idx]
    if noise is not None:
        x = x + rs.normal(scale=noise, size=x.shape)
    return x, y


def moons(opts: Options, seed: int) -> Raw:
    """Two interleaving half circles: what sklearn.datasets.make_moons draws for the same seed
    (a test checks it, draw for draw), in numpy: importing sklearn takes seconds and the packaged
    app leaves it out."""
    n = _n(opts, "moons")
    out, inn = n // 2, n - n // 2
    x = np.vstack([np.append(np.cos(np.linspace(0, np.pi, out)), 1 - np.cos(np.linspace(0, np.pi, inn))),
                   np.append(np.sin(np.linspace(0, np.pi, out)), 1 - np.sin(np.linspace(0, np.pi, inn)) - 0.5)]).T
    y = np.hstack([np.zeros(out, dtype=np.intp), np.ones(inn, dtype=np.intp)])
    x, y = _shuffled_noisy(x, y, np.random.RandomState(seed), _noise(opts, "moons"))
    return _raw2d(x, y, ["upper moon", "lower moon"])


def circles(opts: Options, seed: int) -> Raw:
    """A small circle inside a large one: sklearn.datasets.make_circles's draws, in numpy (as moons)."""
    factor = opts.float("factor", OPTIONS["circles"]["factor"][0], 0.01, 0.99)
    n = _n(opts, "circles")
    out, inn = n // 2, n - n // 2
    t_out = np.linspace(0, 2 * np.pi, out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, inn, endpoint=False)
    x = np.vstack([np.append(np.cos(t_out), np.cos(t_in) * factor),
                   np.append(np.sin(t_out), np.sin(t_in) * factor)]).T
    y = np.hstack([np.zeros(out, dtype=np.intp), np.ones(inn, dtype=np.intp)])
    x, y = _shuffled_noisy(x, y, np.random.RandomState(seed), _noise(opts, "circles"))
    return _raw2d(x, y, ["outer", "inner"])


def xor(opts: Options, seed: int) -> Raw:
    """Points uniform in [-1, 1]², class 1 where x1·x2 > 0, then Gaussian noise on the points."""
    n, noise = _n(opts, "xor"), _noise(opts, "xor")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    x = x + rng.normal(0.0, noise, size=x.shape)
    return _raw2d(x, y, ["opposite signs", "same sign"])


def blobs(opts: Options, seed: int) -> Raw:
    """Gaussian blobs around centres uniform in [-10, 10]²: sklearn.datasets.make_blobs's draws,
    in numpy (as moons)."""
    k = opts.int("classes", OPTIONS["blobs"]["classes"][0], 2, 50)
    n = _n(opts, "blobs", lo=2 * k)
    std = _noise(opts, "blobs")
    rs = np.random.RandomState(seed)
    centers = rs.uniform(-10.0, 10.0, size=(k, 2))
    per = [n // k + (1 if c < n % k else 0) for c in range(k)]
    x = np.concatenate([rs.normal(loc=centers[c], scale=std, size=(m, 2)) for c, m in enumerate(per)])
    y = np.concatenate([np.full(m, c, dtype=int) for c, m in enumerate(per)])
    x, y = _shuffled_noisy(x, y, rs, None)
    return _raw2d(x, y, [f"blob {c}" for c in range(k)])


def sine(opts: Options, seed: int) -> Raw:
    """y = sin(x) + noise for x uniform in [-π, π]: x [N, 1], y [N, 1]."""
    n, noise = _n(opts, "sine"), _noise(opts, "sine")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, size=(n, 1))
    y = np.sin(x) + rng.normal(0.0, noise, size=x.shape)
    return Raw(x=x.astype(np.float32), y=y.astype(np.float32), task="regression", num_classes=0,
               class_names=[], feature_names=["x"])


def reverse(opts: Options, seed: int) -> Raw:
    """Random digit sequences (token ids 0-9) and the same sequence reversed, per position."""
    n = _n(opts, "reverse")
    t = opts.int("seq_len", OPTIONS["reverse"]["seq_len"][0], 2, 4096)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, size=(n, t), dtype=np.int64)
    return Raw(x=x, y=x[:, ::-1].copy(), task="classification", num_classes=10,
               class_names=[str(d) for d in range(10)], input_dtype="long")


GENERATORS = {"spiral": spiral, "moons": moons, "circles": circles, "xor": xor, "blobs": blobs,
              "sine": sine, "reverse": reverse}
