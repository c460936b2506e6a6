"""One-click corrections: a lesion from one click, a missed liver part grown in, a leak cut off. No Qt.

Each click is planned without touching the label map (:class:`ClickEdit`, so a worker can plan it) and
applied as one undoable change (``LabelMap.apply``): undo, autosave and the lesion panel treat it like
a brush stroke.

- Lesion, positive click: first the classical region -- the tumour net's probability (kept from the
  last segmentation) grown by hysteresis from the click when the net saw something there, otherwise the
  lesion's own contrast to the surrounding liver (brighter or darker), thresholded half-way, restricted
  to the liver, opened to cut thin vessel bridges, and tightened until it stays inside a local region
  around the click; where that adds nothing, the click net (``segment.click_net``). Which goes first
  was chosen with benchmarks/bench_clicks.py.
- Lesion, negative click: a whole false lesion goes back to liver; on a large lesion clicked away from
  its core, the click net redraws it from its core without the clicked part (without the net, the part
  nearer the click than the core goes).
- Liver, positive click: the region of the click's intensity (+/- 2.5 sigma) connected to it within
  60 mm, opened, added to the liver.
- Liver, negative click: erode the liver until the clicked part separates from the main body (the
  narrowest connection breaks first), then remove every liver voxel nearer that part than the body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..labels import BACKGROUND, LIVER, TUMOUR
from .labelmap import Change, LabelMap

LESION_ROI_MM = 60.0  # half-size of the region a lesion click looks at: lesions up to ~10 cm
LIVER_ROI_MM = 60.0
LEARNED_FIRST = False  # positive lesion clicks: the classical region first, the click net where it adds nothing
STRUCT26 = np.ones((3, 3, 3), bool)


def _roi(center, half_mm: float, spacing, shape) -> tuple[slice, slice, slice]:
    half = np.ceil(half_mm / np.asarray(spacing, float)).astype(int)
    c = np.round(np.asarray(center, float)).astype(int)
    return tuple(slice(max(0, ci - h), min(n, ci + h + 1)) for ci, h, n in zip(c, half, shape))


def _ball(radius_mm: float, spacing) -> np.ndarray:
    """A ball of ``radius_mm`` on the voxel grid; one voxel thick along axes coarser than the radius
    (a 1.5 mm ball must not become a 15 mm tall one on 5 mm slices)."""
    r = np.floor(radius_mm / np.asarray(spacing, float)).astype(int)
    g = np.ogrid[tuple(slice(-ri, ri + 1) for ri in r)]
    return sum((gi * s) ** 2 for gi, s in zip(g, spacing)) <= radius_mm**2


def _component_at(mask: np.ndarray, local: np.ndarray, spacing, search_mm: float = 3.0) -> np.ndarray:
    """The 26-connected component of ``mask`` at ``local`` (or the nearest one within ``search_mm``)."""
    comp, n = ndimage.label(mask, structure=STRUCT26)
    if n == 0:
        return np.zeros_like(mask)
    idx = comp[tuple(local)]
    if idx == 0:
        pts = np.argwhere(comp > 0)
        d = np.sqrt((((pts - local) * spacing) ** 2).sum(1))
        if d.min() > search_mm:
            return np.zeros_like(mask)
        idx = comp[tuple(pts[np.argmin(d)])]
    return comp == idx


@dataclass
class ClickEdit:
    """What a click will change, computed without touching the label map (so a worker thread can plan it
    while the GUI stays responsive); :meth:`apply` makes it one undoable change."""

    name: str
    box: tuple[slice, slice, slice]
    region: np.ndarray  # bool, shape of the box
    value: int
    only: Callable[[np.ndarray], np.ndarray] | None = None  # which current labels may change

    def apply(self, lm: LabelMap) -> Change | None:
        new = lm.data[self.box].copy()
        target = self.region if self.only is None else self.region & self.only(new)
        new[target] = self.value
        return lm.apply(self.name, self.box, new)


def lesion_region(hu: np.ndarray, labels: np.ndarray, spacing, voxel, probability=None) -> tuple[tuple, np.ndarray]:
    """(box, mask) of the lesion under a positive click; mask may be empty."""
    sp = np.asarray(spacing, float)
    box = _roi(voxel, LESION_ROI_MM, sp, hu.shape)
    local = np.round(np.asarray(voxel, float)).astype(int) - [s.start for s in box]
    lab = labels[box]
    liver = lab >= LIVER
    allowed = ndimage.binary_dilation(liver, iterations=2) if liver.sum() > 1000 else np.ones_like(liver)
    if probability is not None:
        p = probability.crop(box)
        if p is not None and p[tuple(local)] >= 0.15:
            region = _component_at((p >= max(0.1, 0.4 * p[tuple(local)])) & allowed, local, sp)
            if region.any():
                return box, ndimage.binary_fill_holes(region)
    img = ndimage.gaussian_filter(hu[box].astype(np.float32), sigma=2.0 / sp)  # 2 mm: CT noise is ~10-20 HU
    dist = np.sqrt(sum(((g - c) * s) ** 2 for g, c, s in zip(np.ogrid[tuple(slice(0, n) for n in img.shape)], local, sp)))
    seed = float(np.median(img[dist <= 2.5]))
    # The parenchyma around it: the liver in the region (it outweighs even a large lesion), else a soft-tissue shell.
    known = lab == TUMOUR  # tumour already drawn: neither parenchyma nor evidence for this click's extent
    if liver.sum() > 1000:
        ring = liver & ~known & (dist > 5)
    else:
        ring = (dist >= 15) & (dist <= 40) & (img > -100) & (img < 300)
    if ring.sum() < 50:
        return box, np.zeros(img.shape, bool)
    background = float(np.median(img[ring]))
    contrast = seed - background
    if abs(contrast) < 5.0:
        return box, np.zeros(img.shape, bool)
    side = (img - background) * np.sign(contrast) >= 0.5 * abs(contrast)
    # Shape prior: the lesion's radius is where, shell by shell, most voxels stop looking like the seed;
    # the region may not reach far beyond it, which stops leaks along vessels and noisy parenchyma.
    radius = LESION_ROI_MM
    for r in np.arange(2.0, LESION_ROI_MM, 2.0):
        shell = (dist >= r) & (dist < r + 2.0) & allowed & ~known
        if shell.any() and side[shell].mean() < 0.4:
            radius = r
            break
    region = side & allowed & (dist <= 1.3 * radius + 2.0)
    region = _component_at(ndimage.binary_opening(region, structure=_ball(1.5, sp)), local, sp)
    if not region.any() or (region & (dist > LESION_ROI_MM - 2 * sp.max())).any():
        return box, np.zeros(img.shape, bool)  # it reached the edge of the region: not a lesion-like blob
    return box, ndimage.binary_fill_holes(region)


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
    if liver.sum() > 1000:
        mask &= ndimage.binary_dilation(liver, iterations=2)
    local = ijk - [s.start for s in box]
    return box, ndimage.binary_fill_holes(_component_at(mask, local, np.asarray(spacing, float)))


def plan_lesion_click(labels: np.ndarray, hu: np.ndarray, spacing, voxel, positive: bool = True, probability=None,
                      click_net=None, learned_first: bool = LEARNED_FIRST) -> ClickEdit | None:
    """Add the lesion under a positive click, or remove (part of) the false lesion under a negative one.

    A positive click tries the classical region (the tumour net's probability, else the lesion's contrast)
    and, where that finds nothing new, the click net (:class:`~livseg_gui.segment.click_net.ClickNet`);
    ``learned_first`` swaps the order (compared in benchmarks/bench_clicks.py).
    """
    check_voxel(voxel, labels.shape)
    if positive:
        tries = [lambda: lesion_region(hu, labels, spacing, voxel, probability)]
        if click_net is not None:
            learned = lambda: learned_lesion_region(click_net, hu, labels, spacing, voxel)  # noqa: E731
            tries.insert(0 if learned_first else 1, learned)
        for attempt in tries:
            box, region = attempt()
            if (region & (labels[box] != TUMOUR)).any():  # it adds something
                return ClickEdit("click lesion +", box, region, TUMOUR)
        return None
    ijk = tuple(np.round(np.asarray(voxel, float)).astype(int))
    if labels[ijk] != TUMOUR:
        return None
    sp = np.asarray(spacing, float)
    near = _roi(ijk, 1.5 * LESION_ROI_MM, sp, labels.shape)  # labelling the whole CT would cost ~0.5 s
    comp, _ = ndimage.label(labels[near] == TUMOUR, structure=STRUCT26)
    at = tuple(i - s.start for i, s in zip(ijk, near))
    obj = ndimage.find_objects(comp)[comp[at] - 1]
    box = tuple(slice(o.start + s.start, o.stop + s.start) for o, s in zip(obj, near))
    part = comp[obj] == comp[at]
    depth = ndimage.distance_transform_edt(np.pad(part, 1), sampling=sp)[1:-1, 1:-1, 1:-1]
    core = np.array(np.unravel_index(int(np.argmax(depth)), part.shape))
    local = np.array(ijk) - [s.start for s in box]
    pts = np.indices(part.shape).reshape(3, -1).T
    to_click = np.sqrt((((pts - local) * sp) ** 2).sum(1)).reshape(part.shape)
    to_core = np.sqrt((((pts - core) * sp) ** 2).sum(1)).reshape(part.shape)
    # A click at a lesion's middle means "no lesion here": all of it goes. With the click net, only a click on
    # the core itself does; elsewhere the net decides what stays (a merged false part is often widest there).
    core_zone = 2 * sp.max() if click_net is not None else 0.5 * depth.max() + 2 * sp.max()
    whole = part.sum() * np.prod(sp) / 1000.0 < 1.0 or to_core[tuple(local)] < core_zone
    region = part if whole else part & (to_click < to_core)
    if not whole and click_net is not None:
        # The net redraws the lesion from its core (positive) and the click (negative); what it leaves out goes.
        kept = _in_box(*click_net.segment(hu, sp, labels, positive=(core + [s.start for s in box])[None],
                                          negative=np.array(ijk)[None]), box)
        if not kept[tuple(local)] and kept[tuple(core)]:
            region = part & ~kept
    return ClickEdit("click lesion -", box, region, LIVER, only=lambda cur: cur == TUMOUR)


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
        img = ndimage.gaussian_filter(hu[box].astype(np.float32), sigma=1.0 / sp)
        near = _ball(3.0, sp)
        c = [slice(max(0, li - n // 2), li + n // 2 + 1) for li, n in zip(local, near.shape)]
        vals = img[tuple(c)].ravel()
        mu, sigma = float(np.median(vals)), max(10.0, float(vals.std()))
        band = (np.abs(img - mu) <= 2.5 * sigma) & (labels[box] == BACKGROUND)
        band[tuple(local)] = True
        region = _component_at(ndimage.binary_opening(band, structure=_ball(2.0, sp)), local, sp)
        if not region.any():
            return None
        return ClickEdit("click liver +", box, region, LIVER, only=lambda cur: cur == BACKGROUND)
    if labels[tuple(ijk)] < LIVER:
        return None
    liver_full = labels >= LIVER
    zs = np.flatnonzero(liver_full.any(axis=(0, 1)))
    xs = np.flatnonzero(liver_full.any(axis=(1, 2)))
    ys = np.flatnonzero(liver_full.any(axis=(0, 2)))
    box = (slice(xs[0], xs[-1] + 1), slice(ys[0], ys[-1] + 1), slice(zs[0], zs[-1] + 1))
    liver = liver_full[box]
    local = ijk - [s.start for s in box]
    # Work on a ~3 mm grid: the narrowest connection is found in a fraction of a second.
    step = np.maximum(1, np.round(3.0 / sp)).astype(int)
    small = liver[:: step[0], :: step[1], :: step[2]]
    s_local = np.minimum(local // step, np.array(small.shape) - 1)
    for k in range(1, 8):
        eroded = ndimage.binary_erosion(small, iterations=k)
        comp, n = ndimage.label(eroded, structure=STRUCT26)
        if n < 2:
            continue
        sizes = np.bincount(comp.ravel())[1:]
        body = int(np.argmax(sizes)) + 1
        pts = np.argwhere(comp > 0)
        nearest = comp[tuple(pts[np.argmin(((pts - s_local) ** 2).sum(1))])]
        if nearest == body:
            continue
        d_leak = ndimage.distance_transform_edt(comp != nearest)
        d_body = ndimage.distance_transform_edt(comp != body)
        nearer = d_leak < d_body  # decided on the coarse grid everywhere, applied to the full-resolution liver
        leak = np.repeat(np.repeat(np.repeat(nearer, step[0], 0), step[1], 1), step[2], 2)
        leak = leak[: liver.shape[0], : liver.shape[1], : liver.shape[2]] & liver
        return ClickEdit("click liver - (cut leak)", box, leak, BACKGROUND)
    return None


def lesion_click(lm: LabelMap, hu: np.ndarray, spacing, voxel, positive: bool = True, probability=None,
                 click_net=None) -> Change | None:
    """:func:`plan_lesion_click` applied at once: one undoable change, or None."""
    edit = plan_lesion_click(lm.data, hu, spacing, voxel, positive, probability, click_net)
    return edit.apply(lm) if edit is not None else None


def liver_click(lm: LabelMap, hu: np.ndarray, spacing, voxel, positive: bool = True) -> Change | None:
    """:func:`plan_liver_click` applied at once: one undoable change, or None."""
    edit = plan_liver_click(lm.data, hu, spacing, voxel, positive)
    return edit.apply(lm) if edit is not None else None
