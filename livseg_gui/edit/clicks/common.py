"""What the click tools share: the planned edit (:class:`ClickEdit`), boxes and distances in mm, smoothing,
masks' components, hulls and holes, the lesion tools' random walk on a thinned grid, and the helper threads that
compute what a click may need on a second core (:func:`_alongside`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from typing import TypeVar

import numpy as np
from scipy import ndimage

from ...labels import TUMOUR, bounding_box
from ..labelmap import Change, Click, LabelMap
from ..random_walk import random_walk

T = TypeVar("T")

LESION_ROI_MM = 60.0  # half-size of the region a lesion click looks at: lesions up to ~10 cm
EXTEND_MM = 15.0  # a positive click this close to a lesion extends it rather than seeking a new one
LESION_WALK_VOXELS = 120_000  # the lesion walks run on an in-plane grid thinned to about this many voxels
STRUCT26 = np.ones((3, 3, 3), bool)
IN_PLANE8 = np.pad(np.ones((3, 3, 1), bool), ((0, 0), (0, 0), (1, 1)))  # 8-neighbours within a slice


def _roi(center, half_mm: float, spacing, shape) -> tuple[slice, slice, slice]:
    half = np.ceil(half_mm / np.asarray(spacing, float)).astype(int)
    c = np.round(np.asarray(center, float)).astype(int)
    return tuple(slice(max(0, ci - h), min(n, ci + h + 1)) for ci, h, n in zip(c, half, shape))


def _c_ordered(labels: np.ndarray) -> np.ndarray:
    """A C-ordered copy of a box of the (Fortran-ordered) label map, for a click's arrays (all C-ordered: operations
    mixing the two orders stride through memory), copied 8 slices at a time: numpy's transposing copy of a 1 mm
    click's 163x163x121 box of bytes took ~17 ms in one go, ~5 ms in slabs."""
    out = np.empty(labels.shape, labels.dtype)
    for z in range(0, labels.shape[2], 8):
        out[:, :, z:z + 8] = labels[:, :, z:z + 8]
    return out


def _mm_from(shape, point, spacing) -> np.ndarray:
    """Distance in mm from every voxel of a grid of ``shape`` to ``point`` (voxel indices)."""
    g = np.ogrid[tuple(slice(0, n) for n in shape)]
    return np.sqrt(sum(((gi - c) * s) ** 2 for gi, c, s in zip(g, point, spacing)))


def _depth(mask: np.ndarray, spacing) -> np.ndarray:
    """Distance (mm) of each voxel of ``mask`` to its border, the box's edge counting as border."""
    return ndimage.distance_transform_edt(np.pad(mask, 1), sampling=spacing)[1:-1, 1:-1, 1:-1]


def _depth_at(part: np.ndarray, at: np.ndarray, to_at: np.ndarray, sp: np.ndarray) -> float:
    """mm from the voxel ``at`` of ``part`` to the nearest voxel outside it, the box's edge counting as outside (what
    :func:`_depth` gives there), from ``to_at`` (mm from ``at`` over the box): no distance map of the part."""
    faces = float(min(((np.asarray(at) + 1) * sp).min(), ((np.array(part.shape) - at) * sp).min()))
    outside = to_at[~part]
    return min(faces, float(outside.min())) if outside.size else faces


def _core(mask: np.ndarray, spacing) -> tuple[np.ndarray, float]:
    """(index, depth in mm) of the deepest voxel of ``mask``; found on an in-plane grid thinned to about
    250k voxels (a large lesion's distance map would cost ~50 ms at full resolution)."""
    sp = np.asarray(spacing, float)
    k = max(1, int(np.ceil(np.sqrt(mask.size / 250_000))))
    depth = _depth(mask[::k, ::k, :], sp * [k, k, 1])
    at = np.array(np.unravel_index(int(np.argmax(depth)), depth.shape)) * [k, k, 1]
    return at, float(depth.max())


def _smooth(hu: np.ndarray, sigma, within: np.ndarray | None = None, truncate: float = 4.0, step=1,
            alongside: bool = False) -> np.ndarray:
    """Gaussian smoothing (float32), thinned by ``step`` per axis as :func:`_gaussian_thinned` does; with ``within``,
    a normalised convolution over those voxels only, so a mask's border keeps its inside's HU instead of a blend with
    what lies outside it (far from the mask, where nothing is left to average, the CT as it is). With ``alongside``,
    the mask's own smoothing runs on the second core meanwhile (:func:`_alongside`): a lesion click's 12 cm box
    smoothed within soft tissue on 1 mm slices, ~120 ms in turn, took ~50 ms less."""
    if within is None:
        return _gaussian_thinned(hu, sigma, step, truncate)
    w = within.astype(np.float32)
    smoothed_mask = partial(_gaussian_thinned, w, sigma, step, truncate)
    norm_of = _alongside(smoothed_mask) if alongside else smoothed_mask
    img = _gaussian_thinned(hu * w, sigma, step, truncate)
    norm = norm_of()
    img = img / np.maximum(norm, 1e-3)
    thin = tuple(slice(None, None, st) for st in np.broadcast_to(np.asarray(step, int), (hu.ndim,)))
    return np.where(norm >= 0.1, img, hu[thin]).astype(np.float32)


def _gaussian(img: np.ndarray, sigma, truncate: float = 4.0, thin=(slice(None),) * 3) -> np.ndarray:
    """``ndimage.gaussian_filter(img.astype(np.float32), sigma, truncate=truncate)[thin]``, bit for bit, with each
    axis thinned as soon as it is filtered: the later axes filter a k-th (k-squared-th) of the voxels. The CT is read
    as it is (scipy filters every line in float64 either way): a copy in float32 first cost a 1 mm edge walk's
    smoothing ~7 of its ~28 ms."""
    sigma = np.broadcast_to(np.asarray(sigma, float), (img.ndim,))
    for axis in range(img.ndim):
        if sigma[axis] > 1e-15:  # as gaussian_filter: an axis of no width is left as it is
            img = ndimage.gaussian_filter1d(img, sigma[axis], axis=axis, truncate=truncate, output=np.float32)
        img = img[(slice(None),) * axis + (thin[axis],)]
    return img.astype(np.float32, copy=False)


def _gaussian_thinned(img: np.ndarray, sigma, step, truncate: float = 4.0) -> np.ndarray:
    """About ``ndimage.gaussian_filter(img, sigma, truncate=truncate)[::step]`` (float32), at a third of its cost:
    an axis thinned by 2 is first filtered by the triangle (1/4, 1/2, 1/4) at the voxels it keeps only (variance
    1/2), then every axis gets the rest of the Gaussian's variance on the thinned grid. Inside the volume it differs
    from the Gaussian by under a HU on CT (the triangle is nearly one); a region tool's smoothing of a liver at
    0.8 mm took ~0.25 s exactly. Other steps are smoothed, then thinned (:func:`_gaussian`)."""
    sigma = np.array(np.broadcast_to(np.asarray(sigma, float), (img.ndim,)))
    step = np.broadcast_to(np.asarray(step, int), (img.ndim,))
    img = img.astype(np.float32, copy=False)
    thin = [slice(None, None, st) for st in step]
    for axis, (s, st) in enumerate(zip(sigma, step)):
        if st == 2 and s * s > 0.5 and img.shape[axis] > 1:
            img = _triangle_thinned(img, axis)
            sigma[axis], thin[axis] = np.sqrt(s * s - 0.5) / 2, slice(None)
    return _gaussian(img, sigma, truncate, tuple(thin))


def _triangle_thinned(img: np.ndarray, axis: int) -> np.ndarray:
    """``ndimage.correlate1d(img, (1/4, 1/2, 1/4), axis, mode="reflect")[::2]`` along ``axis``, computed at the kept
    voxels only (a tenth of correlate1d's time, whose per-line overhead dominates a three-tap filter)."""
    a = np.moveaxis(img, axis, 0)
    even, odd = a[0::2], a[1::2]
    left = np.concatenate([a[:1], odd[: len(even) - 1]])  # a[2i - 1]; before the first voxel, itself (reflect)
    right = odd if len(odd) == len(even) else np.concatenate([odd, a[-1:]])  # a[2i + 1]; past the last, itself
    out = 0.5 * even + 0.25 * left + 0.25 * right
    return np.moveaxis(out.astype(np.float32, copy=False), 0, axis)


def _thinned_reach(sigma: float, step: int, truncate: float = 4.0) -> int:
    """How far (voxels of the full grid) :func:`_gaussian_thinned` reads beyond a kept voxel along one axis."""
    if step == 2 and sigma * sigma > 0.5:
        return 1 + 2 * int(truncate * np.sqrt(sigma * sigma - 0.5) / 2 + 0.5)
    return int(truncate * sigma + 0.5)


def _sphere_radius(voxels: int, sp: np.ndarray) -> float:
    """Radius (mm) of the sphere as large as ``voxels`` voxels of spacing ``sp``."""
    return float(np.cbrt(3 * voxels * np.prod(sp) / (4 * np.pi)))


def _ball(radius_mm: float, spacing) -> np.ndarray:
    """A ball of ``radius_mm`` on the voxel grid; one voxel thick along axes coarser than the radius
    (a 1.5 mm ball must not become a 15 mm tall one on 5 mm slices)."""
    r = np.floor(radius_mm / np.asarray(spacing, float)).astype(int)
    g = np.ogrid[tuple(slice(-ri, ri + 1) for ri in r)]
    return sum((gi * s) ** 2 for gi, s in zip(g, spacing)) <= radius_mm**2


def _ball_rows(radius_mm: float, spacing) -> list[tuple[tuple[int, int], int]]:
    """:func:`_ball` as rows along the first axis: each row's (second, third axis) offset from the centre and its
    half-width."""
    ball = _ball(radius_mm, spacing)
    centre = np.array(ball.shape[1:]) // 2
    return [((int(j - centre[0]), int(k - centre[1])), int(ball[:, j, k].sum()) // 2)
            for j, k in np.ndindex(*ball.shape[1:]) if ball[:, j, k].any()]


def _shifted(d: tuple[int, int], shape) -> tuple[tuple, tuple]:
    """(into, source) slices: ``out[into] = a[source]`` is ``out[p] = a[p + d]`` (``d`` along the last two axes) where
    ``p + d`` lies within ``shape``."""
    def span(start: int, stop: int) -> slice:
        return slice(start, max(start, stop))  # empty where the shift leaves the box (a negative stop would wrap)

    into = (slice(None),) + tuple(span(max(0, -di), n - max(0, di)) for di, n in zip(d, shape[1:]))
    source = (slice(None),) + tuple(span(max(0, di), n - max(0, -di)) for di, n in zip(d, shape[1:]))
    return into, source


def _running(op: np.ufunc, u: np.ndarray, w: int, axis: int = 0) -> np.ndarray:
    """The running maximum (``op`` np.bitwise_or) or minimum (np.bitwise_and) of a bool or 0/1 uint8 array over
    2 ``w`` + 1 voxels along ``axis``, beyond the array counting as 0: ``ndimage.maximum_filter1d`` /
    ``minimum_filter1d`` with mode="constant", bit for bit, as shifted ORs / ANDs. The filters walk the first axis
    across memory: on a 111x111x83 box ~3.3 ms a filter, ~0.1-0.3 ms so for w <= 4."""
    out = u.copy()
    src, dst = np.moveaxis(u, axis, 0), np.moveaxis(out, axis, 0)
    n = src.shape[0]
    for shift in range(1, min(w, n - 1) + 1):  # a shift past the array's end meets nothing of it
        op(dst[shift:], src[:n - shift], out=dst[shift:])
        op(dst[:n - shift], src[shift:], out=dst[:n - shift])
    if op is np.bitwise_and:  # windows reaching beyond the array meet its 0s
        dst[:w] = 0
        dst[max(n - w, 0):] = 0
    return out


def _eroded(mask: np.ndarray, radius_mm: float, spacing) -> np.ndarray:
    """``ndimage.binary_erosion(mask, _ball(radius_mm, spacing))``, bit for bit (the box's edge counts as background),
    from 1-D minimum filters: the ball as rows along the first axis, each row width filtered once, each row's result
    shifted onto the voxel and ANDed. A 1.5 mm ball on 0.74 x 0.74 x 1 mm voxels is 31 voxels; opening a 1 mm lesion
    click's threshold (111x111x83) took ~50 ms with binary_opening, ~20 ms so."""
    rows = _ball_rows(radius_mm, spacing)
    u = mask.view(np.uint8)
    mins = {w: _running(np.bitwise_and, u, w) for w in {w for _, w in rows}}
    out = np.ones(u.shape, np.uint8)
    for d, w in rows:
        into, source = _shifted(d, u.shape)
        row = np.zeros(u.shape, np.uint8)  # beyond the box: background
        row[into] = mins[w][source]
        out &= row
    return out.view(bool)


def _dilated(mask: np.ndarray, radius_mm: float, spacing) -> np.ndarray:
    """``ndimage.binary_dilation(mask, _ball(radius_mm, spacing))``, bit for bit, from 1-D maximum filters (see
    :func:`_eroded`)."""
    rows = _ball_rows(radius_mm, spacing)
    u = mask.view(np.uint8)
    maxs = {w: _running(np.bitwise_or, u, w) for w in {w for _, w in rows}}
    out = np.zeros(u.shape, np.uint8)
    for (dy, dz), w in rows:
        into, source = _shifted((-dy, -dz), u.shape)
        out[into] |= maxs[w][source]
    return out.view(bool)


def _face_dilated(mask: np.ndarray, steps: int) -> np.ndarray:
    """``ndimage.binary_dilation(mask, iterations=steps)`` (face-neighbour steps), bit for bit, as shifted ORs (a step:
    the running maxima over 3 voxels along each axis, ORed): on a large lesion's box at 1 mm (106x106x96, three steps)
    ~2 instead of ~17 ms."""
    out = mask.copy()
    for _ in range(steps):
        out = np.bitwise_or.reduce([_running(np.bitwise_or, out, 1, axis) for axis in range(mask.ndim)])
    return out


def _opened(mask: np.ndarray, radius_mm: float, spacing) -> np.ndarray:
    """``ndimage.binary_opening(mask, _ball(radius_mm, spacing))``, bit for bit, at ~2.5x its speed (:func:`_eroded`)."""
    return _dilated(_eroded(mask, radius_mm, spacing), radius_mm, spacing)


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


class _DrawnLesions:
    """The drawn lesions in a positive click's boxes, labelled once per box: a click beside a drawn lesion asks about
    its 12 cm box up to three times (for the click, for its region, and for the extension of the lesion nearest it,
    which may run in another thread), each labelling ~25-45 ms on 1 mm slices. Thread-safe."""

    def __init__(self, labels: np.ndarray, spacing, voxel) -> None:
        self.labels, self.sp, self.voxel = labels, np.asarray(spacing, float), voxel
        self._known: dict[tuple, tuple | None] = {}
        self._lock = threading.Lock()

    def __call__(self, box) -> tuple | None:
        """(near, comp, voxels, to_click) of the drawn lesions in ``box``: their bounding box there, their
        26-connected components over it, their voxels (in ``near``) and each one's mm to the click; None without."""
        key = tuple((s.start, s.stop) for s in box)
        with self._lock:  # a second thread asking for the same box waits for the first's labelling
            if key not in self._known:
                found = _labelled(self.labels[box] == TUMOUR)
                if found is not None:
                    near, comp = found
                    voxels = np.argwhere(comp > 0)
                    found = near, comp, voxels, np.sqrt((((voxels - self._click_in(box, near)) * self.sp) ** 2).sum(1))
                self._known[key] = found
            return self._known[key]

    @classmethod
    def of(cls, known: _DrawnLesions | None, labels: np.ndarray, spacing, voxel) -> _DrawnLesions:
        """``known`` where ``labels`` is the label map it was read from, else the drawn lesions of ``labels`` (a tool's
        merged slices, or a caller that labelled none) around ``voxel``."""
        return known if known is not None and labels is known.labels else cls(labels, spacing, voxel)

    def _click_in(self, box, near) -> np.ndarray:
        """The click's index within ``near`` (a box within ``box``)."""
        return np.round(np.asarray(self.voxel, float)).astype(int) - [s.start + n.start for s, n in zip(box, near)]

    def nearest(self, box) -> np.ndarray | None:
        """The drawn lesion at the click, or else the one nearest it, over ``box``; None without one. The same voxels
        as ``_component_at(labels[box] == TUMOUR, click, spacing, search_mm=np.inf)``."""
        if (found := self(box)) is None:
            return None
        near, comp, voxels, to_click = found
        at = self._click_in(box, near)
        idx = comp[tuple(at)] if np.all((at >= 0) & (at < comp.shape)) else 0
        if idx == 0:
            idx = comp[tuple(voxels[np.argmin(to_click)])]
        out = np.zeros(tuple(s.stop - s.start for s in box), bool)
        out[near] = comp == idx
        return out


def _near_liver(liver: np.ndarray) -> np.ndarray:
    """Where a lesion may lie: the liver and two voxels beyond it in-plane (not along z: two 5 mm slices above
    the dome would be 10 mm of heart); anywhere when the box shows too little liver to go by."""
    if liver.sum() <= 1000:
        return np.ones_like(liver)
    # Two 8-neighbour steps in-plane: a 5x5 square, as two running maxima (a 12 cm box at 1 mm: ~28 ms as scipy's
    # filters, ~5 ms as shifted ORs).
    return _running(np.bitwise_or, _running(np.bitwise_or, liver.view(np.uint8), 2, axis=0), 2, axis=1).view(bool)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``binary_fill_holes`` within the mask's bounding box (it iterates over the whole array otherwise)."""
    out = np.zeros_like(mask)
    if mask.any():
        near = bounding_box(mask, margin=1)
        out[near] = ndimage.binary_fill_holes(mask[near])
    return out


@dataclass
class Deferred:
    """A tool's answer whose last, costly step is left until asked for (:meth:`finish`: the (box, region)), for a
    caller that may take another tool's answer instead."""

    finish: Callable[[], tuple[tuple, np.ndarray]]


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
        # Applied over the region's bounding box, not the whole box the click looked at: a lesion click's 12 cm box
        # is ~3M voxels on 1 mm slices, and comparing, recording and writing it all took ~50 ms of the GUI thread.
        near = bounding_box(self.region)
        if near is None:
            return None
        box = _sub_box(self.box, near)
        region = self.region[near]
        new = lm.data[box].copy(order="K")  # the label map's own (Fortran) order, which LabelMap.apply walks fastest
        target = region if self.only is None else region & self.only(new)
        new[target] = self.value[near][target] if isinstance(self.value, np.ndarray) else self.value
        return lm.apply(self.name, box, new, click=self.click)


CLICK_HELPER = "livseg-click"  # the thread that computes what a click may need alongside it
# ... and the one that computes, alongside the click helper's own work, a part of it that the rest does not wait on:
# the click's thread has most often found what it sought by then and waits for that work, so its core is free.
PART_HELPER = "livseg-part"  # not a prefix of the other's name, nor it of this one


def _alongside(fn: Callable[[], T], helper: str = CLICK_HELPER) -> Callable[[], T]:
    """``fn``'s result when asked for. Where this process has a second core, ``fn`` starts at once in the ``helper``
    thread (and runs to its end even if never asked for); with one core, or while that thread still runs something
    it was given earlier that was not asked for (queued behind it, the result would come later), it is computed
    when asked for."""
    last = _last_started.get(helper)
    if _cores() < 2 or (last is not None and not last.done()):
        return cache(fn)
    _last_started[helper] = _helper(helper).submit(fn)
    return _last_started[helper].result


_last_started: dict[str, Future] = {}  # what each helper thread was last given


@cache
def _cores() -> int:
    """The cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


@cache
def _helper(name: str = CLICK_HELPER) -> ThreadPoolExecutor:
    """The one thread of that name that computes what a click may need alongside it (:func:`_alongside`)."""
    return ThreadPoolExecutor(1, thread_name_prefix=name)


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
    img = _gaussian(hu, sigma / sp, thin=thin)
    at = np.minimum(np.asarray(at) // step, np.array(img.shape) - 1)
    seeds = seeds_on(thin, ssp, at)
    seeds[tuple(at)] = 1
    domain = within[thin] if within is not None else np.ones(img.shape, bool)
    return random_walk(img, domain, seeds, ssp) > 0.5, at, step, ssp


def check_voxel(voxel, shape) -> np.ndarray:
    """The click as integer canonical indices; ValueError when it lies outside the volume."""
    ijk = np.round(np.asarray(voxel, float)).astype(int)
    if ijk.shape != (3,) or np.any(ijk < 0) or np.any(ijk >= np.asarray(shape)):
        raise ValueError(f"click {tuple(int(v) for v in ijk)} is outside the volume {tuple(shape)}")
    return ijk


def _inside(mask: np.ndarray, ijk: np.ndarray) -> bool:
    return bool(np.all(ijk >= 0) and np.all(ijk < mask.shape) and mask[tuple(ijk)])


def _sub_box(box, inner) -> tuple[slice, slice, slice]:
    """``inner`` (a box in ``box``'s own indices) in the indices ``box`` is given in."""
    return tuple(slice(b.start + i.start, b.start + i.stop) for b, i in zip(box, inner))


def _in_box(src_box, src: np.ndarray, box) -> np.ndarray:
    """``src`` (a mask over ``src_box``) seen over ``box``: False where it does not reach."""
    out = np.zeros(tuple(s.stop - s.start for s in box), bool)
    inter = [slice(max(a.start, b.start), min(a.stop, b.stop)) for a, b in zip(box, src_box)]
    if all(s.start < s.stop for s in inter):
        out[tuple(slice(s.start - a.start, s.stop - a.start) for s, a in zip(inter, box))] = \
            src[tuple(slice(s.start - b.start, s.stop - b.start) for s, b in zip(inter, src_box))]
    return out


def _full_grid(part: np.ndarray, step: np.ndarray, shape) -> np.ndarray:
    """``part`` (a grid thinned by ``step`` per axis) repeated onto the full grid of ``shape``: a new array. Repeated
    along the thinned axes only: on a 1 mm click's 12 cm box, thinned along none, three no-op repeats took ~11-15 ms."""
    up = part
    for axis, k in enumerate(step):
        if k > 1:
            up = np.repeat(up, k, axis)
    return (part.copy() if up is part else up)[: shape[0], : shape[1], : shape[2]]
