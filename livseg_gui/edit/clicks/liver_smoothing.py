"""The CT smoothed within the liver (:class:`LiverSmoothing`), or within soft tissue (:class:`SoftTissueSmoothing`),
as a positive lesion click sees it, kept between clicks: smoothing a click's 12 cm box took 70-120 ms of its 300 ms
budget, the clicks that fix one lesion look at nearly the same box, and the window smooths the liver's surroundings
ahead of the first click."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from ...labels import LIVER, bounding_box
from .common import LESION_ROI_MM, _smooth, _sub_box

SOFT_TISSUE_HU = (-20.0, 250.0)  # a lesion clicked outside the model's liver is sought within this range
SMOOTH_MM = 2.0  # CT noise is ~10-20 HU; a lesion's contrast to the liver is 15-40 HU
SMOOTH_TRUNCATE = 3.0
AHEAD_VOXELS = 2_000_000  # the smoothing ahead of clicks goes this many voxels at a time (~0.1 s), so a click waits little
_NOT_LIVER, _LIVER, _DONE = 1, 2, 4  # a voxel's state: the liver its neighbours were smoothed with (0: none yet), done


def within_hu(img: np.ndarray | float, hu_range: tuple[float, float]) -> np.ndarray | bool:
    """Where ``img`` (HU: an array or a number) lies within ``hu_range``, both ends included."""
    return (img >= hu_range[0]) & (img <= hu_range[1])


def grid_step(spacing) -> int:
    """The in-plane step of a lesion click's grid: pixels under 0.7 mm are looked at in 2 x 2 blocks (a quarter of
    the voxels; the 2 mm smoothing leaves nothing finer to see)."""
    return 2 if float(np.max(np.asarray(spacing, float)[:2])) < 0.7 else 1


def aligned(box: tuple[slice, ...], k: int) -> tuple[slice, slice, slice]:
    """``box`` widened to start in-plane at a multiple of ``k``, so its grid's blocks are the volume's."""
    x, y, z = box
    return slice(x.start - x.start % k, x.stop), slice(y.start - y.start % k, y.stop), z


def on_grid(box: tuple[slice, ...], k: int) -> tuple[slice, slice, slice]:
    """An aligned full-resolution ``box`` as the blocks of ``k`` x ``k`` it covers (the last partly)."""
    x, y, z = box
    return slice(x.start // k, -(-x.stop // k)), slice(y.start // k, -(-y.stop // k)), z


def block_means(hu: np.ndarray, box: tuple[slice, ...], k: int) -> np.ndarray:
    """Means (float32) of the ``k`` x ``k`` in-plane blocks of ``hu`` that an aligned ``box`` covers; a block cut by
    the volume's edge repeats its last voxel."""
    if k == 1:
        return hu[box].astype(np.float32)
    x, y, z = box
    nx, ny = (-(-(s.stop - s.start) // k) * k for s in (x, y))
    part = hu[slice(x.start, x.start + nx), slice(y.start, y.start + ny), z].astype(np.float32)
    padded = np.pad(part, ((0, nx - part.shape[0]), (0, ny - part.shape[1]), (0, 0)), mode="edge")
    return sum(padded[i::k, j::k] for i in range(k) for j in range(k)) / k**2


class LiverSmoothing:
    """A CT's smoothing (SMOOTH_MM) within the liver on a lesion click's grid (:func:`grid_step`): a normalised
    convolution over the liver's voxels, so a lesion at the capsule keeps its HU instead of a blend with the fat
    beside it (a dark rim along the capsule would read as a hypodense lesion, and a lesion near the edge would leak
    along it). Kept as float16 (under 0.13 HU off below 256 HU; CT noise is ~10-20 HU).

    Each value is computed once, from the whole volume (a box and the kernel's reach beyond it: the same value
    whichever box asked first), and kept with the liver it was computed with. Where a later click finds that liver
    changed (a lesion drawn past the liver's edge, a liver click, a stroke, an undo), the values within the kernel's
    reach of the change are computed afresh. Memory is taken as values are (the OS hands out zeroed pages as they are
    first written): 3 bytes per voxel of the grid that clicks or :meth:`ahead` reach (64 MiB on ircadb-17's
    512x512x119; a page of the values, in C order, holds a few in-plane positions' every slice, so a box takes its
    positions' values over all slices). Thread-safe: a click may run while the window smooths ahead of it.
    """

    WITHIN_HU: tuple[float, float] | None = None  # None: within the liver; else within this HU range of the CT

    def __init__(self, shape, spacing) -> None:
        self.k = grid_step(spacing)
        self.spacing = np.asarray(spacing, float) * [self.k, self.k, 1]
        self.sigma = SMOOTH_MM / self.spacing
        self.reach = np.array([int(SMOOTH_TRUNCATE * s + 0.5) for s in self.sigma])  # scipy's kernel radius
        self.shape = tuple(-(-n // self.k) for n in shape[:2]) + (shape[2],)
        self._lock = threading.Lock()
        # The values in C order, as a click reads them (its box's float32 copy in C order, as its other arrays: ~27 ->
        # ~14 ms on a 1 mm click's 163x163x121 box, which a Fortran-ordered copy read across). The state in the CT's
        # (Fortran) order: the pass ahead settles it slab by slab along z, each slab then one stretch of memory.
        self._values = np.zeros(self.shape, np.float16, order="C")
        self._state = np.zeros(self.shape, np.uint8, order="F")

    def over(self, hu: np.ndarray, labels: np.ndarray, box: tuple[slice, ...]) -> np.ndarray:
        """The smoothing (float32) of the CT ``hu`` within the liver of ``labels`` (or this smoothing's own mask) over
        ``box``, a box on this grid (:func:`on_grid`)."""
        window = self._grown(box)
        liver = self._liver_of(labels, window)
        while True:  # once, unless a change seen meanwhile undid some of it
            with self._lock:
                self._settle(liver, window)
                todo = (self._state[box] & _DONE) == 0
                if not todo.any():
                    return self._values[box].astype(np.float32, order="C")  # as the click's other arrays
            for part in _cover(todo, [s.start for s in box], self.reach):
                self._fill(hu, part, liver, window, alongside=True)  # for a click: the mask's half on the second core

    def ahead(self, hu: np.ndarray, labels: np.ndarray, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Smooth ahead of clicks: every box a lesion click on the liver of ``labels`` may look at (the liver and
        LESION_ROI_MM around it), AHEAD_VOXELS at a time, until done or ``cancelled()``."""
        extent = bounding_box(labels[:: self.k, :: self.k] >= LIVER)
        if extent is None:
            return
        margin = np.ceil(LESION_ROI_MM / self.spacing).astype(int) + 1
        region = tuple(slice(max(0, s.start - m), min(n, s.stop + m)) for s, m, n in zip(extent, margin, self.shape))
        plane = (region[0].stop - region[0].start) * (region[1].stop - region[1].start)
        step = max(1, AHEAD_VOXELS // plane)
        for z in range(region[2].start, region[2].stop, step):
            if cancelled():
                return
            chunk = (*region[:2], slice(z, min(region[2].stop, z + step)))
            window = self._grown(chunk)
            liver = self._liver_of(labels, window)
            with self._lock:
                self._settle(liver, window)  # labels changed since (a stroke, a loaded mask) undo what they reach
                todo = (self._state[chunk] & _DONE) == 0
            for part in _cover(todo, [s.start for s in chunk], self.reach):
                self._fill(hu, part, liver, window)

    def kept(self) -> np.ndarray:
        """Where values are kept now (bool, on this grid)."""
        with self._lock:
            return (self._state & _DONE) > 0

    def _grown(self, box: tuple[slice, ...]) -> tuple[slice, slice, slice]:
        return tuple(slice(max(0, s.start - r), min(n, s.stop + r)) for s, r, n in zip(box, self.reach, self.shape))

    def _liver_of(self, labels: np.ndarray, box: tuple[slice, ...]) -> np.ndarray | None:
        """The liver (_LIVER or _NOT_LIVER) on this grid over ``box``: each block's first voxel; None where the values
        are smoothed within WITHIN_HU, which no edit changes (nothing for :meth:`_settle` to look at)."""
        if self.WITHIN_HU is not None:
            return None
        full = tuple(slice(s.start * self.k, s.stop * self.k, self.k) for s in box[:2]) + (box[2],)
        return (labels[full] >= LIVER).view(np.uint8) + np.uint8(_NOT_LIVER)  # _LIVER is _NOT_LIVER + 1

    def _fill(self, hu: np.ndarray, part: tuple[slice, ...], liver_around: np.ndarray | None,
              around: tuple[slice, ...], alongside: bool = False) -> None:
        """Compute the values over ``part`` with the liver ``liver_around`` (over ``around``, which holds ``part``
        and the kernel's reach beyond it; None: within WITHIN_HU), outside the lock: a click need not wait for
        another's. ``alongside``: as :func:`~.common._smooth`'s."""
        src = self._grown(part)
        full = tuple(slice(s.start * self.k, s.stop * self.k) for s in src[:2]) + (src[2],)
        means = block_means(hu, full, self.k)
        if liver_around is None:
            liver, within = None, within_hu(means, self.WITHIN_HU)
        else:
            liver = liver_around[tuple(slice(s.start - a.start, s.stop - a.start) for s, a in zip(src, around))]
            within = liver == _LIVER
        img = _smooth(means, self.sigma, within=within, truncate=SMOOTH_TRUNCATE, alongside=alongside)
        with self._lock:
            self._settle(liver, src)
            self._values[part] = img[tuple(slice(p.start - s.start, p.stop - s.start) for p, s in zip(part, src))]
            self._state[part] |= _DONE

    def _settle(self, liver: np.ndarray | None, window: tuple[slice, ...]) -> None:
        """Take ``liver`` as the liver over ``window``: values within the kernel's reach of a voxel where it differs
        from the one they were computed with are undone (under the lock). None: nothing to take."""
        if liver is None:
            return
        state = self._state[window]
        # Changed where a liver was seen (1 or 2) and differs from ``liver`` (2 or 1): their bits then XOR to 3.
        changed = ((state ^ liver) & (_LIVER | _NOT_LIVER)) == (_LIVER | _NOT_LIVER)
        if changed.any():
            near = bounding_box(changed)
            near = _sub_box(window, near)
            around = self._grown(near)
            hit = np.zeros(tuple(s.stop - s.start for s in around), bool)
            hit[tuple(slice(n.start - a.start, n.stop - a.start) for n, a in zip(near, around))] = changed[
                tuple(slice(n.start - w.start, n.stop - w.start) for n, w in zip(near, window))]
            hit = ndimage.maximum_filter(hit.view(np.uint8), size=2 * self.reach + 1).view(bool)
            self._state[around][hit] &= np.uint8(~_DONE & 0xFF)
        state &= _DONE
        state |= liver


def _cover(todo: np.ndarray, offset, reach: np.ndarray, depth: int = 0) -> list[tuple[slice, slice, slice]]:
    """Boxes (at ``offset``) covering ``todo``'s voxels at about the least cost, each box costing its voxels and the
    kernel's ``reach`` around it: the bounding box, or its two halves' covers where they cost less (what a click
    shifted along two axes misses of its box is two slabs, whose bounding box is the box)."""
    near = bounding_box(todo)
    if near is None:
        return []
    part = todo[near]
    start = [o + s.start for o, s in zip(offset, near)]
    whole = [tuple(slice(a, a + n) for a, n in zip(start, part.shape))]
    if depth >= 4 or part.all():
        return whole
    axis = int(np.argmax(part.shape))
    mid = part.shape[axis] // 2
    halves = [part[(slice(None),) * axis + (slice(None, mid),)], part[(slice(None),) * axis + (slice(mid, None),)]]
    split = []
    for i, half in enumerate(halves):
        at = list(start)
        at[axis] += mid * i
        split += _cover(half, at, reach, depth + 1)
    if _cost(split, reach) < 0.9 * _cost(whole, reach):
        return split
    return whole


def _cost(boxes: list[tuple[slice, ...]], reach: np.ndarray) -> float:
    return float(sum(np.prod([s.stop - s.start + 2 * r for s, r in zip(b, reach)]) for b in boxes))


class SoftTissueSmoothing(LiverSmoothing):
    """A CT's smoothing (SMOOTH_MM) within soft tissue (SOFT_TISSUE_HU, on the grid's block means), as a lesion
    click outside the model's liver sees it (:func:`~.new_lesion._where_lesion_may_lie`): where the liver model
    missed a lesion at its edge. The mask is the CT's own, so values once computed are kept for good. Smoothing
    a click's box at 1 mm took ~85 of its ~290 ms (ircadb-17's 79 mL lesion, which the F17 run's liver left out)."""

    WITHIN_HU = SOFT_TISSUE_HU


_KEPT: dict[tuple, tuple[weakref.ref, LiverSmoothing]] = {}
_KEPT_LOCK = threading.Lock()


def liver_smoothing_of(hu: np.ndarray, spacing) -> LiverSmoothing:
    """The :class:`LiverSmoothing` of the CT ``hu`` (an array the app never changes), kept while ``hu`` lives."""
    return _kept(LiverSmoothing, hu, spacing)


def soft_tissue_smoothing_of(hu: np.ndarray, spacing) -> SoftTissueSmoothing:
    """The :class:`SoftTissueSmoothing` of the CT ``hu``, kept while ``hu`` lives."""
    return _kept(SoftTissueSmoothing, hu, spacing)


def _kept(kind: type[LiverSmoothing], hu: np.ndarray, spacing) -> LiverSmoothing:
    """The ``kind`` of smoothing of the CT ``hu`` at ``spacing``: one per CT, dropped when ``hu`` is."""
    key = (kind.__name__, id(hu), *np.round(np.asarray(spacing, float), 6))
    with _KEPT_LOCK:
        found = _KEPT.get(key)
        if found is not None and found[0]() is hu:
            return found[1]
        kept = kind(hu.shape, spacing)
        _KEPT[key] = (weakref.ref(hu, lambda _ref, key=key: _KEPT.pop(key, None)), kept)
        return kept
