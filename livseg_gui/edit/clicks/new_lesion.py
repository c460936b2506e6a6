"""A new lesion's region from a positive click: its contrast to the liver thresholded and snapped to edges, or,
without contrast at the click, the strongest edge around it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property, partial

import numpy as np
from scipy import ndimage

from ...labels import LIVER, TUMOUR, bounding_box
from .common import (
    EXTEND_MM,
    LESION_ROI_MM,
    Deferred,
    _alongside,
    _c_ordered,
    _component_at,
    _depth,
    _dilated,
    _eroded,
    _face_dilated,
    _fill_holes,
    _full_grid,
    _mm_from,
    _near_liver,
    _opened,
    _roi,
    _smooth,
    _sphere_radius,
    _thinned_walk,
)
from .liver_smoothing import (
    SMOOTH_MM,
    SMOOTH_TRUNCATE,
    SOFT_TISSUE_HU,
    LiverSmoothing,
    SoftTissueSmoothing,
    aligned,
    block_means,
    grid_step,
    liver_smoothing_of,
    on_grid,
    soft_tissue_smoothing_of,
    within_hu,
)
from .thick_slices import _on_thick_slices, _slice_block

EDGE_REACH_MM = 45.0  # an isodense lesion's edge is sought this far from the click
# Its outline is walked from a ball of EDGE_INNER x the edge's radius against the liver beyond EDGE_OUTER x it. Where
# the edge is faint the cut falls near the seeds' harmonic midpoint, 2ab / (a + b) in 3-D: 0.87 of the radius from a
# ball of 0.6, which drew isodense lesions inside their edge (synthetic 12-16 mm spheres by ~1 mm, held-out
# radct-1720's 57 mL lesion by ~4 mm: Dice 0.73); 0.97 from 0.7 (Dice 0.83).
EDGE_INNER, EDGE_OUTER = 0.7, 1.6
CLEAR_HU = 20.0  # a region of at least this contrast to the liver around it is a lesion of its own outline
SURELY_FAINT_HU = 15.0  # a threshold's region under this stays under CLEAR_HU once snapped (see _lesion_region)
FAINT_HU = 10.0  # a region under this is an isodense lesion's most distinct part: its edge, where it shows, bounds it
EDGE_HOLDS = 0.8  # ... when the edge's region holds this much of the faint region and is EDGE_WIDER times its size
EDGE_WIDER = 1.2
FAINT_MARGIN_HU = 2.0  # _may_be_faint's estimate of a click's contrast, against 0.25 HU off at most on the benchmark


def _where_lesion_may_lie(lab: np.ndarray, hu: np.ndarray, local: np.ndarray,
                          sp: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Where a positive lesion click's region may lie, and the soft tissue its smoothing averages over (None: the
    liver, :class:`LiverSmoothing`).

    Near the liver (:func:`_near_liver`), smoothed within the liver. A click outside that within ~20 mm of the liver,
    on soft tissue, may find its lesion anywhere on soft tissue (SOFT_TISSUE_HU), smoothed within it: the user says a
    lesion is there, where the model's liver missed it (a lesion on the scan's last slices, which the cascade left
    out, or one at the capsule it carved out); so may one where the box shows no liver to go by. Fat blurred into
    the tissue beside it, or taken as darker than the lesion, led a -40 HU lesion at the capsule along it (6.6k
    voxels for 1.7k). A click outside the liver in fat, air or bone finds nothing."""
    liver = lab >= LIVER
    near = _near_liver(liver)  # everywhere when the box shows too little liver
    has_liver = liver.sum() > 1000
    if has_liver and near[tuple(local)]:
        return near, None
    tissue = float(np.median(hu[_roi(local, 2.0, sp, hu.shape)]))
    if not within_hu(tissue, SOFT_TISSUE_HU):
        return np.zeros_like(near), None
    if has_liver and not liver[_roi(local, 20.0, sp, lab.shape)].any():
        return near, None
    soft = within_hu(hu, SOFT_TISSUE_HU)
    return soft, soft


def lesion_region(hu: np.ndarray, labels: np.ndarray, spacing, voxel, probability=None, contrast_only: bool = False,
                  defer_if: Callable | None = None) -> tuple[tuple, np.ndarray] | Deferred | None:
    """(box, mask) of the lesion under a positive click; mask may be empty (:func:`_lesion_region`, on slices of at
    least LESION_SLICE_MM: :class:`_ThickSlices`). With ``contrast_only``, None where the click shows no contrast, or
    only a region surely fainter than CLEAR_HU. :class:`~.common.Deferred` where ``defer_if`` says so."""
    # The liver's and soft tissue's smoothings are kept between clicks on the CT itself; merged slices are merged anew
    # for each click (aligned to its slice), so each such click smooths its own box (a throwaway LiverSmoothing cost
    # ~100 ms more).
    kept = _slice_block(np.asarray(spacing, float)) == 1
    tool = partial(_lesion_region, contrast_only=contrast_only, defer_if=defer_if,
                   smoothing=liver_smoothing_of(hu, spacing) if kept else None,
                   soft_smoothing=soft_tissue_smoothing_of(hu, spacing) if kept else None)
    return _on_thick_slices(tool, hu, labels, spacing, voxel, probability)


def _lesion_region(hu: np.ndarray, labels: np.ndarray, spacing, voxel, probability=None, contrast_only: bool = False,
                   smoothing: LiverSmoothing | None = None, soft_smoothing: SoftTissueSmoothing | None = None,
                   defer_if: Callable | None = None) -> tuple[tuple, np.ndarray] | Deferred | None:
    """(box, mask) of the lesion under a positive click; mask may be empty; with ``contrast_only``, None where the
    click shows no contrast, or only a region surely fainter than CLEAR_HU (the edge and the tumour net's probability
    are not looked at). ``smoothing`` and ``soft_smoothing`` are ``hu``'s :class:`LiverSmoothing` and
    :class:`SoftTissueSmoothing` (None: the box is smoothed for this click alone). Where ``defer_if(hu, labels,
    spacing, voxel, box, region, contrast)`` holds for the contrast's region before its outline is snapped to edges
    (``contrast()``: its HU to the liver, :func:`_contrast_to_liver`), the snap and what follows it are left until
    asked for (a :class:`~.common.Deferred`).

    The image decides first: the lesion's contrast to the liver around it (:func:`_contrast_region`), its
    outline then moved onto the nearest edges by a random walker (:func:`_snap_to_edges`); where the click
    shows no contrast (an isodense lesion, one with an enhancing rim), the strongest edge around the click
    (:func:`_edge_region`); where it shows only a faint region, that edge too if it encloses the region
    (:func:`_widened_to_edge`). The tumour net's probability is the last resort: where its region and the
    contrast's differed from the same click (6 lesions of benchmarks/bench_clicks.py's held-out cases), it
    was worse on 5 (Dice 0.37-0.82 against 0.77-0.97) and better on one (0.75 against 0.48).
    """
    sp = np.asarray(spacing, float)
    # On pixels under 0.7 mm the region is found on a coarser grid (:func:`grid_step`), its outline snapped at full
    # resolution; the box starts where the grid's blocks do.
    box = aligned(_roi(voxel, LESION_ROI_MM, sp, hu.shape), grid_step(sp))
    local = np.round(np.asarray(voxel, float)).astype(int) - [s.start for s in box]
    lab = labels[box]
    grid = _LesionGrid.of(hu, labels, box, local, sp, smoothing, soft_smoothing)
    allowed = grid.allowed if grid.k == 1 else _where_lesion_may_lie(lab, hu[box], local, sp)[0]
    # The strongest edge around the click bounds a faint region (_widened_to_edge) and stands in for a missing one.
    # Where the click shows under 2 x CLEAR_HU, it is sought on the second core while the contrast's region is, unless
    # the second core extends a drawn lesion near the click (a click on liver: :func:`.lesion_extend.extend_lesion`);
    # elsewhere only when asked for. A faint region's click may show more than the region: radct-1720's isodense
    # lesion's darker middle, -22 HU at the click, gave a region under FAINT_HU, whose edge took ~100 of the click's
    # ~275 ms on 1 mm slices (~220 ms so). Beside a drawn lesion, off the liver, the edge is what a click gets where
    # no contrast's region is found (ircadb-17's lesion's rim, which its liver left out: ~50 of ~250 ms at 1 mm). On
    # a drawn lesion (a negative click's outline of it, :func:`.lesion._trim_to_outline`) it is sought only if asked.
    edge = partial(grid.edge_region, allowed)
    # That edge is then the click's slowest part: it starts before the click's contrast is measured (the distances
    # over the box and the parenchyma's median: ~35 ms on 1 mm slices) where an estimate says the click may be faint
    # (_may_be_faint); elsewhere once it is measured.
    may_seek = not contrast_only and not (grid.drawn_near and lab[tuple(local)] >= LIVER)  # off the liver: no extension
    early = may_seek and _may_be_faint(grid.img, grid.lab, grid.local, grid.sp)
    if early:
        edge = _alongside(edge)
    measured = _click_contrast(grid.img, grid.lab, grid.dist)
    if not early:
        faint = measured is None or abs(measured[1]) < 2 * CLEAR_HU
        edge = _alongside(edge) if faint and may_seek else cache(edge)
    region = _contrast_region(grid.img, grid.lab, grid.allowed, grid.dist, grid.sp, grid.local, measured)
    if region is not None:
        region = grid.full(region, lab.shape) & allowed
        # Its contrast to the liver, asked for here and by defer_if (once: ~10 ms for a large lesion on 1 mm slices).
        contrast = cache(partial(_contrast_to_liver, hu[box], lab, region))
        # contrast_only is asked beside a drawn lesion, where a region under CLEAR_HU goes to the extension: one
        # surely under it is not snapped (~30-55 ms on 1 mm slices). Of the benchmark's 39 regions beside drawn
        # lesions, those under CLEAR_HU gained at most 1 HU of contrast from the snap, none from under SURELY_FAINT_HU
        # to CLEAR_HU.
        if contrast_only and abs(contrast()) < SURELY_FAINT_HU:
            return None

        def outlined(region=region) -> tuple[tuple, np.ndarray]:
            region = _snap_to_edges(hu[box], allowed, region, sp, local)
            if not contrast_only and region.any() and abs(_contrast_to_liver(hu[box], lab, region)) < FAINT_HU:
                region = _widened_to_edge(region, grid, edge, sp)
            return box, region

        if defer_if is not None and defer_if(hu, labels, sp, voxel, box, region, contrast):
            return Deferred(outlined)
        return outlined()
    if contrast_only:
        return None
    region = edge()
    if region is None and probability is not None:
        p = probability.crop(box)
        if p is not None and p[tuple(local)] >= 0.15:
            region = _component_at((p >= max(0.1, 0.4 * p[tuple(local)])) & allowed, local, sp)
    return box, (_fill_holes(region) if region is not None else np.zeros(lab.shape, bool))


@dataclass
class _LesionGrid:
    """A lesion click's box on an in-plane grid ``k`` times coarser (``k`` x ``k`` means of the CT,
    :func:`grid_step`): the CT, its smoothing (within the liver, :class:`LiverSmoothing`, or within soft tissue),
    the labels, where a lesion may lie, mm from the click, the spacing and the click there."""

    hu: np.ndarray
    img: np.ndarray
    lab: np.ndarray
    allowed: np.ndarray
    sp: np.ndarray
    local: np.ndarray
    k: int

    @classmethod
    def of(cls, hu: np.ndarray, labels: np.ndarray, box: tuple, local: np.ndarray, sp: np.ndarray,
           smoothing: LiverSmoothing | None, soft_smoothing: SoftTissueSmoothing | None) -> _LesionGrid:
        """The grid of the click at ``local`` in ``box`` (aligned to the grid) of the CT ``hu``; smoothed within the
        liver by ``smoothing``, or within soft tissue (:func:`_where_lesion_may_lie`) by ``soft_smoothing`` (None:
        over the box alone)."""
        k = grid_step(sp)
        means = block_means(hu, box, k)
        lab, local, sp = _c_ordered(labels[box][::k, ::k]), np.asarray(local) // [k, k, 1], sp * [k, k, 1]
        allowed, soft = _where_lesion_may_lie(lab, means, local, sp)
        kept = smoothing if soft is None else soft_smoothing
        if kept is not None:
            img = kept.over(hu, labels, on_grid(box, k))
        else:
            within = soft if soft is not None else lab >= LIVER
            # A click's own box (on merged slices): the mask's half on the second core.
            img = _smooth(means, SMOOTH_MM / sp, within=within, truncate=SMOOTH_TRUNCATE, alongside=True)
        return cls(means, img, lab, allowed, sp, local, k)

    @cached_property
    def dist(self) -> np.ndarray:
        """mm from the click, over the grid (~16 ms on 1 mm slices: asked for after the edge may have started)."""
        return _mm_from(self.img.shape, self.local, self.sp)

    def full(self, mask: np.ndarray, shape) -> np.ndarray:
        """``mask`` (on this grid) on the full-resolution grid of ``shape``."""
        return _full_grid(mask, np.array([self.k, self.k, 1]), shape)

    @cached_property
    def drawn_near(self) -> bool:
        """Whether a drawn lesion lies within EXTEND_MM of the click (asked before the edge is sought and again
        before a faint region is widened to it: looked at once; within EXTEND_MM's box, before :attr:`dist`)."""
        near = _roi(self.local, EXTEND_MM, self.sp, self.lab.shape)
        drawn = self.lab[near] == TUMOUR
        if not drawn.any():
            return False
        to_click = _mm_from(drawn.shape, self.local - [s.start for s in near], self.sp)
        return bool((drawn & (to_click <= EXTEND_MM)).any())

    def edge_region(self, allowed: np.ndarray) -> np.ndarray | None:
        """The strongest edge's region around the click (:func:`_edge_region`), at full resolution within ``allowed``
        (over the box); None without one."""
        found = _edge_region(self.hu, self.img, self.lab, self.allowed, self.sp, self.local)
        return None if found is None else self.full(found, allowed.shape) & allowed


def _click_contrast(img: np.ndarray, lab: np.ndarray, dist: np.ndarray) -> tuple[float, float] | None:
    """(the parenchyma's median HU around a click, the median of the click's neighbourhood (2.5 mm) less it) on a
    lesion click's grid (``dist``: mm from the click); None where under 50 voxels of parenchyma show
    (:func:`_parenchyma`)."""
    background = _parenchyma(img, lab, dist)
    if background is None:
        return None
    return background, float(np.median(img[dist <= 2.5])) - background


def _parenchyma(img: np.ndarray, lab: np.ndarray, dist: np.ndarray, least: int = 1000) -> float | None:
    """The parenchyma's median HU around a click (``dist``: mm from it), or None where under ``least`` / 20 voxels
    of it show: the liver beyond 5 mm where the grid holds more than ``least`` voxels of liver (it outweighs even a
    large lesion; drawn tumour left out), else a soft-tissue shell."""
    liver = lab >= LIVER
    if liver.sum() > least:
        ring = liver & (lab != TUMOUR) & (dist > 5)
    else:
        ring = (dist >= 15) & (dist <= 40) & (img > -100) & (img < 300)
    if ring.sum() < least // 20:
        return None
    return float(np.median(img[ring]))


def _may_be_faint(img: np.ndarray, lab: np.ndarray, local: np.ndarray, sp: np.ndarray) -> bool:
    """Whether the click at ``local`` may show under 2 x CLEAR_HU (:func:`_click_contrast`), told before the click's
    distances over the grid are computed: the parenchyma's median from every second voxel along each axis (an eighth
    of them), with FAINT_MARGIN_HU to spare, and the click's neighbourhood in full. Only when to start the edge's
    search hangs on it, never the region."""
    every = tuple(slice(None, None, 2) for _ in img.shape)
    thinned = img[every]  # its voxel i is the grid's 2i: the click lies at local / 2 there, spacing 2 sp
    background = _parenchyma(thinned, lab[every], _mm_from(thinned.shape, np.asarray(local) / 2, sp * 2), least=1000 // 8)
    if background is None:
        return True
    near = _roi(local, 2.5, sp, img.shape)
    hood = img[near][_mm_from(img[near].shape, local - [s.start for s in near], sp) <= 2.5]
    return abs(float(np.median(hood)) - background) < 2 * CLEAR_HU + FAINT_MARGIN_HU


def _contrast_region(img: np.ndarray, lab: np.ndarray, allowed: np.ndarray, dist: np.ndarray, sp: np.ndarray,
                     local: np.ndarray, measured: tuple[float, float] | None) -> np.ndarray | None:
    """The lesion's own contrast to the surrounding liver (brighter or darker; ``measured``: :func:`_click_contrast`),
    thresholded half-way, opened to cut thin vessel bridges, and kept within a radius prior; None without contrast.

    The threshold is set from the click's neighbourhood, then once more from the region's median (a
    textured lesion's middle may be darker than the rest of it). A lesion's darker (or brighter) middle
    inside a fainter rim -- necrosis in a metastasis -- still stops that threshold short of the edge.
    While a shell 2-5 mm outside the region (beyond its edge's blur) still differs from the parenchyma by
    a quarter of the region's level (and 8 HU), the lesion goes on: thresholded again half-way from that
    shell's level (at most twice), as long as that stays compact (:func:`_compact`): a lesion in a darker
    zone of parenchyma (beam hardening by the ribs) sees the zone as its rim, and a 1.2 mL lesion became 14 mL.
    """
    if measured is None or abs(measured[1]) < 5.0:
        return None
    background, contrast = measured
    known = lab == TUMOUR  # tumour already drawn: neither parenchyma nor evidence for this click's extent
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
        near, shell = _mm_shell(region, sp, 2.0, 5.0)  # beyond the edge's blur
        shell &= allowed[near] & ~known[near]
        outside = float(np.median(img[near][shell])) - background if shell.any() else 0.0
        if outside * np.sign(contrast) < max(8.0, abs(level) / 4) or abs(outside) > 0.8 * abs(level):
            break
        wider = _threshold_region(img, background, outside, shells, allowed, dist, sp, local)
        if wider is None or not _compact(wider, sp):
            break
        region, level = wider | region, outside
    return region


def _widened_to_edge(region: np.ndarray, grid: _LesionGrid, edge: Callable[[], np.ndarray | None],
                     sp: np.ndarray) -> np.ndarray:
    """A faint ``region`` (under FAINT_HU; over ``grid``'s box at full resolution, spacing ``sp``) with the strongest
    edge around the click (``edge()``, :meth:`_LesionGrid.edge_region`) taken in, where that edge's region holds
    EDGE_HOLDS of it, is EDGE_WIDER times larger and compact (:func:`_compact`); ``region`` otherwise, and within
    EXTEND_MM of a drawn lesion.

    An isodense lesion's threshold finds its most distinct part: held-out radct-1720's 57 mL lesion (-3 HU) showed a
    darker middle of 6.5k voxels (-6 HU to the liver beside it, Dice 0.47) inside a faint round edge, which the edge's
    region follows: with it, 12.6k voxels, 99 % right (Dice 0.74). The benchmark's faint regions on other lesions had
    edges holding 5-46 % of them (another structure's edge). Near a drawn lesion the click is about that lesion, whose
    edge would be the strongest: ircadb-17's click 5 mm from a 79 mL lesion sought it for nothing (~110 ms).
    """
    if grid.drawn_near:
        return region
    found = edge()
    if found is None:
        return region
    size = int(region.sum())
    if (found & region).sum() < EDGE_HOLDS * size or found.sum() < EDGE_WIDER * size or not _compact(found, sp):
        return region
    return _fill_holes(region | found)


def _contrast_to_liver(hu: np.ndarray, lab: np.ndarray, region: np.ndarray) -> float:
    """Median HU of ``region`` minus that of the liver (any label >= 1) in a ring of three voxels around it
    (0 without one)."""
    if not region.any():
        return 0.0
    near = bounding_box(region, margin=3)
    part = region[near]
    ring = _face_dilated(part, 3) & ~part & (lab[near] >= LIVER)
    return float(np.median(hu[near][part]) - np.median(hu[near][ring])) if ring.any() else 0.0


def _compact(region: np.ndarray, sp: np.ndarray) -> bool:
    """Whether ``region`` is about as compact as a lesion: 95 % of it within 1.4x its equivalent-sphere radius of its
    centroid (a sphere 0.98, the benchmark's lesions and rims 1.03-1.25; a threshold spreading through a darker zone
    of parenchyma 1.5-1.7)."""
    near = bounding_box(region)  # np.argwhere over a 1 mm click's whole 12 cm box: ~8-10 ms; within this box ~1-5 ms
    pts = (np.argwhere(region[near]) + [s.start for s in near]) * sp
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
        index = (dist[counted] * 0.5).astype(np.intp)  # // 2.0, as distances are >= 0, without float division's cost
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
    part = _component_at(_opened(side, 1.5, sp), local - [s.start for s in near], sp)
    if not part.any() or (part & (dist[near] > LESION_ROI_MM - 2 * sp.max())).any():
        return None
    region = np.zeros(img.shape, bool)
    region[near] = part
    return region


def _mm_shell(region: np.ndarray, sp: np.ndarray, inner_mm: float, outer_mm: float) -> tuple[tuple, np.ndarray]:
    """(near, shell): the voxels outside ``region`` between ``inner_mm`` and ``outer_mm`` from it, over ``near``, the
    region's bounding box and that margin (every other voxel in-plane on sub-millimetre grids: a sample for a median).

    As two dilations by balls (:func:`_dilated`), which compare the squared distances a distance map would take the
    root of: an 85 mL region's shell on 1 mm slices took ~29 ms from a distance map, ~13 ms so."""
    k = 2 if sp[:2].max() < 1.0 else 1
    box = bounding_box(region, margin=np.ceil(outer_mm / sp).astype(int) + k)
    near = tuple(slice(b.start, b.stop, st) for b, st in zip(box, (k, k, 1)))
    part, ssp = region[near], sp * [k, k, 1]
    return near, _dilated(part, outer_mm, ssp) & ~_dilated(part, inner_mm, ssp)


def _snap_to_edges(hu: np.ndarray, allowed: np.ndarray, region: np.ndarray, sp: np.ndarray,
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
    peaks; a random walker from a ball of EDGE_INNER of it against the liver beyond EDGE_OUTER of it draws the outline.
    Rarely reached on the benchmark's lesions (2 of 40 from scratch show no contrast at the click: Dice 0.54
    and nothing), and around faint regions (:func:`_widened_to_edge`); tests/test_clicks.py's rim-enhancing sphere
    is its known answer."""
    reach = _roi(local, EDGE_REACH_MM, sp, img.shape)
    at = local - [s.start for s in reach]
    offsets = [(o - c) * s for o, c, s in zip(np.ogrid[tuple(slice(0, n) for n in img[reach].shape)], at, sp)]
    dist = np.sqrt(sum(o**2 for o in offsets))
    part = img[reach]
    grad = [np.gradient(part, s, axis=i) if n > 1 else np.zeros_like(part) for i, (s, n) in enumerate(zip(sp, part.shape))]
    radial = np.abs(sum(g * o for g, o in zip(grad, offsets))) / np.maximum(dist, 1e-6)
    # Not the liver's own border (its edge to fat outweighs any lesion's): the profile is taken 3 mm inside it.
    liver = lab[reach] >= LIVER
    # Eroded by a 3 mm ball from 1-D minimum filters (:func:`_eroded`): ~11 ms on ircadb-17's 123x123x50 box, where
    # in-plane distance maps took ~30 and a 3-D one 50-110, and ~18 ms instead of 70-180 on radct-1720's box at 1 mm
    # (122x122x91), the same voxels. On an in-plane grid of ~250k voxels (as :func:`_core`) radct-1720's isodense
    # lesion missed 0.80 after 5 clicks in one of four runs of the benchmark (0.78 against 0.83).
    core = _eroded(liver, 3.0, sp) if liver.sum() > 1000 else np.ones_like(liver)
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
    near = _roi(local, EDGE_OUTER * radius + 4.0, sp, img.shape)
    at = local - [s.start for s in near]

    def seeds_on(thin, ssp, at_thin):
        to_click = _mm_from(allowed[near][thin].shape, at_thin, ssp)
        seeds = np.zeros(to_click.shape, np.int8)
        faces = np.ones(to_click.shape, bool)
        faces[1:-1, 1:-1, 1:-1] = False
        seeds[~allowed[near][thin] | (to_click > EDGE_OUTER * radius) | faces] = 2
        seeds[to_click <= EDGE_INNER * radius] = 1
        return seeds

    out = np.zeros(img.shape, bool)
    out[near] = _walk_lesion(hu[near], seeds_on, at, sp) & allowed[near]
    return out if out.any() else None


def _walk_lesion(hu: np.ndarray, seeds_on: Callable, at: np.ndarray, sp: np.ndarray) -> np.ndarray:
    """What a random walker gives label 1, connected to ``at``, holes filled, over ``hu``'s grid (see
    :func:`_thinned_walk`)."""
    walk, at, step, ssp = _thinned_walk(hu, seeds_on, at, sp)
    return _full_grid(ndimage.binary_fill_holes(_component_at(walk, at, ssp)), step, hu.shape)
