"""Liver clicks: a missed part grown in (positive), a leak cut off (negative)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ...labels import BACKGROUND, LIVER, bounding_box
from ..labelmap import Change, LabelMap
from ..random_walk import random_walk
from .common import (
    IN_PLANE8,
    ClickEdit,
    _component_at,
    _depth,
    _eroded,
    _full_grid,
    _mm_from,
    _opened,
    _roi,
    _smooth,
    _thinned_reach,
    check_voxel,
)

LIVER_ROI_MM = 60.0
EDGE_GRID_MM = 1.5  # the random walker runs on about this in-plane grid: ~0.5 s for a whole liver
LEAK_REACH_MM = 80.0  # a leak reaches at most this far from its deepest point (the heart: ~60 mm)
MAX_LEAK_SHARE = 0.4  # a "leak" larger than this share of the liver is the liver: refuse rather than delete it


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


def _region_step(spacing: np.ndarray) -> np.ndarray:
    """The region tools' step per axis: a grid of about EDGE_GRID_MM. Slices of 1 mm or less are thinned too: on
    0.8 mm slices (512x512x238) a leak cut on every slice took 1.4-2.1 s. Halves round up, with 1 % to spare: 1 mm
    slices are thinned whether stored as 1.0 or 1.002 mm (resampled from 1.6 mm), where a leak cut on every slice
    took 0.9-1.2 s instead of ~0.45."""
    return np.array([max(1, int(np.floor(EDGE_GRID_MM / s * 1.01 + 0.5))) for s in spacing])


def _region_grid(hu: np.ndarray, spacing: np.ndarray, within: np.ndarray | None = None, part=None):
    """(step per axis, smoothed and thinned CT, its spacing) for the region tools; with ``part`` (a box on the
    thinned grid) the smoothed CT over that box only, bit for bit the same values.

    Smoothed 1.5 mm in-plane (CT noise of 15-20 HU per voxel falls to ~5) and half a slice along z (1.5 mm where
    thin slices are thinned), as it is thinned (:func:`_gaussian_thinned`); with ``within`` only over those voxels
    (normalised convolution), so a mask's own border keeps its inside's HU instead of a blend with what lies outside.
    """
    step = _region_step(spacing)
    sigma = [EDGE_GRID_MM / s if i < 2 or st > 1 else 0.5 for i, (s, st) in enumerate(zip(spacing, step))]
    if part is None:
        box = tuple(slice(0, n) for n in hu.shape)
    else:
        # The part's voxels and the filter's reach around them, starting on the thinned grid's phase.
        reach = [_thinned_reach(sg, st) for sg, st in zip(sigma, step)]
        lo = [max(0, p.start * st - r) // st * st for p, st, r in zip(part, step, reach)]
        hi = [min(n, (p.stop - 1) * st + 1 + r) for p, st, r, n in zip(part, step, reach, hu.shape)]
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
    img = _smooth(hu[box], sigma, None if within is None else within[box], step=step)
    if part is not None:
        img = img[tuple(slice(p.start - b.start // st, p.stop - b.start // st) for p, b, st in zip(part, box, step))]
    return step, img, spacing * step


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
    seeds[_eroded(free & unlike, 2.0 * EDGE_GRID_MM, ssp)] = 2
    seeds[liver | near] = 1
    walk = free & (random_walk(img, free | liver, seeds, ssp) > 0.5)
    region = _opened(walk & like, 2.0, ssp) | near
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


def liver_click(lm: LabelMap, hu: np.ndarray, spacing, voxel, positive: bool = True) -> Change | None:
    """:func:`plan_liver_click` applied at once: one undoable change, or None."""
    edit = plan_liver_click(lm.data, hu, spacing, voxel, positive)
    return edit.apply(lm) if edit is not None else None
