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

    def crop(self, box: tuple[slice, slice, slice]) -> np.ndarray | None:
        """Probabilities (float32, 0-1) over ``box`` of the canonical grid; zero outside the stored region.
        None when the box does not meet it."""
        inter = [slice(max(a.start, b.start), min(a.stop, b.stop)) for a, b in zip(box, self.box)]
        if any(s.start >= s.stop for s in inter):
            return None
        out = np.zeros(tuple(s.stop - s.start for s in box), np.float32)
        local = tuple(slice(s.start - b.start, s.stop - b.start) for s, b in zip(inter, box))
        mine = tuple(slice(s.start - b.start, s.stop - b.start) for s, b in zip(inter, self.box))
        if self.plane is None:
            out[local] = self.prob[mine] / 255.0
        else:
            planes = self.prob[:, :, mine[2]].astype(np.float32) / 255.0
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
