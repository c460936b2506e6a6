"""The click-conditioned lesion net (DeepGrow / nnInteractive style) on onnxruntime. No Qt.

Input, per slice, on a square of ``size`` pixels at ``mm_per_px`` centred on the first click:
the CT (``context`` slices ``context_step_mm`` apart, tumour window), a positive and a negative
click map (Gaussians of the 3-D distance to each click, so a click 10 mm away still says "the
lesion is near"), and a prior mask (the lesion on the neighbouring slice, or the current
labels on the clicked slice). Output: the clicked lesion on that slice.

A click segments in 3-D by propagation: the clicked slice first, then slice by slice up and down,
each seeing its neighbour's result as the prior, until the lesion ends. Training
(``train.click_sampling``) builds its inputs with the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .preprocess import (
    PlaneBox,
    context_indices,
    context_stride,
    fill_between,
    from_net_plane,
    normalise,
    plane_matrix,
    sample_stride,
    to_net_plane,
)

SIGMA_MM = 5.0  # click Gaussians: a click marks ~10 mm around it
MAX_REACH_MM = 80.0  # a lesion is followed at most this far from the clicked slice
MIN_AREA_PX = 4  # propagation stops on the first slice with less lesion than this
Z_REACH = 0.75  # how far along z (x its widest diameter) a lesion may reach from the clicked slice
STOP_FRACTION = 0.1  # ... or with less than this share of the lesion's largest cross-section (its tapering cap)
MIN_CONTRAST = 0.01  # window units (3 HU in the 300 HU window): below it a lesion is isodense and the contrast rule is off
SAMPLE_MM = 2.0  # thin slices: the net runs on slices about this far apart, those between are interpolated


@dataclass(frozen=True)
class ClickSpec:
    size: int = 128
    mm_per_px: float = 1.0
    context: int = 5
    context_step_mm: float = 2.5
    window: tuple[float, float] = (-100.0, 200.0)

    @property
    def channels(self) -> int:
        return self.context + 3  # CT slices, positive clicks, negative clicks, prior

    @classmethod
    def from_card(cls, entry: dict) -> ClickSpec:
        return cls(int(entry["input_size"]), float(entry["mm_per_px"]), int(entry["context"]),
                   float(entry["context_step_mm"]), tuple(entry["hu_window"]))


def click_box(center_xy, spacing_xy, spec: ClickSpec) -> PlaneBox:
    """The square the net sees, centred on a click (voxel x, y)."""
    px_mm = float(np.mean(spacing_xy))
    return PlaneBox(center=(float(center_xy[0]), float(center_xy[1])), side=spec.size * spec.mm_per_px / px_mm)


def click_map(coords_xy: np.ndarray, z_mm: float, clicks_vox: np.ndarray, spacing) -> np.ndarray:
    """Max over clicks of exp(-d^2 / 2 sigma^2), d the 3-D distance (mm) from each sample to the click.

    ``coords_xy`` (2, N) are the samples' voxel x, y; ``z_mm`` their slice's z; ``clicks_vox`` (M, 3).
    """
    out = np.zeros(coords_xy.shape[1], np.float32)
    sp = np.asarray(spacing, float)
    for c in np.asarray(clicks_vox, float).reshape(-1, 3):
        d2 = ((coords_xy[0] - c[0]) * sp[0]) ** 2 + ((coords_xy[1] - c[1]) * sp[1]) ** 2 + (z_mm - c[2] * sp[2]) ** 2
        np.maximum(out, np.exp(-d2 / (2 * SIGMA_MM**2)).astype(np.float32), out=out)
    return out


def _pixel_of(box: PlaneBox, size: int, xy) -> tuple[np.ndarray, np.ndarray]:
    """(M, b) with M @ (u, v) = b: solving gives the net pixel of voxel ``xy``."""
    m, off = plane_matrix(box, size)
    return m, np.asarray(xy, float) - off


def _component_touching(mask: np.ndarray, where) -> np.ndarray:
    """The 2-D components of ``mask`` that contain the pixel ``where`` (a (u, v) tuple) or overlap ``where``
    (a mask); empty if none."""
    comp, n = ndimage.label(mask)
    if n == 0:
        return np.zeros_like(mask)
    if isinstance(where, tuple):
        u, v = (int(np.clip(c, 0, s - 1)) for c, s in zip(where, mask.shape))
        ids = {int(comp[u, v])} - {0}
        if not ids:  # the click fell just outside what the net marked: take the component nearest to it
            pts = np.argwhere(comp > 0)
            ids = {int(comp[tuple(pts[np.argmin(((pts - (u, v)) ** 2).sum(1))])])}
    else:
        ids = set(np.unique(comp[where & mask]).tolist()) - {0}
    return np.isin(comp, list(ids)) if ids else np.zeros_like(mask)


def _contrast(plane: np.ndarray, mask: np.ndarray) -> float:
    """Mean of ``plane`` inside ``mask`` minus the median of a 3-pixel ring around it (window units)."""
    if not mask.any():
        return 0.0
    ring = ndimage.binary_dilation(mask, iterations=3) & ~mask
    return float(plane[mask].mean() - np.median(plane[ring])) if ring.any() else 0.0


def plane_coords(box: PlaneBox, size: int) -> np.ndarray:
    """(2, size*size) voxel x, y of the net's pixels (no augmentation)."""
    m, off = plane_matrix(box, size)
    uv = np.mgrid[0:size, 0:size].reshape(2, -1).astype(np.float64)
    return m @ uv + off[:, None]


class ClickNet:
    """One click -> one lesion in 3-D. ``net`` is a :class:`~livseg_gui.segment.runner.NetRunner`."""

    def __init__(self, net, spec: ClickSpec):
        self.net, self.spec = net, spec

    def segment(self, hu: np.ndarray, spacing, labels: np.ndarray, positive: np.ndarray, negative: np.ndarray,
                threshold: float = 0.5) -> tuple[tuple[slice, slice, slice], np.ndarray]:
        """(box, mask) on the canonical grid of the lesion that the clicks describe.

        ``positive`` (>= 1, 3) and ``negative`` (any, 3) are canonical voxel indices; the first positive
        click centres the net's view. ``labels`` (current) give the prior on the clicked slice. Thin
        slices are visited about SAMPLE_MM apart and the ones between interpolated, as in the cascade.
        """
        spec = self.spec
        sp = np.asarray(spacing, float)
        nz = hu.shape[2]
        first = np.asarray(positive[0], float)
        box = click_box(first[:2], sp[:2], spec)
        coords = plane_coords(box, spec.size)
        context = context_stride(sp[2], spec.context_step_mm)
        step = sample_stride(sp[2], SAMPLE_MM)
        k0 = int(round(first[2]))
        reach = int(MAX_REACH_MM / sp[2])
        planes: dict[int, np.ndarray] = {}

        def plane(k: int) -> np.ndarray:  # resampled on demand: a lesion needs a few dozen slices, not the scan
            if k not in planes:
                planes[k] = normalise(to_net_plane(hu[:, :, k : k + 1], box, spec.size), spec.window)[:, :, 0]
            return planes[k]

        def run(k: int, prior: np.ndarray) -> np.ndarray:
            z = k * sp[2]
            x = np.empty((1, spec.channels, spec.size, spec.size), np.float32)
            for c, kk in enumerate(context_indices(k, nz, spec.context, context)):
                x[0, c] = plane(int(kk))
            x[0, spec.context] = click_map(coords, z, positive, sp).reshape(spec.size, spec.size)
            x[0, spec.context + 1] = (click_map(coords, z, negative, sp).reshape(spec.size, spec.size)
                                      if len(negative) else 0.0)
            x[0, spec.context + 2] = prior
            return 1.0 / (1.0 + np.exp(-self.net.logits(x)[0]))

        prior0 = to_net_plane((labels[:, :, k0 : k0 + 1] == 2).astype(np.float32), box, spec.size, order=0, cval=0.0)
        first_p = run(k0, prior0[:, :, 0])
        centre = tuple(int(round(v)) for v in np.linalg.solve(*_pixel_of(box, spec.size, first[:2])))
        seed = _component_touching(first_p > threshold, centre)
        probs = {k0: first_p * seed}
        largest = int(seed.sum())
        contrast0 = _contrast(plane(k0), seed)
        for direction in (1, -1):
            k, prev = k0, seed
            while prev.sum() >= max(MIN_AREA_PX, STOP_FRACTION * largest):
                nxt = k + direction * step
                # Liver lesions are roughly round: one reaches at most ~0.75 of its widest diameter from its
                # clicked centre along z. Without this the net, where the lesion's end is faint, copies its prior on.
                diameter = 2 * np.sqrt(largest / np.pi) * spec.mm_per_px
                if abs(nxt - k0) * sp[2] > Z_REACH * diameter + sp[2]:
                    break
                if not 0 <= nxt < nz or abs(nxt - k0) > reach:
                    nxt = int(np.clip(nxt, 0, nz - 1))  # the last slice of the scan (or of the reach) still counts
                    if nxt == k or abs(nxt - k0) > reach:
                        break
                p = run(nxt, prev.astype(np.float32))
                # Follow the lesion, not whatever else the net marks: only what overlaps the slice before.
                found = _component_touching(p > threshold, prev)
                # ... and only while the image still shows a lesion there: where the net's region looks like the
                # parenchyma around it (under a third of the clicked slice's contrast), the lesion has ended.
                if abs(contrast0) >= MIN_CONTRAST and _contrast(plane(nxt), found) * np.sign(contrast0) < abs(contrast0) / 3:
                    break
                prev = found
                probs[nxt] = p * prev
                largest = max(largest, int(prev.sum()))
                k = nxt
        done = np.array(sorted(probs))
        stack = np.zeros((spec.size, spec.size, done[-1] - done[0] + 1), np.float32)
        for k in done:
            stack[:, :, k - done[0]] = probs[k]
        fill_between(stack, done - done[0])
        x0, y0 = (max(0, int(np.floor(c - box.side / 2))) for c in box.center)
        x1 = min(hu.shape[0], int(np.ceil(box.center[0] + box.side / 2)) + 1)
        y1 = min(hu.shape[1], int(np.ceil(box.center[1] + box.side / 2)) + 1)
        region = (slice(x0, x1), slice(y0, y1))
        mask = from_net_plane(stack, box, hu.shape[:2], region=region) > threshold
        return (region[0], region[1], slice(int(done[0]), int(done[-1]) + 1)), mask
