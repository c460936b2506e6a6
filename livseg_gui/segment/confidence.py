"""The tumour net's confidence, kept after the cascade: per-lesion confidence and below-threshold candidates.

A predicted component whose peak probability reaches the operating threshold (chosen on validation
and written in the model card as ``lesion_threshold``) is a lesion in the mask. One that stays below
it is a *candidate*: listed and marked for review, but not in the mask, the burden or the report's
totals until a user confirms it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..labels import bounding_box
from .preprocess import PlaneBox, from_net_plane


@dataclass
class TumourProbability:
    """The tumour net's probability inside the liver's bounding box, quantised to uint8 (0-255).

    Without ``plane`` it is stored on the canonical grid (shape of ``box``). With ``plane`` it is kept
    at the net's resolution, (size, size, slices of ``box``) in that square of the slice plane, and
    :meth:`crop` interpolates only what is asked for: most of the ROI is never needed on the CT's grid.
    """

    box: tuple[slice, slice, slice]
    prob: np.ndarray  # uint8
    plane: PlaneBox | None = None

    def crop(self, box: tuple[slice, slice, slice], z_step: int = 1) -> np.ndarray | None:
        """Probabilities (float32, 0-1) over ``box`` of the canonical grid, of every ``z_step``-th slice from its
        first; zero outside the stored region. None when the box does not meet it."""
        zs = np.arange(box[2].start, box[2].stop, z_step)
        stored = (zs >= self.box[2].start) & (zs < self.box[2].stop)
        inter = [slice(max(a.start, b.start), min(a.stop, b.stop)) for a, b in zip(box[:2], self.box[:2])]
        if any(s.start >= s.stop for s in inter) or not stored.any():
            return None
        out = np.zeros((box[0].stop - box[0].start, box[1].stop - box[1].start, len(zs)), np.float32)
        first = int(np.argmax(stored))
        local = (*(slice(s.start - b.start, s.stop - b.start) for s, b in zip(inter, box)),
                 slice(first, first + int(stored.sum())))
        mine_z = zs[stored] - self.box[2].start
        mine_z = slice(int(mine_z[0]), int(mine_z[-1]) + 1, z_step)
        if self.plane is None:
            xy = tuple(slice(s.start - b.start, s.stop - b.start) for s, b in zip(inter, self.box))
            out[local] = self.prob[(*xy, mine_z)] / 255.0
        else:
            planes = self.prob[:, :, mine_z].astype(np.float32) / 255.0
            out[local] = from_net_plane(planes, self.plane, (0, 0), region=(inter[0], inter[1]))
        return out

    def on_grid(self, shape) -> np.ndarray:
        """The probabilities over the whole canonical grid of ``shape``, quantised to uint8 (0-255; 0 outside the
        stored region): what ``livseg segment --probability`` writes."""
        out = np.zeros(shape, np.uint8)
        p = self.crop(self.box)
        if p is not None:
            out[self.box] = np.round(p * 255.0).astype(np.uint8)
        return out

    @classmethod
    def from_grid(cls, grid: np.ndarray) -> TumourProbability | None:
        """The probabilities of a whole-grid uint8 array (:meth:`on_grid`), kept within their bounding box; None
        when it is all zero."""
        box = bounding_box(grid > 0)
        return None if box is None else cls(box, np.ascontiguousarray(grid[box]))

    def peak(self, box: tuple[slice, slice, slice], mask: np.ndarray) -> float | None:
        """Highest probability over ``mask`` (bool, shape of ``box``, canonical grid); None outside the stored
        region or where the net marked nothing (below 0.5)."""
        p = self.crop(box)
        if p is None or not mask.any():
            return None
        peak = float(p[mask].max())
        return peak if peak >= 0.5 else None  # the net never marked it: a lesion the user drew, no model confidence


@dataclass
class Candidate:
    """A tumour-like region the net was not sure enough of: not in the mask until confirmed."""

    box: tuple[slice, slice, slice]  # canonical grid
    mask: np.ndarray  # bool, shape of the box
    confidence: float  # peak probability
    volume_ml: float

    @property
    def centroid_voxel(self) -> tuple[float, float, float]:
        c = np.argwhere(self.mask).mean(axis=0) + [s.start for s in self.box]
        return tuple(float(v) for v in c)

    def contains(self, voxel) -> bool:
        ijk = [int(round(v)) - s.start for v, s in zip(voxel, self.box)]
        return all(0 <= i < n for i, n in zip(ijk, self.mask.shape)) and bool(self.mask[tuple(ijk)])
