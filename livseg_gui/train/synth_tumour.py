"""Synthetic liver tumours pasted into real livers (after Hu et al., CVPR 2023).

Lesions are textured (smoothed noise), with a soft edge and an irregular outline (an ellipsoid
whose radius is modulated by smooth noise). Most are hypodense (metastases, HCC after washout),
some hyperdense (HCC in the arterial phase), some nearly isodense with an enhancing rim. They are
clipped to the liver, and the tumour label follows the 50 % iso-contour.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def paste_tumour(
    hu: np.ndarray,
    labels: np.ndarray,
    spacing: tuple[float, float, float],
    diameter_mm: float,
    rng: np.random.Generator,
    center: tuple[int, int, int] | None = None,
    kind: str | None = None,
) -> bool:
    """Paste one lesion of roughly ``diameter_mm`` into the liver of (hu, labels), in place.

    ``hu`` is float32, ``labels`` uint8 (1 liver, 2 tumour); both (X, Y, Z). Returns False
    when there is no liver to paste into. ``kind`` is "hypo", "hyper" or "rim" (random when None:
    60 / 25 / 15 %).
    """
    liver = labels >= 1
    if center is None:
        idx = np.flatnonzero(liver)
        if idx.size == 0:
            return False
        center = np.unravel_index(idx[rng.integers(idx.size)], liver.shape)
    c = np.asarray(center, dtype=np.float64)
    sp = np.asarray(spacing, dtype=np.float64)
    radii = diameter_mm / 2.0 * rng.uniform(0.75, 1.25, size=3)
    radii = radii * (diameter_mm / 2.0) / np.cbrt(np.prod(radii))  # keep the volume-equivalent size
    half = np.ceil((radii.max() * 1.6 + 2 * sp.max()) / sp).astype(int)
    lo = np.maximum(c.astype(int) - half, 0)
    hi = np.minimum(c.astype(int) + half + 1, np.array(hu.shape))
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    grids = np.meshgrid(*[(np.arange(a, b) - ci) * s for a, b, ci, s in zip(lo, hi, c, sp)], indexing="ij")
    theta = rng.uniform(0, np.pi)
    x = grids[0] * np.cos(theta) - grids[1] * np.sin(theta)
    y = grids[0] * np.sin(theta) + grids[1] * np.cos(theta)
    r = np.sqrt((x / radii[0]) ** 2 + (y / radii[1]) ** 2 + (grids[2] / radii[2]) ** 2)
    shape = r.shape
    wobble = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma=max(1.0, min(shape) / 6))
    wobble /= max(float(np.abs(wobble).max()), 1e-6)
    r = r * (1.0 + 0.18 * wobble)
    edge = rng.uniform(0.03, 0.12)  # real lesions have a visible border; diffuse darkening is not a lesion
    soft = 1.0 / (1.0 + np.exp((r - 1.0) / edge))
    soft *= liver[box]
    if not np.any(soft > 0.5):
        return False
    region = hu[box]
    liver_hu = float(np.median(region[liver[box]])) if np.any(liver[box]) else 60.0
    if kind is None:
        kind = str(rng.choice(["hypo", "hyper", "rim"], p=[0.6, 0.25, 0.15]))
    if kind == "hypo":
        contrast = -rng.uniform(15.0, 80.0)
    elif kind == "hyper":
        contrast = rng.uniform(15.0, 60.0)
    else:
        contrast = rng.uniform(-15.0, 5.0)
    texture = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma=rng.uniform(0.7, 2.0))
    texture *= rng.uniform(6.0, 18.0) / max(float(texture.std()), 1e-6)
    lesion = liver_hu + contrast + texture
    if kind == "rim" or (kind == "hypo" and rng.random() < 0.25):  # enhancing rim, seen in metastases
        rim = np.exp(-(((r - 1.0) / 0.12) ** 2))
        lesion = lesion + rim * rng.uniform(20.0, 50.0)
    region[...] = region * (1 - soft) + lesion * soft
    lab = labels[box]
    lab[(soft > 0.5)] = 2
    return True


def perfusion_field(hu: np.ndarray, labels: np.ndarray, rng: np.random.Generator, amplitude_hu: float = 25.0) -> None:
    """Add a smooth, label-free intensity variation inside the liver, in place.

    Real livers are not uniform (perfusion, beam hardening near bone); this teaches the tumour net
    that broad, soft-edged darkening without a border is not a lesion.
    """
    liver = labels >= 1
    if not liver.any():
        return
    # A smooth field on an 8x coarser in-plane grid, repeated up: steps of well under 1 HU, 50x cheaper
    # than a full-resolution spline zoom.
    small = (-(-hu.shape[0] // 8), -(-hu.shape[1] // 8), hu.shape[2])
    coarse = rng.standard_normal((4, 4, 2)).astype(np.float32)
    field = ndimage.zoom(coarse, np.array(small) / np.array(coarse.shape), order=3, grid_mode=True, mode="nearest")
    field = field[: small[0], : small[1], : small[2]]
    field *= amplitude_hu / max(float(np.abs(field).max()), 1e-6)
    field = field.repeat(8, axis=0).repeat(8, axis=1)[: hu.shape[0], : hu.shape[1]]
    hu[liver] += field[liver]


def paste_random_tumours(
    hu: np.ndarray, labels: np.ndarray, spacing: tuple[float, float, float], rng: np.random.Generator,
    max_count: int = 4, min_mm: float = 3.0, max_mm: float = 60.0,
) -> int:
    """Paste 1..max_count lesions with log-uniform diameters in [min_mm, max_mm]."""
    n = 0
    for _ in range(int(rng.integers(1, max_count + 1))):
        d = float(np.exp(rng.uniform(np.log(min_mm), np.log(max_mm))))
        n += paste_tumour(hu, labels, spacing, d, rng)
    return n
