"""A lesion click, positive or negative, planned (:func:`plan_lesion_click`) or applied (:func:`lesion_click`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

from ...labels import BACKGROUND, LIVER, TUMOUR, bounding_box
from ..labelmap import Change, Click, LabelMap
from .common import (
    EXTEND_MM,
    LESION_ROI_MM,
    ClickEdit,
    Deferred,
    _alongside,
    _component_at,
    _core,
    _depth_at,
    _DrawnLesions,
    _face_dilated,
    _fill_holes,
    _full_grid,
    _in_box,
    _inside,
    _labelled,
    _mm_from,
    _near_liver,
    _roi,
    _sphere_radius,
    _sub_box,
    _thinned_walk,
    check_voxel,
)
from .lesion_extend import extend_lesion
from .new_lesion import CLEAR_HU, SURELY_FAINT_HU, _contrast_to_liver, lesion_region

LEARNED_FIRST = False  # positive lesion clicks: the classical region first, the click net where it adds nothing
CLICK_SEED_MM = 3.0  # on a lesion earlier clicks made, a ball of this radius seeds each click (a negative one at most)


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
    (:func:`extend_lesion`) where that region is faint and runs into it (first, where the click shows no contrast
    beside a drawn lesion, or its region surely continues one), and, where neither adds anything, the click net
    (:class:`~livseg_gui.segment.click_net.ClickNet`); ``learned_first`` puts the net first (compared in
    benchmarks/bench_clicks.py). ``previous`` are the clicks behind the current labels (``LabelMap.clicks``): a
    negative click keeps what earlier positive clicks asked for.
    """
    check_voxel(voxel, labels.shape)
    if positive:
        # The extension of a drawn lesion beside the click is often what the click gets (a region of its own is faint
        # or continues that lesion): it is computed on a second core while the click's own region is sought (their
        # scipy and numpy steps release the GIL). A click farther than EXTEND_MM from any lesion costs it a few ms.
        drawn_in = _DrawnLesions(labels, spacing, voxel)
        extension = _alongside(lambda: extend_lesion(hu, labels, spacing, voxel, probability, drawn_in))
        # A click without contrast (or surely faint), in the liver beside a drawn lesion (within its radius), is that
        # lesion's missed part: the extension comes first, and only where it adds nothing is the click's own region
        # sought in full (the strongest edge around it: ~80 ms; ~160 ms on 1 mm slices).
        found = None
        classical_first = not (click_net is not None and learned_first)
        # A region of the click's own that continues a drawn lesion and is surely faint, or of the other sign, before
        # its outline is snapped to edges is that lesion's missed part once snapped too (below; so were all 12 such
        # regions of the benchmark's sets at the slices' own thickness and at 1 mm): the extension is tried first,
        # and the snap (~30-85 ms on 1 mm slices) only where the extension adds nothing.
        defer_if = partial(_continues_surely_faintly, drawn_in) if classical_first else None
        if classical_first and _in_liver_beside_drawn(labels, spacing, voxel, drawn_in):
            found = lesion_region(hu, labels, spacing, voxel, probability, contrast_only=True, defer_if=defer_if)
            if found is None and _adds(extended := extension(), labels):
                return ClickEdit("click lesion + (extend)", *extended, TUMOUR)
        if found is None:
            found = lesion_region(hu, labels, spacing, voxel, probability, defer_if=defer_if)
        if isinstance(found, Deferred):
            if _adds(extended := extension(), labels):
                return ClickEdit("click lesion + (extend)", *extended, TUMOUR)
            found = found.finish()
        region = found if _adds(found, labels) else None
        # A faint region at a lesion already drawn (running into it, or clicked within the lesion's radius of it)
        # is that lesion's missed part: beside it the click says "it goes on to here", which the extension
        # follows better (an isodense part has no edge to threshold). A region of clear contrast (>= 20 HU) is a
        # lesion of its own outline, and a fragment drawn inside it does not change that; nor does a drawn lesion
        # farther from the click than its own radius (+3 mm).
        drawn = None if region is None else _continues_drawn(*region, labels, spacing, voxel, drawn_in)
        beside = drawn is not None and _faint_or_unlike(hu[region[0]], labels[region[0]], region[1], drawn)
        tries = [("click lesion +", lambda: None if beside else region),
                 ("click lesion + (extend)", extension),
                 ("click lesion +", lambda: region)]
        if click_net is not None:
            learned = lambda: learned_lesion_region(click_net, hu, labels, spacing, voxel)  # noqa: E731
            tries.insert(0 if learned_first else 3, ("click lesion + (net)", learned))
        for name, attempt in tries:
            if _adds(found := attempt(), labels):
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
            seeds[part & (_mm_from(part.shape, k, sp) <= CLICK_SEED_MM)] = 1
        # The click's seed reaches no deeper into the lesion than the click lies (CLICK_SEED_MM at most, the
        # voxel's largest side at least): a click in a rim the positive click overdrew says that rim is wrong, not
        # the lesion beneath it. A 3 mm ball there seeded the lesion's own edge: of 21 such clicks on lits-117-roi's
        # small lesions from scratch, 58 % of the voxels they flipped were flipped right; now 66 %.
        seeds[part & (to_click <= min(CLICK_SEED_MM, max(_depth_at(part, local, to_click, sp), sp.max())))] = 2
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
    return ClickEdit("click lesion -", box, region, _liver_or_background(labels, box, region, sp),
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
    if abs(_contrast_to_liver(hu[box], labels[box], outline)) < CLEAR_HU:
        return None
    return part & ~outline


def _adds(found: tuple[tuple, np.ndarray] | None, labels: np.ndarray) -> bool:
    """Whether a tool's (box, region) adds tumour the labels do not have yet. Looked at within the region's own bounding
    box: over a click's whole 12 cm box on 1 mm slices it took ~7 ms, and a click asks up to three times."""
    if found is None or (within := bounding_box(found[1])) is None:
        return False
    return bool((found[1][within] & (labels[_sub_box(found[0], within)] != TUMOUR)).any())


def _in_liver_beside_drawn(labels: np.ndarray, spacing, voxel, drawn_in: _DrawnLesions | None = None) -> bool:
    """Whether a positive click lies in the liver and continues the drawn lesion nearest it (:func:`_continues_drawn`
    for that lesion alone: within EXTEND_MM, and within its radius + 3 mm)."""
    ijk = tuple(np.round(np.asarray(voxel, float)).astype(int))
    if labels[ijk] != LIVER:
        return False
    box = _roi(ijk, LESION_ROI_MM, spacing, labels.shape)
    return _continues_drawn(box, None, labels, spacing, voxel, drawn_in) is not None


def _continues_drawn(box, region: np.ndarray | None, labels: np.ndarray, spacing, voxel,
                     drawn_in: _DrawnLesions | None = None) -> np.ndarray | None:
    """The drawn lesions (a mask over ``box``) a positive click continues, or None: the lesions ``region`` (over
    ``box``; None: no region yet) touches, with the one nearest the click (within EXTEND_MM), when they reach within
    their own equivalent radius (+3 mm) of the click. ``drawn_in`` labels the drawn lesions (once per box for a click).

    Only then can the click mean "that lesion goes on to here". A click 14 mm from a 4 mm fragment the model drew in a
    57 mL isodense lesion (radct-1720) is a click on a lesion of its own; one in the fainter rim around a drawn core
    (ircadb-17) continues that lesion even where the rim's own region, a few noisy voxels, stops short of it.
    """
    sp = np.asarray(spacing, float)
    if (found := _DrawnLesions.of(drawn_in, labels, sp, voxel)(box)) is None:
        return None
    near, comp, drawn, to_click = found  # the drawn lesions, within their bounding box in ``box``
    ids = {int(comp[tuple(drawn[np.argmin(to_click)])])} if to_click.min() <= EXTEND_MM else set()
    if region is not None and region.any():
        around = bounding_box(region, margin=1)
        touching = _in_box(around, _face_dilated(region[around], 1), near)  # face-connected
        ids |= set(np.unique(comp[touching]).tolist()) - {0}
    if not ids:
        return None
    mine = np.isin(comp[tuple(drawn.T)], list(ids))
    if float(to_click[mine].min()) > _sphere_radius(mine.sum(), sp) + 3.0:
        return None
    out = np.zeros(tuple(s.stop - s.start for s in box), bool)
    out[near] = np.isin(comp, list(ids))
    return out


def _faint_or_unlike(hu: np.ndarray, lab: np.ndarray, region: np.ndarray, drawn: np.ndarray,
                     below: float = CLEAR_HU, contrast: float | None = None) -> bool:
    """Whether a positive click's ``region`` beside the ``drawn`` lesions it continues is their missed part rather than
    a lesion of its own outline: faint (``below`` HU to the liver), or of the other sign than those lesions (others in
    the box, a bright one beside a dark one, do not count). A bright vessel running through a dark metastasis
    (ircadb-17: +304 HU in a -50 HU lesion) is the lesion's inside to the annotator, yet its own region is the vessel
    alone. ``contrast``: the region's, where known (:func:`_contrast_to_liver`)."""
    contrast = _contrast_to_liver(hu, lab, region) if contrast is None else contrast
    return abs(contrast) < below or contrast * _contrast_to_liver(hu, lab, drawn) < 0


def _continues_surely_faintly(drawn_in: _DrawnLesions, hu: np.ndarray, lab: np.ndarray, sp: np.ndarray, voxel, box,
                              region: np.ndarray, contrast: Callable[[], float]) -> bool:
    """Whether the contrast's region of a positive click (over ``box`` of the grid its tool saw: CT ``hu``, labels
    ``lab``, spacing ``sp``, the click at ``voxel``), before its outline is snapped, continues drawn lesions
    (:func:`_continues_drawn`) and is surely their missed part: under SURELY_FAINT_HU to the liver (``contrast()``; a
    threshold's region under it stays under CLEAR_HU once snapped), or of the other sign. ``drawn_in``: the click's
    drawn lesions, reused where the tool saw the label map itself (slices not merged)."""
    drawn = _continues_drawn(box, region, lab, sp, voxel, drawn_in)
    return drawn is not None and _faint_or_unlike(hu[box], lab[box], region, drawn, SURELY_FAINT_HU, contrast())


def _liver_or_background(labels: np.ndarray, box, region: np.ndarray, spacing: np.ndarray,
                         reach_mm: float = 30.0) -> np.ndarray:
    """What removed tumour (``region``, over ``box``) goes back to: liver inside the liver's local outline (in each
    slice, the convex hull of the liver within ``reach_mm`` of the box), background where it stuck out of the liver.
    Over ``box``, decided at ``region``'s voxels only (background elsewhere): testing every pixel of the box against
    each slice's hull took ~75 ms of a 1 mm negative click's ~120 ms here."""
    pad = np.ceil(reach_mm / spacing).astype(int)
    pad[2] = 0
    near = tuple(slice(max(0, b.start - p), min(n, b.stop + p)) for b, p, n in zip(box, pad, labels.shape))
    liver = labels[near] == LIVER
    # A slice's hull is that of each row's first and last liver pixel: a few hundred points instead of the liver's
    # outline (its erosion, ~40 ms on a 1 mm click's box, and a larger hull to build).
    rows = liver.any(axis=1)
    first = np.argmax(liver, axis=1)
    last = liver.shape[1] - 1 - np.argmax(liver[:, ::-1], axis=1)
    offset = np.array([b.start - q.start for b, q in zip(box, near)])
    out = np.full(region.shape, BACKGROUND, np.uint8)
    for k in np.flatnonzero(region.any(axis=(0, 1))):
        z = k + offset[2]
        x = np.flatnonzero(rows[:, z])
        pts = np.concatenate([np.stack([x, first[x, z]], 1), np.stack([x, last[x, z]], 1)])
        if len(pts) < 3 or np.linalg.matrix_rank(pts - pts[0]) < 2:
            continue
        hull = ConvexHull(pts).equations  # rows (a, b, c): a x + b y + c <= 0 inside
        at = np.argwhere(region[:, :, k])
        inside = (((at + offset[:2]) @ hull[:, :2].T + hull[:, 2]) <= 1e-9).all(axis=1)
        out[at[inside, 0], at[inside, 1], k] = LIVER
    return out


def lesion_click(lm: LabelMap, hu: np.ndarray, spacing, voxel, positive: bool = True, probability=None,
                 click_net=None) -> Change | None:
    """:func:`plan_lesion_click` applied at once: one undoable change, or None."""
    edit = plan_lesion_click(lm.data, hu, spacing, voxel, positive, probability, click_net)
    return edit.apply(lm) if edit is not None else None
