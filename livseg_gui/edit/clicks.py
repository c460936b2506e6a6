"""One-click corrections: a lesion from one click, a missed liver part grown in, a leak cut off. No Qt.

Each click is planned without touching the label map (:class:`ClickEdit`, so a worker can plan it) and
applied as one undoable change (``LabelMap.apply``): undo, autosave and the lesion panel treat it like
a brush stroke.

- Lesion, positive click: the image first (:func:`lesion_region`): the lesion's contrast to the surrounding
  liver (brighter or darker), thresholded half-way and re-set from the region's median, restricted to the
  liver, opened to cut thin vessel bridges, kept within a radius prior and followed out through a fainter
  rim; then its outline snapped onto the nearest edges by a random walker (``random_walk``). Without contrast
  at the click (an isodense lesion, an enhancing rim), the strongest edge around it bounds the lesion. A
  faint region that runs into a lesion already drawn is that lesion's missed part: the click extends the
  lesion out to it (a random walker from the lesion and the click against the parenchyma beyond, on the
  click's side only), with the tumour net's likely rim around it where the CT agrees. The tumour net's
  probability and the click net (``segment.click_net``) are the last resorts for a new lesion. The order was
  chosen with benchmarks/bench_clicks.py. Slices of 0.8 mm or less are merged into thicker ones first
  (:class:`_ThickSlices`).
- Lesion, negative click: on a lesion that earlier positive clicks made (``LabelMap.clicks``), a random
  walker inside it between those clicks and this one decides what goes. Otherwise a whole false lesion
  goes; clicked in a halo around a lesion of clear contrast, the lesion is trimmed to the image's outline
  of it; on a large lesion clicked away from its core, the click net redraws it from its core without the
  clicked part (without the net, the part nearer the click than the core goes). Removed tumour becomes
  liver inside the liver's local outline and background where it stuck out of it.
- Liver, positive click: a random walker (Grady 2006, ``random_walk``) within 60 mm, from the click and
  the liver already drawn against the cores of tissue unlike both; what it gives the click, of the click's
  and the liver's HU, touching the liver in its own slice, is added.
- Liver, negative click: a random walker inside the liver mask from the click against the liver's deepest
  part: what it gives the click goes, cut along edges (the diaphragm's fat line under the heart) or at a
  narrow neck. The erosion search for a neck and watershed cuts it replaced removed a thin left lobe with
  the heart, or half the heart (benchmarks/bench_clicks.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from ..labels import BACKGROUND, LIVER, TUMOUR, bounding_box
from .labelmap import Change, Click, LabelMap
from .random_walk import random_walk

LESION_ROI_MM = 60.0  # half-size of the region a lesion click looks at: lesions up to ~10 cm
EDGE_REACH_MM = 45.0  # an isodense lesion's edge is sought this far from the click
LESION_WALK_VOXELS = 120_000  # the lesion walks run on an in-plane grid thinned to about this many voxels
LIVER_ROI_MM = 60.0
EXTEND_MM = 15.0  # a positive click this close to a lesion extends it rather than seeking a new one
PROB_EXTEND = 0.5  # an extension also takes the tumour net's voxels at least this likely, in a rim this wide (mm)
PROB_RIM_MM = 5.0
LESION_SLICE_MM = 1.6  # thinner slices are merged into blocks this thick for a positive lesion click (see _ThickSlices)
LEARNED_FIRST = False  # positive lesion clicks: the classical region first, the click net where it adds nothing
STRUCT26 = np.ones((3, 3, 3), bool)
IN_PLANE8 = np.pad(np.ones((3, 3, 1), bool), ((0, 0), (0, 0), (1, 1)))  # 8-neighbours within a slice


def _roi(center, half_mm: float, spacing, shape) -> tuple[slice, slice, slice]:
    half = np.ceil(half_mm / np.asarray(spacing, float)).astype(int)
    c = np.round(np.asarray(center, float)).astype(int)
    return tuple(slice(max(0, ci - h), min(n, ci + h + 1)) for ci, h, n in zip(c, half, shape))


def _mm_from(shape, point, spacing) -> np.ndarray:
    """Distance in mm from every voxel of a grid of ``shape`` to ``point`` (voxel indices)."""
    g = np.ogrid[tuple(slice(0, n) for n in shape)]
    return np.sqrt(sum(((gi - c) * s) ** 2 for gi, c, s in zip(g, point, spacing)))


def _depth(mask: np.ndarray, spacing) -> np.ndarray:
    """Distance (mm) of each voxel of ``mask`` to its border, the box's edge counting as border."""
    return ndimage.distance_transform_edt(np.pad(mask, 1), sampling=spacing)[1:-1, 1:-1, 1:-1]


def _deeper_than(mask: np.ndarray, spacing, mm: float) -> np.ndarray:
    """``_depth(mask, spacing) > mm``, the same voxels, from in-plane distance maps (one 2-D transform of the slices
    laid side by side; about half the time of the 3-D one): a voxel is deeper than ``mm`` when every slice dz away
    with dz * z-spacing <= mm has no border nearer in-plane than sqrt(mm^2 - (dz * z-spacing)^2)."""
    sp = np.asarray(spacing, float)
    nx, ny, nz = mask.shape
    # Each slice framed by border (the box's edge counts as border), which also keeps the slices' distances apart.
    side = np.pad(mask.transpose(2, 0, 1), ((0, 0), (1, 1), (1, 1))).reshape(nz * (nx + 2), ny + 2)
    in_plane = ndimage.distance_transform_edt(side, sampling=sp[:2]).reshape(nz, nx + 2, ny + 2)
    in_plane = in_plane[:, 1:-1, 1:-1].transpose(1, 2, 0)
    out = in_plane > mm
    dz = 1
    while dz * sp[2] <= mm:
        reach = np.sqrt(mm**2 - (dz * sp[2]) ** 2)
        out[:, :, :-dz] &= in_plane[:, :, dz:] > reach
        out[:, :, dz:] &= in_plane[:, :, :-dz] > reach
        out[:, :, :dz] = out[:, :, max(0, nz - dz):] = False  # the border beyond the box's first and last slices
        dz += 1
    return out


def _core(mask: np.ndarray, spacing) -> tuple[np.ndarray, float]:
    """(index, depth in mm) of the deepest voxel of ``mask``; found on an in-plane grid thinned to about
    250k voxels (a large lesion's distance map would cost ~50 ms at full resolution)."""
    sp = np.asarray(spacing, float)
    k = max(1, int(np.ceil(np.sqrt(mask.size / 250_000))))
    depth = _depth(mask[::k, ::k, :], sp * [k, k, 1])
    at = np.array(np.unravel_index(int(np.argmax(depth)), depth.shape)) * [k, k, 1]
    return at, float(depth.max())


def _smooth(hu: np.ndarray, sigma, within: np.ndarray | None = None, thin=(slice(None),) * 3,
            truncate: float = 4.0) -> np.ndarray:
    """Gaussian smoothing (float32), then ``thin`` (a slicing); with ``within``, a normalised convolution over those
    voxels only, so a mask's border keeps its inside's HU instead of a blend with what lies outside it (far from
    the mask, where nothing is left to average, the CT as it is)."""
    if within is None:
        return _gaussian(hu.astype(np.float32), sigma, truncate, thin)
    w = within.astype(np.float32)
    norm = _gaussian(w, sigma, truncate, thin)
    img = _gaussian(hu * w, sigma, truncate, thin) / np.maximum(norm, 1e-3)
    return np.where(norm >= 0.1, img, hu[thin]).astype(np.float32)


def _gaussian(img: np.ndarray, sigma, truncate: float = 4.0, thin=(slice(None),) * 3) -> np.ndarray:
    """``ndimage.gaussian_filter(img, sigma, truncate=truncate)[thin]``, bit for bit, with each axis thinned as soon
    as it is filtered: the later axes filter a k-th (k-squared-th) of the voxels."""
    sigma = np.broadcast_to(np.asarray(sigma, float), (img.ndim,))
    for axis in range(img.ndim):
        if sigma[axis] > 1e-15:  # as gaussian_filter: an axis of no width is left as it is
            img = ndimage.gaussian_filter1d(img, sigma[axis], axis=axis, truncate=truncate)
        img = img[(slice(None),) * axis + (thin[axis],)]
    return img


def _sphere_radius(voxels: int, sp: np.ndarray) -> float:
    """Radius (mm) of the sphere as large as ``voxels`` voxels of spacing ``sp``."""
    return float(np.cbrt(3 * voxels * np.prod(sp) / (4 * np.pi)))


def _ball(radius_mm: float, spacing) -> np.ndarray:
    """A ball of ``radius_mm`` on the voxel grid; one voxel thick along axes coarser than the radius
    (a 1.5 mm ball must not become a 15 mm tall one on 5 mm slices)."""
    r = np.floor(radius_mm / np.asarray(spacing, float)).astype(int)
    g = np.ogrid[tuple(slice(-ri, ri + 1) for ri in r)]
    return sum((gi * s) ** 2 for gi, s in zip(g, spacing)) <= radius_mm**2


def _labelled(mask: np.ndarray) -> tuple[tuple, np.ndarray] | None:
    """(bounding box, 26-connected components there) of ``mask``; None when it is empty. Labelled within the box
    only: a few lesions in a lesion click's 12 cm box took ~30 ms labelled whole."""
    near = bounding_box(mask)
    return None if near is None else (near, ndimage.label(mask[near], structure=STRUCT26)[0])


def _component_at(mask: np.ndarray, local: np.ndarray, spacing, search_mm: float = 3.0) -> np.ndarray:
    """The 26-connected component of ``mask`` at ``local`` (or the nearest one within ``search_mm``)."""
    out = np.zeros_like(mask)
    if (found := _labelled(mask)) is None:
        return out
    near, comp = found
    at = np.asarray(local) - [s.start for s in near]
    inside = np.all((at >= 0) & (at < comp.shape))
    idx = comp[tuple(at)] if inside else 0
    if idx == 0:
        pts = np.argwhere(comp > 0)
        d = np.sqrt((((pts - at) * spacing) ** 2).sum(1))
        if d.min() > search_mm:
            return out
        idx = comp[tuple(pts[np.argmin(d)])]
    out[near] = comp == idx
    return out


def _near_liver(liver: np.ndarray) -> np.ndarray:
    """Where a lesion may lie: the liver and two voxels beyond it in-plane (not along z: two 5 mm slices above
    the dome would be 10 mm of heart); anywhere when the box shows too little liver to go by."""
    if liver.sum() <= 1000:
        return np.ones_like(liver)
    # Two 8-neighbour steps in-plane: a 5x5 square, as two running maxima (half the time of binary_dilation).
    near = ndimage.maximum_filter1d(ndimage.maximum_filter1d(liver.view(np.uint8), 5, axis=0), 5, axis=1)
    return near.view(bool)


def _where_lesion_may_lie(lab: np.ndarray, hu: np.ndarray, local: np.ndarray, sp: np.ndarray) -> np.ndarray:
    """Where a positive lesion click's region may lie: near the liver (:func:`_near_liver`). A click outside that
    within ~20 mm of the liver, on soft tissue, may find its lesion anywhere: the user says a lesion is there, where
    the model's liver missed it (a lesion on the scan's last slices, which the cascade left out); so may one where
    the box shows no liver to go by. A click outside the liver in fat, air or bone finds nothing."""
    liver = lab >= LIVER
    near = _near_liver(liver)  # everywhere when the box shows too little liver
    has_liver = liver.sum() > 1000
    if has_liver and near[tuple(local)]:
        return near
    tissue = float(np.median(hu[_roi(local, 2.0, sp, hu.shape)]))
    if not -20.0 <= tissue <= 250.0:
        return np.zeros_like(near)
    return near if has_liver and not liver[_roi(local, 20.0, sp, lab.shape)].any() else np.ones_like(near)


def _convex_hull(mask: np.ndarray, sp: np.ndarray, tolerance_mm: float = 0.0) -> np.ndarray:
    """``mask`` with every voxel of its grid whose centre lies inside its convex hull (in mm), or within
    ``tolerance_mm`` outside it, added; ``mask`` itself when the hull is flat (one slice, one row)."""
    try:
        hull = ConvexHull(np.argwhere(mask & ~ndimage.binary_erosion(mask)) * sp)
    except (QhullError, ValueError):
        return mask
    lo = np.floor(hull.min_bound / sp).astype(int)
    hi = np.ceil(hull.max_bound / sp).astype(int) + 1
    outside = np.argwhere(~mask[tuple(slice(a, b) for a, b in zip(lo, hi))]) + lo
    at = outside * sp
    keep = np.arange(len(at))
    for first in range(0, len(hull.equations), 64):  # in batches: most voxels fall outside one of the first facets
        facets = hull.equations[first:first + 64]
        keep = keep[np.all(at[keep] @ facets[:, :3].T + facets[:, 3] <= tolerance_mm + 1e-6, axis=1)]
    out = mask.copy()
    out[tuple(outside[keep].T)] = True
    return out


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``binary_fill_holes`` within the mask's bounding box (it iterates over the whole array otherwise)."""
    out = np.zeros_like(mask)
    if mask.any():
        near = bounding_box(mask, margin=1)
        out[near] = ndimage.binary_fill_holes(mask[near])
    return out


@dataclass
class ClickEdit:
    """What a click will change, computed without touching the label map (so a worker thread can plan it
    while the GUI stays responsive); :meth:`apply` makes it one undoable change."""

    name: str
    box: tuple[slice, slice, slice]
    region: np.ndarray  # bool, shape of the box
    value: int | np.ndarray  # one label, or one per voxel of the box
    only: Callable[[np.ndarray], np.ndarray] | None = None  # which current labels may change
    click: Click | None = None  # recorded with the change, so later clicks can build on it

    def apply(self, lm: LabelMap) -> Change | None:
        new = lm.data[self.box].copy()
        target = self.region if self.only is None else self.region & self.only(new)
        new[target] = self.value[target] if isinstance(self.value, np.ndarray) else self.value
        return lm.apply(self.name, self.box, new, click=self.click)


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
    instead of 0).
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
    block's first slice."""

    source: object  # a TumourProbability, or anything with its crop
    blocks: _ThickSlices

    def crop(self, box) -> np.ndarray | None:
        p = self.source.crop(self.blocks.full_box(box))
        return None if p is None else p[:, :, :: self.blocks.k]


def _on_thick_slices(tool: Callable, hu: np.ndarray, labels: np.ndarray, spacing, voxel, probability=None):
    """``tool(hu, labels, spacing, voxel, probability)`` -> (box, region) or None, run on :class:`_ThickSlices` where
    the slices are thinner than LESION_SLICE_MM, its answer back on the full-resolution grid."""
    sp = np.asarray(spacing, float)
    k = _slice_block(sp)
    if k == 1:
        return tool(hu, labels, sp, voxel, probability)
    blocks = _ThickSlices.around(voxel, sp, hu.shape, k)
    found = tool(blocks.mean(hu), blocks.first(labels), sp * [1, 1, k], blocks.local(voxel),
                 None if probability is None else _ProbabilityOnBlocks(probability, blocks))
    return None if found is None else blocks.full(*found)


def lesion_region(hu: np.ndarray, labels: np.ndarray, spacing, voxel, probability=None) -> tuple[tuple, np.ndarray]:
    """(box, mask) of the lesion under a positive click; mask may be empty (:func:`_lesion_region`, on slices of at
    least LESION_SLICE_MM: :class:`_ThickSlices`)."""
    return _on_thick_slices(_lesion_region, hu, labels, spacing, voxel, probability)


def _lesion_region(hu: np.ndarray, labels: np.ndarray, spacing, voxel, probability=None) -> tuple[tuple, np.ndarray]:
    """(box, mask) of the lesion under a positive click; mask may be empty.

    The image decides first: the lesion's contrast to the liver around it (:func:`_contrast_region`), its
    outline then moved onto the nearest edges by a random walker (:func:`_snap_to_edges`); where the click
    shows no contrast (an isodense lesion, one with an enhancing rim), the strongest edge around the click
    (:func:`_edge_region`). The tumour net's probability is the last resort: where its region and the
    contrast's differed from the same click (6 lesions of benchmarks/bench_clicks.py's held-out cases), it
    was worse on 5 (Dice 0.37-0.82 against 0.77-0.97) and better on one (0.75 against 0.48).
    """
    sp = np.asarray(spacing, float)
    box = _roi(voxel, LESION_ROI_MM, sp, hu.shape)
    local = np.round(np.asarray(voxel, float)).astype(int) - [s.start for s in box]
    lab = labels[box]
    # Pixels under 0.7 mm: the region is found on a grid twice as coarse in-plane (a quarter of the voxels; the
    # 2 mm smoothing leaves nothing finer to see) and its outline snapped at full resolution.
    grid = _LesionGrid.of(hu[box], lab, local, sp, 2 if sp[:2].max() < 0.7 else 1)
    allowed = grid.allowed if grid.k == 1 else _where_lesion_may_lie(lab, hu[box], local, sp)
    region = _contrast_region(grid.img, grid.lab, grid.allowed, grid.dist, grid.sp, grid.local)
    if region is not None:
        return box, _snap_to_edges(hu[box], lab, allowed, grid.full(region, lab.shape) & allowed, sp, local)
    region = _edge_region(grid.hu, grid.img, grid.lab, grid.allowed, grid.sp, grid.local)
    region = grid.full(region, lab.shape) & allowed if region is not None else None
    if region is None and probability is not None:
        p = probability.crop(box)
        if p is not None and p[tuple(local)] >= 0.15:
            region = _component_at((p >= max(0.1, 0.4 * p[tuple(local)])) & allowed, local, sp)
    return box, (_fill_holes(region) if region is not None else np.zeros(lab.shape, bool))


@dataclass
class _LesionGrid:
    """A lesion click's box on an in-plane grid ``k`` times coarser (``k`` x ``k`` means of the CT): the CT, its
    smoothing, the labels, where a lesion may lie, mm from the click, the spacing and the click there.

    Smoothed 2 mm (CT noise is ~10-20 HU) within the liver only: fat blurred into the liver's edge would make a
    dark rim along the capsule that reads as a hypodense lesion, and a lesion near the edge would leak along it.
    """

    hu: np.ndarray
    img: np.ndarray
    lab: np.ndarray
    allowed: np.ndarray
    dist: np.ndarray
    sp: np.ndarray
    local: np.ndarray
    k: int

    @classmethod
    def of(cls, hu: np.ndarray, lab: np.ndarray, local: np.ndarray, sp: np.ndarray, k: int) -> _LesionGrid:
        if k > 1:
            nx, ny = (-(-n // k) * k for n in hu.shape[:2])
            padded = np.pad(hu.astype(np.float32), ((0, nx - hu.shape[0]), (0, ny - hu.shape[1]), (0, 0)), mode="edge")
            hu = sum(padded[i::k, j::k] for i in range(k) for j in range(k)) / k**2
            lab, local, sp = lab[::k, ::k], np.asarray(local) // [k, k, 1], sp * [k, k, 1]
        liver = lab >= LIVER
        allowed = _where_lesion_may_lie(lab, hu, local, sp)
        # Within the liver only where the lesion is kept near it; a click outside the liver sees the CT as it is.
        img = _smooth(hu, 2.0 / sp, within=None if allowed.all() else liver, truncate=3.0)
        return cls(hu, img, lab, allowed, _mm_from(img.shape, local, sp), sp, local, k)

    def full(self, mask: np.ndarray, shape) -> np.ndarray:
        """``mask`` (on this grid) on the full-resolution grid of ``shape``."""
        return _full_grid(mask, np.array([self.k, self.k, 1]), shape)


def _contrast_region(img: np.ndarray, lab: np.ndarray, allowed: np.ndarray, dist: np.ndarray, sp: np.ndarray,
                     local: np.ndarray) -> np.ndarray | None:
    """The lesion's own contrast to the surrounding liver (brighter or darker), thresholded half-way,
    opened to cut thin vessel bridges, and kept within a radius prior; None without contrast.

    The threshold is set from the click's neighbourhood, then once more from the region's median (a
    textured lesion's middle may be darker than the rest of it). A lesion's darker (or brighter) middle
    inside a fainter rim -- necrosis in a metastasis -- still stops that threshold short of the edge.
    While a shell 2-5 mm outside the region (beyond its edge's blur) still differs from the parenchyma by
    a quarter of the region's level (and 8 HU), the lesion goes on: thresholded again half-way from that
    shell's level (at most twice), as long as that stays compact (:func:`_compact`): a lesion in a darker
    zone of parenchyma (beam hardening by the ribs) sees the zone as its rim, and a 1.2 mL lesion became 14 mL.
    """
    liver = lab >= LIVER
    # The parenchyma around it: the liver in the region (it outweighs even a large lesion), else a soft-tissue shell.
    known = lab == TUMOUR  # tumour already drawn: neither parenchyma nor evidence for this click's extent
    if liver.sum() > 1000:
        ring = liver & ~known & (dist > 5)
    else:
        ring = (dist >= 15) & (dist <= 40) & (img > -100) & (img < 300)
    if ring.sum() < 50:
        return None
    background = float(np.median(img[ring]))
    contrast = float(np.median(img[dist <= 2.5])) - background
    if abs(contrast) < 5.0:
        return None
    shells = _Shells.around(img, allowed & ~known, dist)
    region = _threshold_region(img, background, contrast, shells, allowed, dist, sp, local)
    level = contrast
    if region is not None:
        # The click's own neighbourhood may be the lesion's darkest (or brightest) part: the threshold goes
        # half-way between the parenchyma and the region's median instead (one ISODATA step), unless that
        # more than doubles the region (it leaks into the parenchyma: a faint lesion's threshold is near noise).
        inner = float(np.median(img[region])) - background
        if 10.0 <= inner * np.sign(contrast) < abs(contrast):
            wider = _threshold_region(img, background, inner, shells, allowed, dist, sp, local)
            if wider is not None and wider.sum() <= 2 * region.sum():
                region, level = wider, inner
    for _ in range(2):
        if region is None:
            break
        shell = _mm_shell(region, sp, 2.0, 5.0) & allowed & ~known  # beyond the edge's blur
        outside = float(np.median(img[shell])) - background if shell.any() else 0.0
        if outside * np.sign(contrast) < max(8.0, abs(level) / 4) or abs(outside) > 0.8 * abs(level):
            break
        wider = _threshold_region(img, background, outside, shells, allowed, dist, sp, local)
        if wider is None or not _compact(wider, sp):
            break
        region, level = wider | region, outside
    return region


def _compact(region: np.ndarray, sp: np.ndarray) -> bool:
    """Whether ``region`` is about as compact as a lesion: 95 % of it within 1.4x its equivalent-sphere radius of its
    centroid (a sphere 0.98, the benchmark's lesions and rims 1.03-1.25; a threshold spreading through a darker zone
    of parenchyma 1.5-1.7)."""
    pts = np.argwhere(region) * sp
    reach = float(np.percentile(np.sqrt(((pts - pts.mean(0)) ** 2).sum(1)), 95))
    return reach <= 1.4 * _sphere_radius(len(pts), sp)


@dataclass
class _Shells:
    """The voxels a radius prior counts and their 2 mm shells around the click, gathered once for the several
    thresholds a click tries."""

    values: np.ndarray  # the smoothed CT at the counted voxels
    index: np.ndarray  # each counted voxel's shell
    sizes: np.ndarray  # voxels per shell

    @classmethod
    def around(cls, img: np.ndarray, counted: np.ndarray, dist: np.ndarray) -> _Shells:
        index = (dist[counted] // 2.0).astype(np.intp)
        return cls(img[counted], index, np.bincount(index))


def _threshold_region(img: np.ndarray, background: float, contrast: float, shells: _Shells, allowed: np.ndarray,
                      dist: np.ndarray, sp: np.ndarray, local: np.ndarray) -> np.ndarray | None:
    """Voxels at least half ``contrast`` away from ``background`` (on its side), connected to the click, within
    the radius prior; None when empty or when it reaches the edge of the region (not a lesion-like blob)."""
    sign, cut = np.sign(contrast), 0.5 * abs(contrast)
    # Shape prior: the lesion's radius is where, shell by shell, most voxels stop looking like the seed;
    # the region may not reach far beyond it, which stops leaks along vessels and noisy parenchyma.
    share = np.bincount(shells.index, weights=(shells.values - background) * sign >= cut) / np.maximum(shells.sizes, 1)
    # A faint lesion's cut lies within the parenchyma's noise: some of it passes everywhere (0.4-0.5 of the voxels
    # around a -13 HU lesion on 5 mm slices), so the stop is set that much higher than in noiseless parenchyma.
    counted = shells.sizes[1:] >= 100
    noise = float(share[1:][counted].min()) if counted.any() else 0.0
    stops = np.flatnonzero((shells.sizes[1:] > 0) & (share[1:] < min(0.9, 0.4 + noise))) + 1  # from 2 mm out
    radius = 2.0 * float(stops[0]) if stops.size and stops[0] < LESION_ROI_MM / 2 else LESION_ROI_MM
    reach = 1.3 * radius + 2.0
    near = _roi(local, reach + 2 * sp.max(), sp, img.shape)  # the threshold, opening and labelling need only this much
    side = ((img[near] - background) * sign >= cut) & allowed[near] & (dist[near] <= reach)
    part = _component_at(ndimage.binary_opening(side, structure=_ball(1.5, sp)), local - [s.start for s in near], sp)
    if not part.any() or (part & (dist[near] > LESION_ROI_MM - 2 * sp.max())).any():
        return None
    region = np.zeros(img.shape, bool)
    region[near] = part
    return region


def _mm_shell(region: np.ndarray, sp: np.ndarray, inner_mm: float, outer_mm: float) -> np.ndarray:
    """Voxels outside ``region`` between ``inner_mm`` and ``outer_mm`` from it: a sample for a median (every
    other voxel in-plane on sub-millimetre grids, computed in the region's bounding box)."""
    k = 2 if sp[:2].max() < 1.0 else 1
    box = bounding_box(region, margin=np.ceil(outer_mm / sp).astype(int) + k)
    near = tuple(slice(b.start, b.stop, st) for b, st in zip(box, (k, k, 1)))
    d = ndimage.distance_transform_edt(~region[near], sampling=sp * [k, k, 1])
    out = np.zeros(region.shape, bool)
    out[near] = (d > inner_mm) & (d <= outer_mm)
    return out


def _snap_to_edges(hu: np.ndarray, lab: np.ndarray, allowed: np.ndarray, region: np.ndarray, sp: np.ndarray,
                   local: np.ndarray) -> np.ndarray:
    """``region`` with its outline moved onto the image's edges within a band around it.

    A threshold half-way between lesion and liver cuts a textured or partly necrotic lesion short of its
    border (a dark core inside a less dark rim) and follows vessels out of it. A random walker from the
    region's core (deeper than a quarter of its depth) against everything farther than 0.35 of its radius
    (at least 3 mm) outside it settles the band in between along the strongest edges: one click at the
    deepest point of each of the 16 labelled lesions of ``bench_clicks.py --scratch``'s cases, mean Dice
    0.60 -> 0.67 (0.71 with the threshold's re-set from the region's median).
    """
    radius = _sphere_radius(region.sum(), sp)
    band = max(3.0, 0.35 * radius)
    near = bounding_box(region, margin=np.ceil((band + 3.0) / sp).astype(int))
    at = local - [s.start for s in near]

    def seeds_on(thin, ssp, at_thin):
        part = region[near][thin]
        seeds = np.zeros(part.shape, np.int8)
        seeds[~allowed[near][thin] | (ndimage.distance_transform_edt(~part, sampling=ssp) > band)] = 2
        depth = _depth(part, ssp)
        seeds[(part & (depth >= 0.25 * depth.max())) | (_mm_from(part.shape, at_thin, ssp) <= 2.0)] = 1
        return seeds

    out = np.zeros(region.shape, bool)
    out[near] = _walk_lesion(hu[near], seeds_on, at, sp) & allowed[near]
    return out


def _edge_region(hu: np.ndarray, img: np.ndarray, lab: np.ndarray, allowed: np.ndarray, sp: np.ndarray,
                 local: np.ndarray) -> np.ndarray | None:
    """A lesion without contrast at the click (isodense inside, or an enhancing rim): bounded by the strongest
    edge around it. Its radius is the shell (1 mm steps, within EDGE_REACH_MM) where the mean radial HU derivative
    peaks; a random walker from a ball of 0.6 of it against the liver beyond 1.6 of it draws the outline.
    Rarely reached on the benchmark's lesions (2 of 40 from scratch show no contrast at the click: Dice 0.54
    and nothing); tests/test_clicks.py's rim-enhancing sphere is its known answer."""
    reach = _roi(local, EDGE_REACH_MM, sp, img.shape)
    at = local - [s.start for s in reach]
    offsets = [(o - c) * s for o, c, s in zip(np.ogrid[tuple(slice(0, n) for n in img[reach].shape)], at, sp)]
    dist = np.sqrt(sum(o**2 for o in offsets))
    part = img[reach]
    grad = [np.gradient(part, s, axis=i) if n > 1 else np.zeros_like(part) for i, (s, n) in enumerate(zip(sp, part.shape))]
    radial = np.abs(sum(g * o for g, o in zip(grad, offsets))) / np.maximum(dist, 1e-6)
    # Not the liver's own border (its edge to fat outweighs any lesion's): the profile is taken 3 mm inside it.
    liver = lab[reach] >= LIVER
    # Eroded by a 3 mm ball, from in-plane distance maps: the same voxels, ~30 ms instead of ~50-110 (a 3-D distance
    # map) or ~55-75 (binary_erosion) on ircadb-17's 123x123x50 box, a click's slowest step there. On an in-plane grid
    # of ~250k voxels (as :func:`_core`) it was faster still, but radct-1720's isodense lesion then missed 0.80 after
    # 5 clicks in one of four runs of the benchmark (0.78 against 0.83).
    core = _deeper_than(liver, sp, 3.0) if liver.sum() > 1000 else np.ones_like(liver)
    inside = core & (dist <= EDGE_REACH_MM)
    shell = np.floor(dist[inside]).astype(int)
    counts = np.bincount(shell, minlength=3)
    profile = np.bincount(shell, weights=radial[inside], minlength=3) / np.maximum(counts, 1)
    profile[:2] = 0.0
    profile[counts < 10] = 0.0
    if profile.max() <= 0:
        return None
    radius = float(np.argmax(profile)) + 0.5
    # No edge stands out (featureless parenchyma: the peak is noise, ~1.15x the median shell) or it lies at
    # the search's end: no lesion to outline.
    if radius > EDGE_REACH_MM - 5.0 or profile.max() < 1.3 * float(np.median(profile[profile > 0])):
        return None
    near = _roi(local, 1.6 * radius + 4.0, sp, img.shape)
    at = local - [s.start for s in near]

    def seeds_on(thin, ssp, at_thin):
        to_click = _mm_from(allowed[near][thin].shape, at_thin, ssp)
        seeds = np.zeros(to_click.shape, np.int8)
        faces = np.ones(to_click.shape, bool)
        faces[1:-1, 1:-1, 1:-1] = False
        seeds[~allowed[near][thin] | (to_click > 1.6 * radius) | faces] = 2
        seeds[to_click <= 0.6 * radius] = 1
        return seeds

    out = np.zeros(img.shape, bool)
    out[near] = _walk_lesion(hu[near], seeds_on, at, sp) & allowed[near]
    return out if out.any() else None


def _walk_lesion(hu: np.ndarray, seeds_on: Callable, at: np.ndarray, sp: np.ndarray) -> np.ndarray:
    """What a random walker gives label 1, connected to ``at``, holes filled, over ``hu``'s grid (see
    :func:`_thinned_walk`)."""
    walk, at, step, ssp = _thinned_walk(hu, seeds_on, at, sp)
    return _full_grid(ndimage.binary_fill_holes(_component_at(walk, at, ssp)), step, hu.shape)


def _thinned_walk(hu: np.ndarray, seeds_on: Callable, at: np.ndarray, sp: np.ndarray, within: np.ndarray | None = None,
                  blur_slices: bool = True):
    """(walk, at, step, spacing) of a random walker (1 mm smoothing) on an in-plane grid thinned to about
    LESION_WALK_VOXELS (a 9 cm lesion within ~0.1 s): ``walk`` is where label 1 wins, on that grid;
    ``seeds_on(thin, spacing, at)`` gives the seeds there (0 unknown, 1 lesion, 2 not); ``at`` is seeded 1.
    With ``within``, the walk runs over those voxels only. The smoothing is at least half a (thinned) voxel, also
    across thick slices unless ``blur_slices`` is off (the negative click's walk inside a lesion, which
    measured better with 1 mm along z on 5 mm slices; the other walks measured better blurred)."""
    k = max(1, int(np.ceil(np.sqrt(hu.size / LESION_WALK_VOXELS))))
    step = np.array([k, k, 1])
    ssp = sp * step
    thin = (slice(None, None, k), slice(None, None, k), slice(None))
    sigma = np.maximum(1.0, ssp / 2) if blur_slices else np.where(step > 1, np.maximum(1.0, ssp / 2), 1.0)
    img = _gaussian(hu.astype(np.float32), sigma / sp, thin=thin)
    at = np.minimum(np.asarray(at) // step, np.array(img.shape) - 1)
    seeds = seeds_on(thin, ssp, at)
    seeds[tuple(at)] = 1
    domain = within[thin] if within is not None else np.ones(img.shape, bool)
    return random_walk(img, domain, seeds, ssp) > 0.5, at, step, ssp


def extend_lesion(hu: np.ndarray, labels: np.ndarray, spacing, voxel, probability=None) -> tuple[tuple, np.ndarray] | None:
    """(box, region) extending the lesion next to a positive click out to it, or None (:func:`_extend_lesion`, on
    slices of at least LESION_SLICE_MM: :class:`_ThickSlices`)."""
    return _on_thick_slices(_extend_lesion, hu, labels, spacing, voxel, probability)


def _extend_lesion(hu: np.ndarray, labels: np.ndarray, spacing, voxel, probability=None) -> tuple[tuple, np.ndarray] | None:
    """(box, region) extending the lesion next to a positive click out to it; None when no lesion lies within
    EXTEND_MM of the click. Used where :func:`lesion_region` finds nothing, or a faint region running into
    the lesion (a region of clear contrast is a lesion whole, also one the model found only a fragment of).

    A click just outside a lesion says "it goes on to here": a random walker (:mod:`.random_walk`) from the
    lesion and a ball around the click against the parenchyma beyond them (farther than 1.5x the click's
    distance to the lesion, plus 3 mm) and everything outside the liver. Where the lesion's edge shows, the
    cut follows it; where it is isodense, it falls between the seeds. The lesion with what it gains is filled
    out to its convex hull within the liver. With the tumour net's ``probability`` (a
    :class:`~livseg_gui.segment.confidence.TumourProbability`), its likely rim around the lesion is added where
    the CT agrees (:func:`_likely_rim`); the box is then the wider one the lesion was found in.
    """
    sp = np.asarray(spacing, float)
    ijk = np.round(np.asarray(voxel, float)).astype(int)
    if labels[tuple(ijk)] != LIVER:
        return None
    near = _roi(ijk, EXTEND_MM, sp, labels.shape)
    tumour = labels[near] == TUMOUR
    if not tumour.any():
        return None
    local = ijk - [s.start for s in near]
    to_tumour = ndimage.distance_transform_edt(~tumour, sampling=sp)
    d = float(to_tumour[tuple(local)])
    if d > EXTEND_MM:
        return None
    # The lesion and its core from a wide region (a large lesion's core lies far from the click) ...
    wide = _roi(ijk, LESION_ROI_MM, sp, labels.shape)
    lesion = _component_at(labels[wide] == TUMOUR, ijk - [s.start for s in wide], sp, search_mm=np.inf)
    obj = bounding_box(lesion)
    core = _core(lesion[obj], sp)[0] + [o.start + s.start for o, s in zip(obj, wide)]
    # ... the walk only where the region can grow: its seeds reach 1.5 d + 3 mm beyond the click.
    box = _roi(ijk, 1.5 * d + 8.0, sp, labels.shape)
    lab = labels[box]
    local = ijk - [s.start for s in box]
    lesion_box = _in_box(wide, lesion, box)
    to_click = _mm_from(lab.shape, local, sp)
    # The click says the lesion reaches it: it lies in the missed part, most often near that part's middle, so a
    # ball of 0.7 of its distance to the lesion (less half a slice: the lesion's edge is that uncertain along z;
    # at most 10 mm) is taken as lesion. Seeding only 3 mm, an isodense lesion grew ~300-2000 voxels per click.
    fg = lesion_box | (to_click <= max(sp.min(), min(10.0, 0.7 * d, d - sp[2] / 2)))
    beyond = ndimage.distance_transform_edt(~fg, sampling=sp) > 1.5 * d + 3.0
    seeds = np.zeros(lab.shape, np.int8)
    faces = np.ones(lab.shape, bool)
    faces[1:-1, 1:-1, 1:-1] = False  # the box's own faces, where the walk is cut off: parenchyma out there
    seeds[(lab == BACKGROUND) | ((lab == LIVER) & (beyond | faces)) | ((lab == TUMOUR) & ~lesion_box)] = 2
    seeds[fg & (lab >= LIVER)] = 1
    walk, _, step, _ = _thinned_walk(hu[box], lambda thin, ssp, at: seeds[thin].copy(), local, sp)
    walk = _full_grid(walk, step, lab.shape)
    # Only on the click's side of the lesion (nearer the click than the lesion's core): elsewhere the walk
    # also widens the lesion's whole rim where its edge is faint, which the click did not ask for.
    to_core = _mm_from(lab.shape, core - [s.start for s in box], sp)
    region = _component_at((walk & (to_click < to_core) | fg) & (lab >= LIVER), local, sp) & (lab == LIVER)
    if not region.any():
        return None
    # Lesions are round: what the walk added and the lesion it continues are filled out to their convex hull
    # (within the liver), to the voxels it covers at least partly (centre within half a pixel). Where the edge is
    # isodense the walk's cut falls between the seeds and leaves a waist. Held-out radct-1720's 57 mL -3 HU
    # lesion: 5 -> 4 clicks. Voxel centres strictly inside (no half pixel): 4 -> >5; the hull only on the
    # click's side: no gain (benchmarks/bench_clicks.py).
    region |= _convex_hull(region | lesion_box, sp, 0.5 * sp.min()) & (lab == LIVER)
    p = probability.crop(wide) if probability is not None else None
    if p is None:
        return box, region
    region = _in_box(box, region, wide)
    return wide, region | _likely_rim(hu[wide], labels[wide], p, lesion | region, lesion, sp,
                                      ijk - [s.start for s in wide])


def _likely_rim(hu: np.ndarray, lab: np.ndarray, p: np.ndarray, drawn: np.ndarray, lesion: np.ndarray, sp: np.ndarray,
                local: np.ndarray) -> np.ndarray:
    """The tumour net's likely voxels (p >= PROB_EXTEND) in the liver within PROB_RIM_MM of ``drawn`` (a lesion and
    its extension, over the same box as ``hu``), connected to it at ``local``, where the CT agrees: at least half the
    lesion's contrast to the parenchyma (>= 10 HU) on its side, after 1 mm smoothing.

    The net's voxel threshold (0.9) keeps false lesions out; once a click says the lesion goes on, its rim between
    0.5 and 0.9 is most often the lesion's (held-out radct-1720's 31 mL lesion: missed voxels at p 0.57-0.72 on the
    slices it drew, the liver beside them 0.02-0.03). Without the CT's check the net's rim around a synthetic lesion
    it overdrew was taken too, and an isodense lesion gives the CT nothing to check it by.
    """
    near = bounding_box(drawn, margin=np.ceil(PROB_RIM_MM / sp).astype(int))
    rim = (p[near] >= PROB_EXTEND) & (lab[near] == LIVER)
    parenchyma = hu[::2, ::2][lab[::2, ::2] == LIVER]  # most of the box's liver (every other voxel in-plane)
    if not rim.any() or parenchyma.size == 0:
        return np.zeros_like(drawn)
    background = float(np.median(parenchyma))
    contrast = float(np.median(hu[lesion])) - background
    if abs(contrast) < 10.0:
        return np.zeros_like(drawn)
    rim &= (_gaussian(hu[near].astype(np.float32), 1.0 / sp) - background) * np.sign(contrast) >= 0.5 * abs(contrast)
    rim &= ndimage.distance_transform_edt(~drawn[near], sampling=sp) <= PROB_RIM_MM
    out = np.zeros_like(drawn)
    out[near] = rim & _component_at(rim | drawn[near], local - [s.start for s in near], sp)
    return out


def check_voxel(voxel, shape) -> np.ndarray:
    """The click as integer canonical indices; ValueError when it lies outside the volume."""
    ijk = np.round(np.asarray(voxel, float)).astype(int)
    if ijk.shape != (3,) or np.any(ijk < 0) or np.any(ijk >= np.asarray(shape)):
        raise ValueError(f"click {tuple(int(v) for v in ijk)} is outside the volume {tuple(shape)}")
    return ijk


def learned_lesion_region(click_net, hu: np.ndarray, labels: np.ndarray, spacing, voxel) -> tuple[tuple, np.ndarray]:
    """(box, mask) of the lesion under a positive click from the click net, kept inside the liver (+2 voxels)
    and to the part connected to the click."""
    ijk = np.round(np.asarray(voxel, float)).astype(int)
    box, mask = click_net.segment(hu, spacing, labels, positive=ijk[None], negative=np.zeros((0, 3)))
    if not mask.any():
        return box, mask
    liver = labels[box] >= LIVER
    mask &= _near_liver(liver)
    local = ijk - [s.start for s in box]
    return box, _fill_holes(_component_at(mask, local, np.asarray(spacing, float)))


def plan_lesion_click(labels: np.ndarray, hu: np.ndarray, spacing, voxel, positive: bool = True, probability=None,
                      click_net=None, learned_first: bool = LEARNED_FIRST, previous: Sequence[Click] = ()) -> ClickEdit | None:
    """Add the lesion under a positive click, or remove (part of) the false lesion under a negative one.

    A positive click tries the image's region (:func:`lesion_region`), the extension of a lesion beside it
    (:func:`extend_lesion`) where that region is faint and runs into it, and, where neither adds anything, the
    click net (:class:`~livseg_gui.segment.click_net.ClickNet`); ``learned_first`` puts the net first
    (compared in benchmarks/bench_clicks.py). ``previous`` are the clicks
    behind the current labels (``LabelMap.clicks``): a negative click keeps what earlier positive clicks asked for.
    """
    check_voxel(voxel, labels.shape)
    if positive:
        found = lesion_region(hu, labels, spacing, voxel, probability)
        region = found if (found[1] & (labels[found[0]] != TUMOUR)).any() else None  # only if it adds something
        # A faint region at a lesion already drawn (running into it, or clicked within the lesion's radius of it)
        # is that lesion's missed part: beside it the click says "it goes on to here", which the extension
        # follows better (an isodense part has no edge to threshold). A region of clear contrast (>= 20 HU) is a
        # lesion of its own outline, and a fragment drawn inside it does not change that; nor does a drawn lesion
        # farther from the click than its own radius (+3 mm).
        beside = (region is not None and _continues_drawn(*region, labels, spacing, voxel)
                  and abs(_contrast_to_liver(hu[region[0]], labels[region[0]], region[1])) < 20.0)
        tries = [("click lesion +", lambda: None if beside else region),
                 ("click lesion + (extend)", lambda: extend_lesion(hu, labels, spacing, voxel, probability)),
                 ("click lesion +", lambda: region)]
        if click_net is not None:
            learned = lambda: learned_lesion_region(click_net, hu, labels, spacing, voxel)  # noqa: E731
            tries.insert(0 if learned_first else 3, ("click lesion + (net)", learned))
        for name, attempt in tries:
            found = attempt()
            if found is not None and (found[1] & (labels[found[0]] != TUMOUR)).any():  # it adds something
                return ClickEdit(name, *found, TUMOUR)
        return None
    ijk = tuple(np.round(np.asarray(voxel, float)).astype(int))
    if labels[ijk] != TUMOUR:
        return None
    sp = np.asarray(spacing, float)
    near = _roi(ijk, 1.5 * LESION_ROI_MM, sp, labels.shape)  # labelling the whole CT would cost ~0.5 s
    drawn, comp = _labelled(labels[near] == TUMOUR)  # not empty: the click is on tumour
    offset = [s.start + d.start for s, d in zip(near, drawn)]
    at = tuple(i - o for i, o in zip(ijk, offset))
    obj = ndimage.find_objects(comp)[comp[at] - 1]
    box = tuple(slice(b.start + o, b.stop + o) for b, o in zip(obj, offset))
    part = comp[obj] == comp[at]
    local = np.array(ijk) - [s.start for s in box]
    to_click = _mm_from(part.shape, local, sp)
    kept_clicks = [np.array(c.voxel) - [b.start for b in box] for c in previous if c.target == "tumour" and c.positive]
    kept_clicks = [k for k in kept_clicks if _inside(part, k) and to_click[tuple(k)] > 3.0]
    if kept_clicks:
        # Earlier positive clicks made this lesion: the negative click trims it, and a random walker inside it
        # decides which part goes with which click (along its faint inner edges where it has any), on a thinned
        # grid when the lesion is large (a 150k-voxel lesion took 0.7 s at full resolution).
        seeds = np.zeros(part.shape, np.int8)
        for k in kept_clicks:
            seeds[part & (_mm_from(part.shape, k, sp) <= 3.0)] = 1
        seeds[part & (to_click <= 3.0)] = 2
        kept, _, step, _ = _thinned_walk(hu[box], lambda thin, ssp, at: seeds[thin].copy(), kept_clicks[0], sp, part,
                                         blur_slices=False)
        region = _component_at(part & ~_full_grid(kept, step, part.shape), local, sp)
    else:
        core, depth = _core(part, sp)
        to_core = _mm_from(part.shape, core, sp)
        # A click at a lesion's middle means "no lesion here": all of it goes. With the click net, only a click
        # on the core itself does; elsewhere the net decides what stays (a merged false part is often widest there).
        # A click in a halo around a lesion of clear contrast trims it to its outline first, net or not.
        core_zone = 2 * sp[:2].max() if click_net is not None else 0.5 * depth + 2 * sp.max()
        small = part.sum() * np.prod(sp) / 1000.0 < 1.0
        trimmed = None if small else _trim_to_outline(hu, labels, sp, box, part, core, local)
        whole = trimmed is None and (small or to_core[tuple(local)] < core_zone)
        region = part if whole else part & (to_click < to_core)
        if trimmed is not None:
            region = trimmed
        elif not whole and click_net is not None:
            # The net redraws the lesion from its core (positive) and the click (negative); what it leaves out goes.
            kept = _in_box(*click_net.segment(hu, sp, labels, positive=(core + [s.start for s in box])[None],
                                              negative=np.array(ijk)[None]), box)
            if not kept[tuple(local)] and kept[tuple(core)]:
                region = part & ~kept
    return ClickEdit("click lesion -", box, region, _liver_or_background(labels, box, sp),
                     only=lambda cur: cur == TUMOUR)


def _trim_to_outline(hu: np.ndarray, labels: np.ndarray, sp: np.ndarray, box, part: np.ndarray, core: np.ndarray,
                     local: np.ndarray) -> np.ndarray | None:
    """What of the drawn lesion ``part`` (over ``box``) lies outside the image's own outline of the lesion at its
    ``core``, when a negative click at ``local`` falls outside that outline and the lesion shows clear contrast
    (>= 20 HU): a lesion drawn with a halo of parenchyma is trimmed to its edge in one click. None otherwise."""
    obox, outline = lesion_region(hu, labels, sp, core + [s.start for s in box])
    outline = _in_box(obox, outline, box)
    if not outline[tuple(core)] or outline[tuple(local)]:
        return None
    if abs(_contrast_to_liver(hu[box], labels[box], outline)) < 20.0:
        return None
    return part & ~outline


def _continues_drawn(box, region: np.ndarray, labels: np.ndarray, spacing, voxel) -> bool:
    """Whether a positive click continues a drawn lesion: the lesions ``region`` (over ``box``) touches, with the one
    nearest the click (within EXTEND_MM), reach within their own equivalent radius (+3 mm) of the click.

    Only then can the click mean "that lesion goes on to here". A click 14 mm from a 4 mm fragment the model drew in a
    57 mL isodense lesion (radct-1720) is a click on a lesion of its own; one in the fainter rim around a drawn core
    (ircadb-17) continues that lesion even where the rim's own region, a few noisy voxels, stops short of it.
    """
    sp = np.asarray(spacing, float)
    if (found := _labelled(labels[box] == TUMOUR)) is None:
        return False
    near, comp = found  # the drawn lesions, within their bounding box in ``box``
    at = np.round(np.asarray(voxel, float)).astype(int) - [s.start + n.start for s, n in zip(box, near)]
    drawn = np.argwhere(comp > 0)
    to_click = np.sqrt((((drawn - at) * sp) ** 2).sum(1))
    ids = {int(comp[tuple(drawn[np.argmin(to_click)])])} if to_click.min() <= EXTEND_MM else set()
    if region.any():
        around = bounding_box(region, margin=1)
        touching = _in_box(around, ndimage.binary_dilation(region[around]), near)  # face-connected
        ids |= set(np.unique(comp[touching]).tolist()) - {0}
    if not ids:
        return False
    mine = np.isin(comp[tuple(drawn.T)], list(ids))
    return float(to_click[mine].min()) <= _sphere_radius(mine.sum(), sp) + 3.0


def _contrast_to_liver(hu: np.ndarray, lab: np.ndarray, region: np.ndarray) -> float:
    """Median HU of ``region`` minus that of the liver (any label >= 1) in a ring of three voxels around it
    (0 without one)."""
    if not region.any():
        return 0.0
    near = bounding_box(region, margin=3)
    part = region[near]
    ring = ndimage.binary_dilation(part, iterations=3) & ~part & (lab[near] >= LIVER)
    return float(np.median(hu[near][part]) - np.median(hu[near][ring])) if ring.any() else 0.0


def _liver_or_background(labels: np.ndarray, box, spacing: np.ndarray, reach_mm: float = 30.0) -> np.ndarray:
    """What removed tumour in ``box`` goes back to: liver inside the liver's local outline (in each slice, the
    convex hull of the liver within ``reach_mm`` of the box), background where it stuck out of the liver."""
    pad = np.ceil(reach_mm / spacing).astype(int)
    pad[2] = 0
    near = tuple(slice(max(0, b.start - p), min(n, b.stop + p)) for b, p, n in zip(box, pad, labels.shape))
    liver = labels[near] == LIVER
    edge = liver & ~ndimage.binary_erosion(liver, structure=IN_PLANE8)  # the hull of a slice is its outline's
    offset = np.array([b.start - q.start for b, q in zip(box, near)])
    shape = tuple(b.stop - b.start for b in box)
    out = np.full(shape, BACKGROUND, np.uint8)
    query = np.indices(shape[:2]).reshape(2, -1).T + offset[:2]
    for k in range(shape[2]):
        pts = np.argwhere(edge[:, :, k + offset[2]])
        if len(pts) < 3 or np.linalg.matrix_rank(pts - pts[0]) < 2:
            continue
        hull = ConvexHull(pts).equations  # rows (a, b, c): a x + b y + c <= 0 inside
        inside = (query @ hull[:, :2].T + hull[:, 2] <= 1e-9).all(axis=1)
        out[:, :, k][inside.reshape(shape[:2])] = LIVER
    return out


def _inside(mask: np.ndarray, ijk: np.ndarray) -> bool:
    return bool(np.all(ijk >= 0) and np.all(ijk < mask.shape) and mask[tuple(ijk)])


def _in_box(src_box, src: np.ndarray, box) -> np.ndarray:
    """``src`` (a mask over ``src_box``) seen over ``box``: False where it does not reach."""
    out = np.zeros(tuple(s.stop - s.start for s in box), bool)
    inter = [slice(max(a.start, b.start), min(a.stop, b.stop)) for a, b in zip(box, src_box)]
    if all(s.start < s.stop for s in inter):
        out[tuple(slice(s.start - a.start, s.stop - a.start) for s, a in zip(inter, box))] = \
            src[tuple(slice(s.start - b.start, s.stop - b.start) for s, b in zip(inter, src_box))]
    return out


def plan_liver_click(labels: np.ndarray, hu: np.ndarray, spacing, voxel, positive: bool = True) -> ClickEdit | None:
    """Grow the liver into the region of a positive click, or cut off the leak under a negative click."""
    sp = np.asarray(spacing, float)
    ijk = check_voxel(voxel, labels.shape)
    if positive:
        box = _roi(ijk, LIVER_ROI_MM, sp, hu.shape)
        local = ijk - [s.start for s in box]
        region = grow_along_edges(hu[box], labels[box], sp, local)
        if region is None:
            return None
        return ClickEdit("click liver +", box, region, LIVER, only=lambda cur: cur == BACKGROUND)
    if labels[tuple(ijk)] < LIVER:
        return None
    liver_full = labels >= LIVER
    box = bounding_box(liver_full)
    liver = liver_full[box]
    local = ijk - [s.start for s in box]
    leak = leak_along_edges(liver, hu[box], sp, local)
    if leak is None:
        return None
    return ClickEdit("click liver - (cut leak)", box, leak, BACKGROUND)


EDGE_GRID_MM = 1.5  # the random walker runs on about this in-plane grid: ~0.5 s for a whole liver
LEAK_REACH_MM = 80.0  # a leak reaches at most this far from its deepest point (the heart: ~60 mm)
MAX_LEAK_SHARE = 0.4  # a "leak" larger than this share of the liver is the liver: refuse rather than delete it


def _region_step(spacing: np.ndarray) -> np.ndarray:
    """The region tools' step per axis: a grid of about EDGE_GRID_MM. Slices of 1 mm or less are thinned too: on
    0.8 mm slices (512x512x238) a leak cut on every slice took 1.4-2.1 s."""
    return np.array([max(1, int(round(EDGE_GRID_MM / s))) for s in spacing])


def _region_grid(hu: np.ndarray, spacing: np.ndarray, within: np.ndarray | None = None, part=None):
    """(step per axis, smoothed and thinned CT, its spacing) for the region tools; with ``part`` (a box on the
    thinned grid) the smoothed CT over that box only, bit for bit the same values.

    Smoothed 1.5 mm in-plane (CT noise of 15-20 HU per voxel falls to ~5) and half a slice along z (1.5 mm where
    thin slices are thinned); with ``within`` only over those voxels (normalised convolution), so a mask's own
    border keeps its inside's HU instead of a blend with what lies outside it.
    """
    step = _region_step(spacing)
    sigma = [EDGE_GRID_MM / s if i < 2 or st > 1 else 0.5 for i, (s, st) in enumerate(zip(spacing, step))]
    thin = (slice(None, None, step[0]), slice(None, None, step[1]), slice(None, None, step[2]))
    if part is None:
        return step, _smooth(hu, sigma, within, thin), spacing * step
    # The part's voxels and the filter's reach around them (truncate 4), starting on the thinned grid's phase.
    reach = [int(4.0 * sg + 0.5) for sg in sigma]
    lo = [max(0, p.start * st - r) // st * st for p, st, r in zip(part, step, reach)]
    hi = [min(n, (p.stop - 1) * st + 1 + r) for p, st, r, n in zip(part, step, reach, hu.shape)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    img = _smooth(hu[box], sigma, None if within is None else within[box], thin)
    return step, img[tuple(slice(p.start - a // st, p.stop - a // st) for p, a, st in zip(part, lo, step))], spacing * step


def _full_grid(part: np.ndarray, step: np.ndarray, shape) -> np.ndarray:
    up = np.repeat(np.repeat(np.repeat(part, step[0], 0), step[1], 1), step[2], 2)
    return up[: shape[0], : shape[1], : shape[2]]


def grow_along_edges(hu: np.ndarray, labels: np.ndarray, spacing, local) -> np.ndarray | None:
    """The missed liver under a positive click at ``local``: background voxels of a box, bounded by the CT's
    edges; None when it finds nothing.

    A random walker (:mod:`.random_walk`) over the box's background and liver: the click's neighbourhood
    and the liver already drawn (a missed part is usually the liver's own edge or tip, reached from the whole
    interface) against the cores of every tissue clearly unlike the click's (more than 4 sigma from its HU:
    fat, air, bone, contrast-filled vessels). An organ of liver-like HU is claimed only where no edge
    separates it; the tissue band (2.5 sigma) bounds what is added, and each slice's part must touch the
    liver there (:func:`_touching_in_plane`).
    """
    sp = np.asarray(spacing, float)
    step, img, ssp = _region_grid(hu, sp)
    thin = labels[:: step[0], :: step[1], :: step[2]]
    free, liver = thin == BACKGROUND, thin >= LIVER
    at = tuple(np.minimum(np.asarray(local) // step, np.array(free.shape) - 1))
    free[at] = True
    to_click = _mm_from(free.shape, at, ssp)
    near = free & (to_click <= 3.0 + 1e-6)
    vals = img[to_click <= 6.0]
    mu = float(np.median(vals))
    # Robust spread (an edge inside the 6 mm ball is not noise), at least 12 HU: a liver's thin edge is
    # 10-20 HU darker than its middle from partial volume alone.
    sigma = max(12.0, 1.4826 * float(np.median(np.abs(vals - mu))))
    like = np.abs(img - mu) <= 2.5 * sigma  # the click's tissue
    unlike = np.abs(img - mu) > 4 * sigma
    if liver.sum() > 100:  # ... and the liver's own, where the box shows enough of it
        lv = img[liver]
        mu_l = float(np.median(lv))
        sigma_l = max(12.0, 1.4826 * float(np.median(np.abs(lv - mu_l))))
        like &= np.abs(img - mu_l) <= 3 * sigma_l
        unlike |= np.abs(img - mu_l) > 4 * sigma_l
    seeds = np.zeros(free.shape, np.int8)
    # Only the cores of other tissue: partial-volume voxels at the liver's own edge (or noise) would pull it.
    seeds[ndimage.binary_erosion(free & unlike, structure=_ball(2.0 * EDGE_GRID_MM, ssp))] = 2
    seeds[liver | near] = 1
    walk = free & (random_walk(img, free | liver, seeds, ssp) > 0.5)
    region = ndimage.binary_opening(walk & like, structure=_ball(2.0, ssp)) | near
    region = _component_at(_touching_in_plane(region, liver, at), np.array(at), ssp)
    # Its rim: smoothing blends the organ's edge with what lies outside, out of the HU band, yet the walk
    # still gives it to the click.
    region |= walk & ndimage.binary_dilation(region, structure=IN_PLANE8, iterations=2)
    if not region.any():
        return None
    return _full_grid(region, step, hu.shape) & (labels == BACKGROUND)


def _touching_in_plane(region: np.ndarray, liver: np.ndarray, at) -> np.ndarray:
    """The slice-wise components of ``region`` that touch ``liver`` in their own slice, or hold the click.

    Missed liver is the liver's own edge: on every slice it borders the liver drawn there. An organ of
    liver-like HU next to it (stomach wall, spleen) is separated in-plane by a fat line and reached only
    through the slices above or below, which this drops.
    """
    comp, _ = ndimage.label(region, structure=IN_PLANE8)
    touching = set(np.unique(comp[ndimage.binary_dilation(liver, structure=IN_PLANE8)]))
    touching.add(int(comp[at]))
    touching.discard(0)
    return np.isin(comp, list(touching))


def leak_along_edges(liver: np.ndarray, hu: np.ndarray, spacing, local) -> np.ndarray | None:
    """The part of ``liver`` (a box's mask) that the click at ``local`` belongs to, cut from the liver's body
    along the CT's edges or at a narrow neck; None when there is no body apart from the click or the cut
    would take too much of the liver.

    A random walker (:mod:`.random_walk`) inside the liver mask, from the click's neighbourhood (a ball of
    half its depth) against the liver's deepest part beyond it: a voxel goes with the click when a walk from
    it reaches the click first. Computed on a ~1.5 mm in-plane grid and applied back to every voxel.
    """
    sp = np.asarray(spacing, float)
    step = _region_step(sp)
    ssp = sp * step
    small = liver[:: step[0], :: step[1], :: step[2]]
    at = tuple(np.minimum(np.asarray(local) // step, np.array(small.shape) - 1))
    if not small[at]:
        return None
    # The depth on a grid twice as coarse in-plane (~3 mm; the whole liver's distance map took ~230 ms at 1.5 mm).
    depth = _full_grid(_depth(small[::2, ::2], ssp * [2, 2, 1]), np.array([2, 2, 1]), small.shape)
    to_click = _mm_from(small.shape, at, ssp)
    seeds = np.zeros(small.shape, np.int8)
    # The click's own structure reaches about its depth around it: the liver's core is sought beyond that.
    core = small & (depth >= 0.5 * depth.max()) & (to_click > 1.5 * depth[at] + 10.0)
    if not core.any():
        return None
    seeds[core] = 2
    seeds[small & (to_click <= max(3.0, 0.5 * depth[at]))] = 1
    # The walk runs within LEAK_REACH_MM of the click (a leak is smaller than that); where the liver goes on
    # beyond, the cut faces are the body too. Half the liver or less: the solve stays well under a second.
    near = tuple(slice(max(0, c - r), min(n, c + r + 1))
                 for c, r, n in zip(at, np.ceil(LEAK_REACH_MM / ssp).astype(int), small.shape))
    seeds[_cut_faces(small, near)] = 2
    img = _region_grid(hu, sp, within=liver, part=near)[1]  # smoothed where the walk runs only
    part = np.zeros(small.shape, bool)
    part[near] = random_walk(img, small[near], seeds[near], ssp) > 0.5
    part = _component_at(small & part, np.array(at), ssp)
    if not part.any() or part.sum() > MAX_LEAK_SHARE * small.sum():
        return None
    # Back on every voxel, within the part's bounding box only (repeating the whole liver's box took ~60 ms).
    found = bounding_box(part)
    full = tuple(slice(b.start * st, min(n, b.stop * st)) for b, st, n in zip(found, step, liver.shape))
    out = np.zeros(liver.shape, bool)
    out[full] = _full_grid(part[found], step, out[full].shape) & liver[full]
    return out


def _cut_faces(mask: np.ndarray, box) -> np.ndarray:
    """Voxels of ``mask`` on the faces of ``box`` whose neighbour across the face, outside the box, is ``mask`` too:
    where the walk's box cuts through the liver (the liver goes on beyond)."""
    out = np.zeros(mask.shape, bool)
    for axis, s in enumerate(box):
        for inside, outside in ((s.start, s.start - 1), (s.stop - 1, s.stop)):
            if 0 <= outside < mask.shape[axis]:
                face = tuple(slice(inside, inside + 1) if a == axis else b for a, b in enumerate(box))
                beyond = tuple(slice(outside, outside + 1) if a == axis else b for a, b in enumerate(box))
                out[face] |= mask[face] & mask[beyond]
    return out


def lesion_click(lm: LabelMap, hu: np.ndarray, spacing, voxel, positive: bool = True, probability=None,
                 click_net=None) -> Change | None:
    """:func:`plan_lesion_click` applied at once: one undoable change, or None."""
    edit = plan_lesion_click(lm.data, hu, spacing, voxel, positive, probability, click_net)
    return edit.apply(lm) if edit is not None else None


def liver_click(lm: LabelMap, hu: np.ndarray, spacing, voxel, positive: bool = True) -> Change | None:
    """:func:`plan_liver_click` applied at once: one undoable change, or None."""
    edit = plan_liver_click(lm.data, hu, spacing, voxel, positive)
    return edit.apply(lm) if edit is not None else None
