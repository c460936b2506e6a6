"""Editing tools: each is a function on a LabelMap (ITK-SNAP style). Radii are in millimetres."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..labels import BACKGROUND, LIVER, TUMOUR
from ..planes import Plane
from .labelmap import Box, Change, LabelMap

# How a brush stroke combines with what is there:
PAINT, ERASE, ERASE_LABEL = "paint", "erase", "erase_label"


def _write(current: np.ndarray, region: np.ndarray, label: int, mode: str) -> np.ndarray:
    """New values for voxels in ``region`` (bool) under the label rules.

    Painting liver never overwrites tumour (tumour is part of the liver); painting tumour marks
    liver too. Erasing clears to background; erasing one label only removes that label:
    erasing tumour gives liver back (no hole in the liver), erasing liver clears the organ, tumour
    included, to background (tumour cannot lie outside the liver).
    """
    new = current.copy()
    if mode == PAINT:
        if label == LIVER:
            new[region & (current == BACKGROUND)] = LIVER
        else:
            new[region] = label
    elif mode == ERASE:
        new[region] = BACKGROUND
    elif mode == ERASE_LABEL:
        if label == TUMOUR:
            new[region & (current == TUMOUR)] = LIVER
        else:
            new[region & (current >= LIVER)] = BACKGROUND
    else:
        raise ValueError(f"unknown brush mode {mode!r}")
    return new


def _name(mode: str, label: int, what: str) -> str:
    names = {LIVER: "liver", TUMOUR: "tumour"}
    verb = {PAINT: "paint", ERASE: "erase", ERASE_LABEL: "erase"}[mode]
    return f"{verb} {names.get(label, '')} ({what})".replace("  ", " ") if mode != ERASE else f"erase ({what})"


def _ball_box(center: np.ndarray, radius_mm: float, spacing: np.ndarray, shape, axes) -> tuple[Box, list[np.ndarray]]:
    """Bounding box of an ellipsoid of ``radius_mm`` along ``axes``, and the mm offsets on each axis."""
    box, offsets = [], []
    for a in range(3):
        c = float(center[a])
        if a in axes:
            r = radius_mm / spacing[a]
            lo, hi = max(0, int(np.floor(c - r))), min(shape[a], int(np.ceil(c + r)) + 1)
        else:
            lo, hi = int(round(c)), int(round(c)) + 1
        lo = min(max(lo, 0), shape[a])
        hi = max(min(hi, shape[a]), lo)
        box.append(slice(lo, hi))
        offsets.append((np.arange(lo, hi) - c) * spacing[a])
    return tuple(box), offsets  # type: ignore[return-value]


def brush(
    lm: LabelMap, center_voxel, radius_mm: float, spacing, label: int, mode: str = PAINT,
    plane: Plane | None = Plane.AXIAL, hu: np.ndarray | None = None, hu_range: tuple[float, float] | None = None,
) -> Change | None:
    """A disk (in ``plane``) or, with ``plane=None``, a sphere of radius ``radius_mm``.

    With ``hu_range`` only voxels whose HU lies in [lo, hi] change (the adaptive brush).
    """
    center = np.asarray(center_voxel, dtype=np.float64)
    sp = np.asarray(spacing, dtype=np.float64)
    axes = (0, 1, 2) if plane is None else tuple(a for a in range(3) if a != plane.axis)
    box, offs = _ball_box(center, radius_mm, sp, lm.shape, axes)
    if any(s.stop <= s.start for s in box):
        return None
    d2 = offs[0][:, None, None] ** 2 * (0 in axes) + offs[1][None, :, None] ** 2 * (1 in axes) \
        + offs[2][None, None, :] ** 2 * (2 in axes)
    region = d2 <= radius_mm**2
    if hu_range is not None and hu is not None:
        lo, hi = hu_range
        v = hu[box]
        region &= (v >= lo) & (v <= hi)
    what = "sphere" if plane is None else ("threshold" if hu_range is not None else "brush")
    return lm.apply(_name(mode, label, what), box, _write(lm.data[box], region, label, mode))


def flood_fill(lm: LabelMap, seed_voxel, plane: Plane, label: int) -> Change | None:
    """Fill the closed 2-D region around the seed (voxels of the seed's value) with ``label``.

    A region that reaches the slice border is not closed and is left alone (returns None).
    """
    seed = np.round(np.asarray(seed_voxel)).astype(int)
    index = [slice(None)] * 3
    index[plane.axis] = slice(seed[plane.axis], seed[plane.axis] + 1)
    box: Box = tuple(index)  # type: ignore[assignment]
    sl = lm.data[box]
    flat = np.squeeze(sl, axis=plane.axis)
    seed2 = tuple(int(seed[a]) for a in range(3) if a != plane.axis)
    value = flat[seed2]
    if value == label:
        return None
    comp, _ = ndimage.label(flat == value)
    region = comp == comp[seed2]
    if region[0, :].any() or region[-1, :].any() or region[:, 0].any() or region[:, -1].any():
        return None
    region = np.expand_dims(region, plane.axis)
    return lm.apply(f"fill {'tumour' if label == TUMOUR else 'liver'}", box, _write(sl, region, label, PAINT))


def _signed_distance(mask: np.ndarray, sampling) -> np.ndarray:
    if not mask.any():
        return np.full(mask.shape, 1e6, np.float32)
    inside = ndimage.distance_transform_edt(mask, sampling=sampling)
    outside = ndimage.distance_transform_edt(~mask, sampling=sampling)
    return (outside - inside).astype(np.float32)


def interpolate_slices(lm: LabelMap, plane: Plane, k0: int, k1: int, label: int, spacing) -> Change | None:
    """Shape-based interpolation of ``label`` between slices k0 and k1 (signed distance, linear)."""
    n = lm.shape[plane.axis]
    if not (0 <= k0 < n and 0 <= k1 < n):
        raise ValueError(f"slices {k0 + 1} and {k1 + 1} must lie in 1..{n}")  # never wrap around to the end
    if abs(k1 - k0) < 2:
        return None
    k0, k1 = sorted((k0, k1))
    sampling = [spacing[a] for a in range(3) if a != plane.axis]
    take = lambda k: np.take(lm.data, k, axis=plane.axis)  # noqa: E731
    target = (lambda v: v >= LIVER) if label == LIVER else (lambda v: v == TUMOUR)
    d0, d1 = _signed_distance(target(take(k0)), sampling), _signed_distance(target(take(k1)), sampling)
    index = [slice(0, n) for n in lm.shape]  # explicit bounds: listeners compare them with slice numbers
    index[plane.axis] = slice(k0 + 1, k1)
    box: Box = tuple(index)  # type: ignore[assignment]
    region = np.zeros(lm.data[box].shape, bool)
    for i, k in enumerate(range(k0 + 1, k1)):
        t = (k - k0) / (k1 - k0)
        sl = [slice(None)] * 3
        sl[plane.axis] = i
        region[tuple(sl)] = ((1 - t) * d0 + t * d1) <= 0
    return lm.apply(f"interpolate {'tumour' if label == TUMOUR else 'liver'}", box,
                    _write(lm.data[box], region, label, PAINT))


def remove_islands(lm: LabelMap, voxel_ml: float, min_tumour_ml: float = 0.1) -> Change | None:
    """Keep the largest liver component; turn tumour specks below ``min_tumour_ml`` into liver."""
    liver = lm.data >= LIVER
    objs = ndimage.find_objects(liver.astype(np.uint8))
    if not objs or objs[0] is None:
        return None
    box = objs[0]
    cur = lm.data[box]
    new = cur.copy()
    comp, n = ndimage.label(cur >= LIVER, structure=np.ones((3, 3, 3), bool))
    if n > 1:
        largest = int(np.argmax(np.bincount(comp.ravel())[1:])) + 1
        new[(comp != largest) & (comp > 0)] = BACKGROUND
    tcomp, tn = ndimage.label(new == TUMOUR, structure=np.ones((3, 3, 3), bool))
    if tn:
        small = np.bincount(tcomp.ravel()) * voxel_ml < min_tumour_ml
        small[0] = False
        new[small[tcomp]] = LIVER
    return lm.apply("remove islands", box, new)


def tumour_outside_liver(labels: np.ndarray) -> np.ndarray:
    """Tumour voxels of components that touch no liver voxel (a tumour must lie in the liver)."""
    tum = labels == TUMOUR
    if not tum.any():
        return tum
    comp, n = ndimage.label(tum, structure=np.ones((3, 3, 3), bool))
    near = ndimage.binary_dilation(labels == LIVER, structure=np.ones((3, 3, 3), bool))
    touching = np.bincount(comp[near & tum], minlength=n + 1) > 0
    touching[0] = True
    return ~touching[comp]


def keep_tumour_inside_liver(lm: LabelMap) -> Change | None:
    """Remove tumour components that touch no liver (offered after edits, enforced on request)."""
    outside = tumour_outside_liver(lm.data)
    if not outside.any():
        return None
    box = ndimage.find_objects(outside.astype(np.uint8))[0]
    new = lm.data[box].copy()
    new[outside[box]] = BACKGROUND
    return lm.apply("remove tumour outside liver", box, new)


def lesion_mask(labels: np.ndarray, lesion_voxel) -> np.ndarray | None:
    """The 26-connected tumour component at ``lesion_voxel`` (or nearest to it), or None if there is no tumour."""
    tum = labels == TUMOUR
    comp, _ = ndimage.label(tum, structure=np.ones((3, 3, 3), bool))
    ijk = tuple(int(round(v)) for v in lesion_voxel)
    idx = comp[ijk]
    if idx == 0:
        # The centroid of a curved lesion can fall outside it: take the nearest tumour voxel.
        pts = np.argwhere(tum)
        if not len(pts):
            return None
        nearest = pts[np.argmin(((pts - np.array(ijk)) ** 2).sum(1))]
        idx = comp[tuple(nearest)]
    return comp == idx


def reject_lesion(lm: LabelMap, lesion_voxel, number: int) -> Change | None:
    """Turn the 26-connected tumour component at ``lesion_voxel`` back into liver (undoable)."""
    region = lesion_mask(lm.data, lesion_voxel)
    if region is None:
        return None
    box = ndimage.find_objects(region.astype(np.uint8))[0]
    new = lm.data[box].copy()
    new[region[box]] = LIVER
    return lm.apply(f"reject lesion {number}", box, new)


def confirm_candidate(lm: LabelMap, box: tuple[slice, slice, slice], mask: np.ndarray, name: str) -> Change | None:
    """Make a below-threshold tumour candidate a lesion: its voxels become tumour (one undo step)."""
    new = lm.data[box].copy()
    new[mask] = TUMOUR
    return lm.apply(f"confirm {name}", box, new)
