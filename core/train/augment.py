"""Data augmentation of the training split, per batch, on the device (training.augment).

`build_augmenter(settings, x_train)` returns an Augmenter, or None when every setting is off (the loop then
runs exactly as without this module). The loop calls `reseed(run_generator)` once per epoch (one
draw from the run's batch-order generator seeds the augmenter's own generator on the device, so a
run, a resumed run and every DDP rank are reproducible) and `aug(xb, yb, loss_fn)` per batch, which
returns the augmented batch and the loss to use (a mixed loss with MixUp / CutMix). It runs after
the train-only preprocessing (x_train is already preprocessed) and never touches val / test.

- Images [B, C, H, W]: flips, rotation, zoom, random resized crop and crop-with-padding become one
  per-sample affine matrix and one `affine_grid` + `grid_sample` (zeros outside: the training mean
  after standardizing; integer shifts stay exact); brightness / contrast / noise / random erasing are
  per-sample broadcasts. MixUp and CutMix draw one λ ~ Beta(α, α) per batch, as in their papers, and
  pair each sample with a random partner (loss = λ·L(y) + (1 − λ)·L(y_partner)).
- Tabular [B, F]: Gaussian noise on the standardized features. Sequences (token ids): token dropout.

Why torch ops and not a library: torchvision from PyPI fails to import beside the pinned torch
2.13.0 CPU ('operator torchvision::nms does not exist'). Kornia 0.9.0 installs and runs, but
measured here 20.6 ms per 64×1×8×8 batch (crop + affine + jitter + erasing) against a 127 ms digits
CNN step, 16 % on its own (the budget is 15 %), and it samples from the global RNG (no generator
argument), so seeding from the run would need fork_rng per batch; the same batch costs ~1 ms here.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..specs import AUGMENTS

GEOMETRIC = ("crop_pad", "resized_crop", "hflip", "vflip", "rotate", "scale")


def modality(x: torch.Tensor) -> str:
    if not x.is_floating_point():
        return "sequence"
    return "image" if x.dim() == 4 else "tabular"


def active(settings: dict, kind: str) -> dict[str, float]:
    """The settings that are on and apply to this kind of data."""
    return {k: float(v) for k, v in settings.items() if v and k in AUGMENTS and kind in AUGMENTS[k][0].split()}


def ignored(settings: dict, kind: str) -> list[str]:
    """Settings that are on but do not apply to this kind of data (preflight names them)."""
    return [k for k, v in settings.items() if v and k in AUGMENTS and kind not in AUGMENTS[k][0].split()]


def build_augmenter(settings: dict, x_train: torch.Tensor) -> "Augmenter | None":
    kind = modality(x_train)
    on = active(settings or {}, kind)
    if not on or x_train.shape[0] == 0:
        return None
    std = float(x_train.float().std()) if kind != "sequence" and x_train.numel() > 1 else 1.0
    return Augmenter(on, kind, x_train.device, std if math.isfinite(std) and std > 0 else 1.0)


class Augmenter:
    def __init__(self, on: dict[str, float], kind: str, device: torch.device, std: float):
        self.on, self.kind, self.device, self.std = on, kind, device, std
        self.gen = torch.Generator(device=device)
        self.np_rng = np.random.default_rng(0)
        self.geometric = any(k in on for k in GEOMETRIC)

    def reseed(self, run_generator: torch.Generator) -> None:
        seed = int(torch.randint(0, 2**62, (1,), generator=run_generator))
        self.gen.manual_seed(seed)
        self.np_rng = np.random.default_rng(seed)

    def _rand(self, *shape) -> torch.Tensor:
        return torch.rand(shape, generator=self.gen, device=self.device)

    @torch.no_grad()
    def transform(self, xb: torch.Tensor) -> torch.Tensor:
        """The per-sample transforms (no mixing)."""
        if self.kind == "sequence":
            return xb.masked_fill(self._rand(*xb.shape) < self.on["token_dropout"], 0)
        if self.kind == "tabular":
            return xb + self._noise(xb)
        out = _affine(self, xb) if self.geometric else xb
        out = _photometric(self, out)
        if "noise" in self.on:
            out = out + self._noise(out)
        if "erase" in self.on:
            out = _erase(self, out)
        return out

    def _noise(self, xb: torch.Tensor) -> torch.Tensor:
        z = torch.randn(xb.shape, generator=self.gen, device=self.device, dtype=xb.dtype)
        return z.mul_(self.on["noise"] * self.std)

    def __call__(self, xb: torch.Tensor, yb: torch.Tensor, loss_fn: Callable):
        xb = self.transform(xb)
        if self.kind != "image" or not ("mixup" in self.on or "cutmix" in self.on) or xb.shape[0] < 2:
            return xb, loss_fn
        xb, partner, lam = self.mix(xb)
        y2 = yb.index_select(0, partner)
        return xb, lambda out, y: lam * loss_fn(out, y) + (1.0 - lam) * loss_fn(out, y2)

    @torch.no_grad()
    def mix(self, xb: torch.Tensor):
        """MixUp or CutMix (one of them, even odds, when both are on): (mixed batch, partner index, λ)."""
        use_cut = "cutmix" in self.on and ("mixup" not in self.on or self.np_rng.random() < 0.5)
        alpha = self.on["cutmix" if use_cut else "mixup"]
        lam = float(self.np_rng.beta(alpha, alpha))
        partner = torch.randperm(xb.shape[0], generator=self.gen, device=self.device)
        other = xb.index_select(0, partner)
        if not use_cut:
            return xb * lam + other * (1.0 - lam), partner, lam
        h, w = xb.shape[-2:]
        ch, cw = int(round(h * math.sqrt(1 - lam))), int(round(w * math.sqrt(1 - lam)))
        cy, cx = int(self.np_rng.integers(h)), int(self.np_rng.integers(w))
        y0, y1 = max(cy - ch // 2, 0), min(cy - ch // 2 + ch, h)
        x0, x1 = max(cx - cw // 2, 0), min(cx - cw // 2 + cw, w)
        out = xb.clone()
        out[..., y0:y1, x0:x1] = other[..., y0:y1, x0:x1]
        return out, partner, 1.0 - (y1 - y0) * (x1 - x0) / (h * w)     # λ by the pasted area


def _affine(a: Augmenter, xb: torch.Tensor) -> torch.Tensor:
    """One affine matrix per sample (output → input coordinates, normalized to [-1, 1])."""
    b, h, w, on = xb.shape[0], xb.shape[-2], xb.shape[-1], a.on
    u = a._rand(b, 8)
    sx = torch.ones(b, device=a.device)
    sy = torch.ones(b, device=a.device)
    if "hflip" in on:
        sx = torch.where(u[:, 0] < on["hflip"], -sx, sx)
    if "vflip" in on:
        sy = torch.where(u[:, 1] < on["vflip"], -sy, sy)
    zoom = 1.0 + (u[:, 2] * 2 - 1) * on.get("scale", 0.0)
    angle = (u[:, 3] * 2 - 1) * math.radians(on.get("rotate", 0.0))
    cw, chh = torch.ones(b, device=a.device), torch.ones(b, device=a.device)
    tx, ty = torch.zeros(b, device=a.device), torch.zeros(b, device=a.device)
    if "resized_crop" in on:       # area fraction in [s, 1], aspect ratio in [3/4, 4/3] (log-uniform)
        area = on["resized_crop"] + (1 - on["resized_crop"]) * u[:, 4]
        ratio = torch.exp(math.log(3 / 4) + (u[:, 5]) * (math.log(4 / 3) - math.log(3 / 4)))
        cw, chh = (area * ratio).sqrt().clamp(max=1), (area / ratio).sqrt().clamp(max=1)
        tx, ty = (1 - cw) * (u[:, 6] * 2 - 1), (1 - chh) * (u[:, 7] * 2 - 1)
    if "crop_pad" in on:           # integer pixel shifts in [-pad, pad]
        pad = int(on["crop_pad"])
        shift = torch.randint(-pad, pad + 1, (b, 2), generator=a.gen, device=a.device).float()
        tx, ty = tx + 2 * shift[:, 0] / w, ty + 2 * shift[:, 1] / h
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cw * cos * sx, -cw * sin * sy, tx], 1),
                         torch.stack([chh * sin * sx, chh * cos * sy, ty], 1)], 1)
    grid = F.affine_grid(theta.to(xb.dtype), list(xb.shape), align_corners=False)
    return F.grid_sample(xb, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _photometric(a: Augmenter, xb: torch.Tensor) -> torch.Tensor:
    b = xb.shape[0]
    if "contrast" in a.on:
        c = a.on["contrast"]
        f = (1 + (a._rand(b, 1, 1, 1) * 2 - 1) * c).to(xb.dtype)
        mean = xb.mean(dim=(1, 2, 3), keepdim=True)
        xb = (xb - mean) * f + mean
    if "brightness" in a.on:
        shift = (a._rand(b, 1, 1, 1) * 2 - 1) * (a.on["brightness"] * a.std)
        xb = xb + shift.to(xb.dtype)
    return xb


def _erase(a: Augmenter, xb: torch.Tensor) -> torch.Tensor:
    """Random erasing: per sample, with probability p, a rectangle of 2–20 % of the area, aspect
    0.3–3.3, set to 0 (the mean of standardized data)."""
    b, h, w = xb.shape[0], xb.shape[-2], xb.shape[-1]
    u = a._rand(b, 5)
    area = (0.02 + 0.18 * u[:, 0]) * h * w
    ratio = torch.exp(math.log(0.3) + u[:, 1] * (math.log(3.3) - math.log(0.3)))
    eh = (area * ratio).sqrt().clamp(1, h)
    ew = (area / ratio).sqrt().clamp(1, w)
    y0 = (u[:, 2] * (h - eh + 1)).floor()
    x0 = (u[:, 3] * (w - ew + 1)).floor()
    rows = torch.arange(h, device=a.device).view(1, h, 1)
    cols = torch.arange(w, device=a.device).view(1, 1, w)
    box = ((rows >= y0.view(b, 1, 1)) & (rows < (y0 + eh).view(b, 1, 1))
           & (cols >= x0.view(b, 1, 1)) & (cols < (x0 + ew).view(b, 1, 1)))
    box &= (u[:, 4] < a.on["erase"]).view(b, 1, 1)
    return xb.masked_fill(box.unsqueeze(1), 0)


def preview(settings: dict, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """`x` (a few training samples) as one training batch would see them; for the Data panel."""
    aug = build_augmenter(settings, x)
    if aug is None:
        return x
    aug.reseed(torch.Generator().manual_seed(seed))
    out = aug.transform(x)
    if aug.kind == "image" and ("mixup" in aug.on or "cutmix" in aug.on) and x.shape[0] > 1:
        out = aug.mix(out)[0]
    return out
