"""Feature preprocessing fitted on the train split only, serialisable so an exported model can
re-apply it without LayerLab.

Every kind works on the flattened features x of shape [N, d] and reshapes back:

- none:          x' = x
- center:        x' = (x - shift) * scale, shift = train mean, scale = 1
- standardize:   x' = (x - shift) * scale, shift = train mean, scale = 1 / train std (population)
- minmax:        x' = (x - shift) * scale, shift = train min,  scale = 1 / (train max - train min)
- pca_whiten:    x' = (x - shift) @ matrix, shift = train mean, matrix = D⁻¹ V (Λ + eps)^-½

Constant features get scale 1 (no inf/NaN). PCA whitening works on the standardized features
(D = diag(train std); V, Λ = the eigenvectors and eigenvalues of the train correlation matrix,
largest first), so features on different scales cannot drown each other and directions with no
variance (constant or linearly dependent features) are found reliably: those keep scale 1
instead of being blown up. The whitened train features have identity covariance in every other
direction. The full dimension d is kept, so the output reshapes to the input shape.

`to_dict()` gives {"kind", "input_shape", "shift", "scale"} (or "matrix" for pca_whiten; only
"kind" and "input_shape" for none) plus "fitted_on", the number of training samples.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .errors import DataError

KINDS = ("none", "center", "standardize", "minmax", "pca_whiten")
PCA_EPS = 1e-6            # added to the correlation-matrix eigenvalues (which sum to d)
PCA_DEGENERATE = 1e-9     # eigenvalues below this are directions without variance
MAX_PCA_FEATURES = 1024   # the matrix is d×d floats in every saved run and export

_WHAT = {"none": "no preprocessing", "center": "mean", "standardize": "mean/std", "minmax": "min/max",
         "pca_whiten": "mean, std and correlation eigenvectors"}


class Preprocessor:
    """A fitted feature transform. Build with `Preprocessor.fit(kind, x_train)` or `from_dict`."""

    def __init__(self, kind: str = "none", input_shape: tuple[int, ...] = (), *, shift=None, scale=None,
                 matrix=None, fitted_on: int = 0, constant: int = 0, note: str = ""):
        if kind not in KINDS:
            raise DataError(f"preprocessing {kind!r} is unknown: use one of {', '.join(KINDS)}")
        self.kind = kind
        self.input_shape = tuple(int(s) for s in input_shape)
        # C order always: a transposed layout would take another BLAS path and round differently
        # from the same numbers loaded back by from_dict
        self.shift = None if shift is None else np.ascontiguousarray(shift, dtype=np.float64)
        self.scale = None if scale is None else np.ascontiguousarray(scale, dtype=np.float64)
        self.matrix = None if matrix is None else np.ascontiguousarray(matrix, dtype=np.float64)
        self.fitted_on = int(fitted_on)
        self.constant = int(constant)   # features (or PCA directions) without variance, left at scale 1
        self.note = note
        self._torch: dict[str, torch.Tensor] = {}

    # ---------------------------------------------------------------- fitting
    @classmethod
    def fit(cls, kind: str, x_train: torch.Tensor | np.ndarray) -> Preprocessor:
        x = torch.as_tensor(x_train)
        if x.dim() < 1:
            raise DataError("preprocessing needs a batch of samples, got a scalar")
        shape, n = tuple(x.shape[1:]), int(x.shape[0])
        if kind not in KINDS:
            raise DataError(f"data.preprocessing {kind!r} is unknown: use one of {', '.join(KINDS)}")
        if kind == "none":
            return cls("none", shape, fitted_on=n)
        if n < 1:
            raise DataError(f"{kind} needs training samples to fit on, the train split is empty: "
                            "lower data.val_fraction / data.test_fraction")
        flat = x.reshape(n, -1).to(torch.float64).numpy()
        d = flat.shape[1]
        if not np.isfinite(flat).all():
            raise DataError(f"the training features hold NaN or infinite values, so {kind} cannot be fitted: "
                            "clean the data or set data.options.impute")
        mean = flat.mean(axis=0)
        _check_range(flat, flat.min(axis=0) if kind == "minmax" else mean, kind)
        if kind == "center":
            return cls(kind, shape, shift=mean, scale=np.ones(d), fitted_on=n)
        if kind == "standardize":
            std = flat.std(axis=0)
            const = _constant(std, mean)
            return cls(kind, shape, shift=mean, scale=1.0 / np.where(const, 1.0, std), fitted_on=n,
                       constant=int(const.sum()))
        if kind == "minmax":
            lo, hi = flat.min(axis=0), flat.max(axis=0)
            span = hi - lo
            const = _constant(span, np.maximum(np.abs(lo), np.abs(hi)))
            return cls(kind, shape, shift=lo, scale=1.0 / np.where(const, 1.0, span), fitted_on=n,
                       constant=int(const.sum()))
        return cls._fit_pca(shape, flat, mean)

    @classmethod
    def _fit_pca(cls, shape, flat: np.ndarray, mean: np.ndarray) -> Preprocessor:
        n, d = flat.shape
        if d > MAX_PCA_FEATURES:
            raise DataError(f"pca_whiten on {d:,} features needs a {d:,}×{d:,} matrix in every saved run: "
                            f"use standardize, or fewer features (at most {MAX_PCA_FEATURES:,}; "
                            "for images lower options.size or set grayscale)")
        if n < 2:
            raise DataError("pca_whiten needs at least 2 training samples: add data or use standardize")
        std = flat.std(axis=0)
        const = _constant(std, mean)
        inv_std = 1.0 / np.where(const, 1.0, std)
        z = (flat - mean) * inv_std
        z[:, const] = 0.0                            # exactly no variance, whatever rounding left
        corr = (z.T @ z) / n
        eigval, eigvec = np.linalg.eigh((corr + corr.T) / 2)
        order = np.argsort(eigval)[::-1]
        eigval, eigvec = eigval[order], eigvec[:, order]
        flat_dir = eigval < PCA_DEGENERATE
        eigvec = eigvec * np.where(eigvec.sum(axis=0) < 0, -1.0, 1.0)   # deterministic signs
        scale = np.where(flat_dir, 1.0, 1.0 / np.sqrt(np.maximum(eigval, 0.0) + PCA_EPS))
        matrix = (inv_std[:, None] * eigvec) * scale[None, :]
        return cls("pca_whiten", shape, shift=mean, matrix=matrix, fitted_on=n, constant=int(flat_dir.sum()))

    # ---------------------------------------------------------------- applying
    @property
    def n_features(self) -> int:
        return math.prod(self.input_shape)

    def _param(self, name: str) -> torch.Tensor:
        if name not in self._torch:
            self._torch[name] = torch.from_numpy(getattr(self, name)).to(torch.float32).contiguous()
        return self._torch[name]

    def transform(self, x: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Apply to a batch [N, *input_shape] (or one sample shaped input_shape); returns float32."""
        x = torch.as_tensor(x)
        single = x.dim() == len(self.input_shape) and tuple(x.shape) == self.input_shape
        if self.kind == "none":
            return x
        batch = x.unsqueeze(0) if single else x
        if tuple(batch.shape[1:]) != self.input_shape:
            want = ", ".join(str(s) for s in self.input_shape)
            raise DataError(f"{self.kind} was fitted on samples shaped [{want}] but got a batch shaped "
                            f"{list(batch.shape)}: pass [N, {want}]")
        flat = batch.reshape(batch.shape[0], self.n_features).to(torch.float32)
        if self.kind == "pca_whiten":
            out = (flat - self._param("shift")) @ self._param("matrix")
        else:
            out = (flat - self._param("shift")) * self._param("scale")
        out = out.reshape(batch.shape)
        return out[0] if single else out

    # ---------------------------------------------------------------- saving
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "input_shape": list(self.input_shape)}
        if self.kind == "none":
            return d | {"fitted_on": self.fitted_on}
        d["shift"] = [float(v) for v in self.shift]
        if self.kind == "pca_whiten":
            d["matrix"] = self.matrix.tolist()
        else:
            d["scale"] = [float(v) for v in self.scale]
        d["fitted_on"] = self.fitted_on
        return d

    @classmethod
    def from_dict(cls, data: Any) -> Preprocessor:
        if not isinstance(data, dict) or "kind" not in data:
            raise DataError("preprocessing stats must be an object with a 'kind': re-save them from the run")
        kind, shape = data["kind"], data.get("input_shape", [])
        if kind not in KINDS:
            raise DataError(f"preprocessing kind {kind!r} is unknown: use one of {', '.join(KINDS)}")
        if not isinstance(shape, (list, tuple)) or not all(isinstance(s, int) and s > 0 for s in shape):
            raise DataError(f"preprocessing input_shape must be a list of positive whole numbers (got {shape!r})")
        fitted_on = data.get("fitted_on", 0)
        if kind == "none":
            return cls("none", tuple(shape), fitted_on=fitted_on)
        d = math.prod(shape)
        arrays = {}
        for key, want in (("shift", (d,)), ("matrix" if kind == "pca_whiten" else "scale",
                                             (d, d) if kind == "pca_whiten" else (d,))):
            try:
                arr = np.asarray(data[key], dtype=np.float64)
            except KeyError:
                raise DataError(f"{kind} stats lack {key!r}: re-save them from the run") from None
            except (TypeError, ValueError):
                raise DataError(f"{kind} stats {key!r} must be numbers: re-save them from the run") from None
            if arr.shape != want or not np.isfinite(arr).all():
                raise DataError(f"{kind} stats {key!r} must be {want} finite numbers for input_shape {list(shape)} "
                                f"(got shape {arr.shape}): re-save them from the run")
            arrays[key] = arr
        return cls(kind, tuple(shape), fitted_on=fitted_on, **arrays)

    # ---------------------------------------------------------------- telling
    def stats_summary(self) -> str:
        if self.kind == "none":
            return f"none: {self.note or 'features are used as they are'}"
        d = self.n_features
        text = (f"{self.kind}: {_WHAT[self.kind]} of {self.fitted_on:,} training samples, "
                f"{d:,} feature{'s' if d != 1 else ''}")
        if self.constant:
            what = "direction" if self.kind == "pca_whiten" else "feature"
            text += f" ({self.constant:,} constant {what}{'s' if self.constant != 1 else ''} left at scale 1)"
        return text

    def __repr__(self) -> str:
        return f"Preprocessor({self.kind!r}, input_shape={self.input_shape}, fitted_on={self.fitted_on})"


def _constant(spread: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """A spread (std or range) at float32 rounding level of the values has no usable variation."""
    return spread <= np.maximum(1e-6 * np.abs(magnitude), 1e-30)


def _check_range(flat: np.ndarray, shift: np.ndarray, kind: str) -> None:
    """transform() subtracts the shift in float32: refuse features whose distance from it overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        wide = ~(np.abs(flat - shift).max(axis=0) <= np.finfo(np.float32).max)
    if wide.any():
        col = int(np.flatnonzero(wide)[0])
        raise DataError(f"feature {col + 1} spans values too far apart for 32-bit floats "
                        f"({flat[:, col].min():.3g} to {flat[:, col].max():.3g}), so {kind} would overflow: "
                        "rescale that column (e.g. to other units)")
