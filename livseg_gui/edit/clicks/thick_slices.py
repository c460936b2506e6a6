"""Thin slices merged into thicker blocks for a positive lesion click (:class:`_ThickSlices`): the lesion tools
were built and measured on slices of 1.6 mm or more."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .common import LESION_ROI_MM, Deferred, _full_grid, _roi

LESION_SLICE_MM = 1.6  # thinner slices are merged into blocks this thick for a positive lesion click (see _ThickSlices)


def _slice_block(spacing: np.ndarray) -> int:
    """How many slices a positive lesion click merges into one: blocks of at most LESION_SLICE_MM (0.8 mm slices in
    pairs, 0.5 mm ones in threes); 1 for slices thicker than half of it."""
    return max(1, int(LESION_SLICE_MM / float(spacing[2]) + 1e-6))


@dataclass
class _ThickSlices:
    """A positive lesion click's surroundings with thin slices merged into blocks of ``k``: each block's mean CT (a
    thick slice, as a scanner would reconstruct it) and the labels of its first slice, the clicked slice being the
    first of its block. What a tool finds there is repeated over each block's slices.

    The lesion tools were built and measured on slices of 1.6 mm or more (benchmarks/bench_clicks.py); on 0.8 mm
    slices (ircadb-17 split in two, 512x512x238) a click took 0.4-1.1 s against a 300 ms target. Merged, its lesions
    took as many clicks as at full resolution (4 / 2.5 on average from the cascade / from nothing), with the same or
    higher Dice after 1 / 3 / 5 clicks. radct-1720 and radct-2022 (5 mm) split into 0.71 mm slices fared worse merged
    (1 of 3 lesions at Dice 0.80 against 3 of 3): their isodense lesion overgrows on 1.4-1.7 mm grids, merged or not.
    Blocks of 2 mm for 1 mm slices too were tried: clicks there took half the time (max 283 against 545 ms on
    ircadb-17 at 1 mm), but lits-117-roi's lesions had a lower Dice after 3 / 5 clicks (0.734 / 0.757 against
    0.765 / 0.765) and ircadb-17's from nothing took 3.0 clicks instead of 2.5 (from the cascade, 1 of 2 reached
    instead of 0). Blocks of 1.6 slices (each slice weighted by how much of it a block covers) only where the click's
    box is larger than on ircadb-17 at 1.6 mm: max 350 against 492 ms on three cases at 1.0 mm, but 4 of 5 lesions at
    Dice 0.80 against 5 of 5 (radct-1720's isodense lesion again).
    """

    box: tuple[slice, slice, slice]  # the full-resolution voxels the blocks cover; box[2] starts a block
    k: int

    @classmethod
    def around(cls, voxel, sp: np.ndarray, shape, k: int) -> _ThickSlices:
        ijk = np.round(np.asarray(voxel, float)).astype(int)
        # One block and two voxels more than any lesion tool's box reaches (LESION_ROI_MM), so theirs are not cut.
        blocks = int(np.ceil(LESION_ROI_MM / (sp[2] * k))) + 1
        first = ijk[2] - k * min(blocks, ijk[2] // k)
        in_plane = _roi(ijk, LESION_ROI_MM + 2 * sp[:2].max(), sp, shape)[:2]
        return cls((*in_plane, slice(first, min(shape[2], ijk[2] + k * (blocks + 1)))), k)

    def mean(self, hu: np.ndarray) -> np.ndarray:
        # Summed slice by slice of each block, from strided views: ~10 ms on a lesion click's box at 0.74 mm pixels,
        # where np.add.reduceat took 12-30 ms.
        part = hu[self.box]
        blocks = -(-part.shape[2] // self.k)
        total = np.zeros((*part.shape[:2], blocks), np.float32)
        count = np.zeros(blocks, np.float32)
        for i in range(self.k):
            nth = part[:, :, i :: self.k]
            total[:, :, : nth.shape[2]] += nth
            count[: nth.shape[2]] += 1
        return total / count

    def first(self, array: np.ndarray) -> np.ndarray:
        return array[self.box][:, :, :: self.k]

    def local(self, voxel) -> np.ndarray:
        return (np.round(np.asarray(voxel, float)).astype(int) - [s.start for s in self.box]) // [1, 1, self.k]

    def full_box(self, box) -> tuple[slice, slice, slice]:
        """The full-resolution voxels of ``box`` (on the blocks)."""
        x, y, z = (slice(b.start + s.start, b.stop + s.start) for b, s in zip(box, self.box))
        top = self.box[2].start
        return x, y, slice(top + box[2].start * self.k, min(self.box[2].stop, top + box[2].stop * self.k))

    def full(self, box, region: np.ndarray) -> tuple[tuple, np.ndarray]:
        """(box, region) of a tool's answer on the blocks, over the full-resolution grid."""
        full = self.full_box(box)
        return full, _full_grid(region, np.array([1, 1, self.k]), tuple(s.stop - s.start for s in full))


@dataclass
class _ProbabilityOnBlocks:
    """A :class:`~livseg_gui.segment.confidence.TumourProbability` as a tool on :class:`_ThickSlices` sees it: each
    block's first slice (only those are read: on 0.8 mm slices, half the crop's time)."""

    source: object  # a TumourProbability
    blocks: _ThickSlices

    def crop(self, box) -> np.ndarray | None:
        return self.source.crop(self.blocks.full_box(box), z_step=self.blocks.k)


def _on_thick_slices(tool: Callable, hu: np.ndarray, labels: np.ndarray, spacing, voxel, probability=None):
    """``tool(hu, labels, spacing, voxel, probability)`` -> (box, region), a :class:`~.common.Deferred` one or None,
    run on :class:`_ThickSlices` where the slices are thinner than LESION_SLICE_MM, its answer back on the
    full-resolution grid."""
    sp = np.asarray(spacing, float)
    k = _slice_block(sp)
    if k == 1:
        return tool(hu, labels, sp, voxel, probability)
    blocks = _ThickSlices.around(voxel, sp, hu.shape, k)
    found = tool(blocks.mean(hu), blocks.first(labels), sp * [1, 1, k], blocks.local(voxel),
                 None if probability is None else _ProbabilityOnBlocks(probability, blocks))
    if isinstance(found, Deferred):
        return Deferred(lambda: blocks.full(*found.finish()))
    return None if found is None else blocks.full(*found)
