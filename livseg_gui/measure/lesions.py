"""Liver and lesion measurements on the source grid's true spacing (scipy.ndimage).

Lesions are 26-connected components of the tumour label (voxels touching by a face, edge or
corner belong to the same lesion), numbered by volume, largest first.

Diameters follow RECIST 1.1: the longest in-plane diameter over all axial slices, and on that
slice the longest diameter perpendicular to it that lies inside the lesion. Distances are measured
between voxel centres plus one voxel, so a sphere of diameter d measures d +/- one voxel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from ..io.volume import Volume
from ..labels import bounding_box
from . import recist
from .location import LiverFrame

if TYPE_CHECKING:  # scipy.spatial costs 0.1 s to import: `livseg segment` without a report never needs it
    from scipy.spatial import cKDTree

CONNECTIVITY = np.ones((3, 3, 3), bool)  # 26-connectivity
COORDINATES = "DICOM patient coordinates (LPS), mm"


@dataclass
class Lesion:
    number: int
    volume_ml: float
    longest_diameter_mm: float
    short_axis_mm: float  # RECIST: longest diameter perpendicular to the long axis, inside the lesion
    max_extent_mm: float
    centroid_mm: tuple[float, float, float]  # LPS
    centroid_voxel: tuple[float, float, float]  # canonical i, j, k
    slice: int  # canonical axial slice where the diameters are measured (0-based, inferior -> superior)
    slice_range: tuple[int, int]
    diameter_endpoints: tuple[tuple[float, float], tuple[float, float]]  # canonical (i, j) on `slice`
    short_axis_endpoints: tuple[tuple[float, float], tuple[float, float]]  # the same, for the short axis
    hu_mean: float
    hu_std: float
    hemiliver: str  # "right", "left" or "right and left" (approximate, see location.py)
    segments: list[str]  # approximate Couinaud segments the lesion touches, largest share first
    depth_mm: float  # distance from the lesion to the liver surface
    category: str = ""  # RECIST: measurable / non-measurable / too small to characterise
    from_liver_centroid_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)  # LPS offset from the liver's centroid
    status: str = "unreviewed"  # "accepted", "rejected" or "unreviewed"
    confidence: float | None = None  # the tumour net's peak probability in it; None if drawn by hand

    @property
    def location(self) -> str:
        segs = ", ".join(self.segments) if self.segments else "indeterminate"
        return f"{self.hemiliver} hemiliver, segment {segs} (approximate)" if self.hemiliver else "indeterminate"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["location"] = self.location
        return d


@dataclass
class LiverAnalysis:
    liver_volume_ml: float  # the whole organ: parenchyma and tumour (label >= 1)
    liver_extent_mm: tuple[float, float, float]
    tumour_volume_ml: float  # the lesions' total (specks below the lesion size are not lesions)
    lesions: list[Lesion] = field(default_factory=list)
    liver_centroid_mm: tuple[float, float, float] | None = None  # LPS
    specks_ml: float = 0.0  # tumour-labelled voxels in components too small to be lesions
    warnings: list[str] = field(default_factory=list)

    @property
    def parenchyma_ml(self) -> float:
        """Tumour-free liver."""
        return max(0.0, self.liver_volume_ml - self.tumour_volume_ml - self.specks_ml)

    @property
    def burden_percent(self) -> float:
        return 0.0 if self.liver_volume_ml == 0 else 100.0 * self.tumour_volume_ml / self.liver_volume_ml


def _longest_chord(pts: np.ndarray) -> tuple[float, int, int]:
    """Longest distance between points (N, d) and its endpoints, via the convex hull when large."""
    if len(pts) < 2:
        return 0.0, 0, 0
    cand = np.arange(len(pts))
    if len(pts) > 64 and pts.shape[1] >= 2:
        try:
            from scipy.spatial import ConvexHull

            cand = ConvexHull(pts).vertices
        except Exception:  # degenerate (collinear/coplanar) point sets
            cand = np.arange(len(pts))
    sub = pts[cand]
    d2 = ((sub[:, None, :] - sub[None, :, :]) ** 2).sum(-1)
    a, b = np.unravel_index(int(np.argmax(d2)), d2.shape)
    return float(np.sqrt(d2[a, b])), int(cand[a]), int(cand[b])


def _boundary(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask)


def _perpendicular_inside(mm: np.ndarray, axis: np.ndarray, pix: float) -> tuple[float, np.ndarray, np.ndarray]:
    """RECIST short axis: the longest segment perpendicular to ``axis`` that lies inside the lesion.

    ``mm`` are the lesion's pixel centres (N, 2) on one slice. Pixels are binned into lines across
    the long axis (one pixel wide); on each line, only a contiguous run of pixels counts, so a
    crescent measures its thickness, not the caliper width across its horns.
    """
    perp = np.array([-axis[1], axis[0]])
    s = mm @ axis
    t = mm @ perp
    bins = np.floor((s - s.min()) / pix).astype(np.int64)
    order = np.lexsort((t, bins))
    b, tt = bins[order], t[order]
    # A new run starts at each new line or where consecutive pixels on a line are more than ~1.5 px apart.
    start = np.ones(len(b), bool)
    start[1:] = (b[1:] != b[:-1]) | (np.diff(tt) > 1.5 * pix)
    first = np.flatnonzero(start)
    last = np.append(first[1:] - 1, len(b) - 1)
    lengths = tt[last] - tt[first] + pix
    best = int(np.argmax(lengths))
    i, j = order[first[best]], order[last[best]]
    return float(lengths[best]), mm[i], mm[j]


def _axial_diameters(mask: np.ndarray, offset: np.ndarray, spacing: np.ndarray):
    """RECIST diameters: the longest axial diameter over slices, and on that slice the longest diameter
    perpendicular to it inside the lesion. Returns (long, short, slice, long endpoints, short endpoints),
    endpoints as canonical (i, j)."""
    zero = ((0.0, 0.0), (0.0, 0.0))
    best = (0.0, 0.0, int(offset[2]), zero, zero)
    pix = float(np.mean(spacing[:2]))
    for k in range(mask.shape[2]):
        sl = mask[:, :, k]
        if not sl.any():
            continue
        ij = np.argwhere(_boundary(sl)).astype(np.float64)
        mm = ij * spacing[:2]
        length, a, b = _longest_chord(mm)
        length += pix
        if length > best[0]:
            axis = mm[b] - mm[a]
            n = np.linalg.norm(axis)
            axis = axis / n if n > 0 else np.array([1.0, 0.0])
            inside = np.argwhere(sl).astype(np.float64) * spacing[:2]
            short, p, q = _perpendicular_inside(inside, axis, pix)
            to_ij = lambda v: tuple(float(x) for x in v / spacing[:2] + offset[:2])  # noqa: E731
            ends = (tuple(float(v) for v in ij[a] + offset[:2]), tuple(float(v) for v in ij[b] + offset[:2]))
            best = (length, short, int(k + offset[2]), ends, (to_ij(p), to_ij(q)))
    return best


class LiverGeometry:
    """What lesions are measured against: the liver's depth map and the lobe/segment frame.

    Cached by the caller while only the tumour label changes (the common edit). The depth map
    (distance to the liver surface, mm) is an exact Euclidean distance transform on a grid
    thinned to about 2 mm on every axis, so it costs ~0.1 s for a whole liver rather than seconds.
    """

    def __init__(self, liver: np.ndarray, spacing: np.ndarray):
        self.volume_voxels = int(np.count_nonzero(liver))
        self.frame: LiverFrame | None = None
        self.extent_mm = (0.0, 0.0, 0.0)
        self.surface: cKDTree | None = None  # background voxels next to the liver, mm on the thinned grid
        self.offset = np.zeros(3, int)
        self.z_extent = 0
        self.stride = np.ones(3, int)
        if self.volume_voxels == 0:
            return
        box = bounding_box(liver)
        crop = liver[box]
        self.offset = np.array([s.start for s in box])
        self.z_extent = crop.shape[2]
        self.extent_mm = tuple(float(v) for v in np.array(crop.shape) * spacing)
        coords = np.argwhere(crop[::2, ::2, :]) * [2, 2, 1]
        step = max(1, len(coords) // 200_000)
        self.frame = LiverFrame.of(coords[::step] + self.offset)
        self.stride = np.array([max(1, int(2.1 // sp)) for sp in spacing])  # about 2 mm on every axis
        self.thin = crop[:: self.stride[0], :: self.stride[1], :: self.stride[2]]
        # The background voxels touching the liver (26-neighbours): the nearest background voxel to any liver
        # voxel is one of them, so a k-d tree of them gives the exact depth a distance transform would, for
        # the lesions' voxels only (a whole-liver transform costs ~0.3 s).
        padded = np.pad(self.thin, 1)
        shell = ndimage.binary_dilation(padded, structure=np.ones((3, 3, 3), bool)) & ~padded
        self.grid_mm = spacing * self.stride
        from scipy.spatial import cKDTree

        self.surface = cKDTree((np.argwhere(shell) - 1) * self.grid_mm)

    def centroid_lps(self, volume: Volume) -> tuple[float, float, float] | None:
        if self.frame is None:
            return None
        return tuple(float(v) for v in volume.voxel_to_lps(np.asarray(self.frame.centroid)))

    def location(self, voxels: np.ndarray) -> tuple[str, list[str]]:
        """(hemiliver, segments touched) of a lesion's canonical voxels (N, 3); segments with >= 10 % of it."""
        if self.frame is None:
            return "", []
        sample = voxels[:: max(1, len(voxels) // 4000)]
        names, counts = np.unique(self.frame.segments(sample), return_counts=True)
        segs = [str(n) for c, n in sorted(zip(-counts, names)) if -c >= 0.1 * len(sample)]
        right = float(np.mean(sample[:, 0] <= self.frame.split_x))
        hemi = "right" if right >= 0.9 else "left" if right <= 0.1 else "right and left"
        return hemi, segs

    def warnings(self, n_slices: int, liver_ml: float) -> list[str]:
        """Why the measurements or the approximate location may mislead."""
        if self.volume_voxels == 0:
            return ["no liver in the label map: volumes and lesion locations cannot be reported"]
        out = []
        z0, z1 = self.offset[2], self.offset[2] + self.z_extent - 1
        if z0 == 0 or z1 == n_slices - 1:
            out.append("partial liver coverage: the liver reaches the first or last slice, so the liver volume is "
                       "underestimated and lesions beyond the scan are missed")
        if liver_ml < 800:
            out.append(f"small liver ({liver_ml:.0f} mL; partial coverage or resection?): the hemiliver and segment "
                       "split, made from the liver's own shape, is unreliable")
        return out

    def depth_mm(self, voxels: np.ndarray, spacing: np.ndarray) -> float:
        """Smallest distance from the given canonical voxels (N, 3) to the liver surface."""
        if self.surface is None or len(voxels) == 0:
            return 0.0
        idx = np.clip((voxels - self.offset) // self.stride, 0, np.array(self.thin.shape) - 1)
        hit = np.zeros(self.thin.shape, bool)
        hit[idx[:, 0], idx[:, 1], idx[:, 2]] = True  # each thinned voxel once
        if (hit & ~self.thin).any():
            return 0.0  # part of it lies outside the liver
        d = float(self.surface.query(np.argwhere(hit) * self.grid_mm)[0].min())
        return max(0.0, d - float(np.max(spacing * self.stride)) / 2)


def count_lesions(labels: np.ndarray, voxel_ml: float) -> int:
    """How many lesions :func:`analyse` would report, without measuring them (same components, same rule)."""
    tumour = labels == 2
    box = bounding_box(tumour)
    if box is None:
        return 0
    comp, _ = ndimage.label(tumour[box], structure=CONNECTIVITY)
    sizes = np.bincount(comp.ravel())[1:]
    return sum(recist.is_lesion(float(n) * voxel_ml, tuple(s.stop - s.start for s in sl))
               for n, sl in zip(sizes, ndimage.find_objects(comp)))


ConfidenceFn = Callable[[tuple[slice, slice, slice], np.ndarray], "float | None"]


def analyse(labels: np.ndarray, volume: Volume, geometry: LiverGeometry | None = None,
            confidence: ConfidenceFn | None = None) -> LiverAnalysis:
    """Measure the liver and every lesion of a canonical label map.

    ``confidence(box, mask)`` gives a lesion's model confidence (e.g. ``TumourProbability.peak``).
    """
    spacing = np.asarray(volume.spacing, dtype=np.float64)
    voxel_ml = volume.voxel_volume_ml
    if geometry is None:
        geometry = LiverGeometry(labels >= 1, spacing)
    tumour_mask = labels == 2
    result = LiverAnalysis(
        liver_volume_ml=geometry.volume_voxels * voxel_ml,
        liver_extent_mm=geometry.extent_mm,
        tumour_volume_ml=0.0,
        liver_centroid_mm=geometry.centroid_lps(volume),
        warnings=geometry.warnings(volume.shape[2], geometry.volume_voxels * voxel_ml),
    )
    box = bounding_box(tumour_mask)
    if box is None:
        return result
    off = np.array([s.start for s in box])
    comp, n = ndimage.label(tumour_mask[box], structure=CONNECTIVITY)
    hu = volume.array[box]
    lesions = []
    for idx, sl in enumerate(ndimage.find_objects(comp), start=1):
        m = comp[sl] == idx
        count = int(m.sum())
        if not recist.is_lesion(count * voxel_ml, m.shape):
            result.specks_ml += count * voxel_ml
            continue
        loc_off = off + np.array([s.start for s in sl])
        coords = np.argwhere(m)
        centroid = coords.mean(axis=0) + loc_off
        values = hu[sl][m].astype(np.float64)
        longest, short, dslice, ends, short_ends = _axial_diameters(m, loc_off, spacing)
        bpts = (np.argwhere(_boundary(np.pad(m, 1))) - 1 + loc_off) * spacing
        extent = _longest_chord(bpts)[0] + float(spacing.mean())
        depth = geometry.depth_mm(coords + loc_off, spacing)
        hemi, segments = geometry.location(coords + loc_off)
        centroid_mm = volume.voxel_to_lps(centroid)
        glob = tuple(slice(int(o), int(o) + n) for o, n in zip(loc_off, m.shape))
        lesions.append(Lesion(
            number=0,
            volume_ml=count * voxel_ml,
            longest_diameter_mm=longest,
            short_axis_mm=short,
            max_extent_mm=extent,
            centroid_mm=tuple(float(v) for v in centroid_mm),
            centroid_voxel=tuple(float(v) for v in centroid),
            slice=dslice,
            slice_range=(int(loc_off[2]), int(loc_off[2] + m.shape[2] - 1)),
            diameter_endpoints=ends,
            short_axis_endpoints=short_ends,
            hu_mean=float(values.mean()),
            hu_std=float(values.std()),
            hemiliver=hemi,
            segments=segments,
            depth_mm=depth,
            category=recist.category(longest, float(spacing[2])),
            from_liver_centroid_mm=tuple(float(v) for v in centroid_mm - np.asarray(result.liver_centroid_mm))
            if result.liver_centroid_mm else (0.0, 0.0, 0.0),
            confidence=confidence(glob, m) if confidence else None,
        ))
    lesions.sort(key=lambda les: -les.volume_ml)
    for i, les in enumerate(lesions, start=1):
        les.number = i
    result.lesions = lesions
    result.tumour_volume_ml = sum(les.volume_ml for les in lesions)
    return result
