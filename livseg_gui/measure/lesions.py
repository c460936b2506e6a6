"""Liver and lesion measurements on the source grid's true spacing (scipy.ndimage).

Lesions are 26-connected components of the tumour label (voxels touching by a face, edge or
corner belong to the same lesion), numbered by volume, largest first.

Diameters follow RECIST practice: the longest in-plane diameter over all axial slices, and
the longest diameter perpendicular to it on that slice. Distances are measured between voxel
centres of the boundary plus one voxel, so a sphere of diameter d measures d +/- one voxel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import ndimage

from ..io.volume import Volume
from ..labels import bounding_box
from .location import LiverFrame

CONNECTIVITY = np.ones((3, 3, 3), bool)  # 26-connectivity
COORDINATES = "DICOM patient coordinates (LPS), mm"


@dataclass
class Lesion:
    number: int
    volume_ml: float
    longest_diameter_mm: float
    short_axis_mm: float
    max_extent_mm: float
    centroid_mm: tuple[float, float, float]  # LPS
    centroid_voxel: tuple[float, float, float]  # canonical i, j, k
    slice: int  # canonical axial slice of the centroid (0-based, inferior -> superior)
    slice_range: tuple[int, int]
    diameter_slice: int
    diameter_endpoints: tuple[tuple[float, float], tuple[float, float]]  # canonical (i, j) on diameter_slice
    hu_mean: float
    hu_std: float
    lobe: str
    segment: str  # approximate Couinaud segment
    depth_mm: float  # distance from the lesion to the liver surface
    status: str = "unreviewed"  # "accepted", "rejected" or "unreviewed"
    confidence: float | None = None  # the tumour net's peak probability in it; None if drawn by hand

    def as_dict(self) -> dict:
        d = asdict(self)
        d["segment"] = f"{self.segment} (approximate)" if self.segment else ""
        return d


@dataclass
class LiverAnalysis:
    liver_volume_ml: float
    liver_extent_mm: tuple[float, float, float]
    tumour_volume_ml: float
    lesions: list[Lesion] = field(default_factory=list)

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


def _axial_diameters(mask: np.ndarray, offset: np.ndarray, spacing: np.ndarray):
    """Longest axial diameter over slices, its perpendicular, slice and endpoints (canonical i, j)."""
    best = (0.0, 0.0, int(offset[2]), ((0.0, 0.0), (0.0, 0.0)))
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
            perp = np.array([-axis[1], axis[0]]) / n if n > 0 else np.array([0.0, 1.0])
            proj = mm @ perp
            short = float(proj.max() - proj.min()) + pix
            ends = (tuple(float(v) for v in ij[a] + offset[:2]), tuple(float(v) for v in ij[b] + offset[:2]))
            best = (length, short, int(k + offset[2]), ends)
    return best


class LiverGeometry:
    """What lesions are measured against: the liver's depth map and the lobe/segment frame.

    Cached by the caller while only the tumour label changes (the common edit). The depth map
    (distance to the liver surface, mm) is an exact Euclidean distance transform on a grid
    thinned to about 2 mm in-plane, so it costs ~0.1 s for a whole liver rather than seconds.
    """

    def __init__(self, liver: np.ndarray, spacing: np.ndarray):
        self.volume_voxels = int(np.count_nonzero(liver))
        self.frame: LiverFrame | None = None
        self.extent_mm = (0.0, 0.0, 0.0)
        self.depth: np.ndarray | None = None
        self.offset = np.zeros(3, int)
        self.stride = np.ones(3, int)
        if self.volume_voxels == 0:
            return
        box = bounding_box(liver)
        crop = liver[box]
        self.offset = np.array([s.start for s in box])
        self.extent_mm = tuple(float(v) for v in np.array(crop.shape) * spacing)
        coords = np.argwhere(crop[::2, ::2, :]) * [2, 2, 1]
        step = max(1, len(coords) // 200_000)
        self.frame = LiverFrame.of(coords[::step] + self.offset)
        self.stride = np.array([max(1, int(2.1 // spacing[0])), max(1, int(2.1 // spacing[1])), 1])
        thin = np.pad(crop[:: self.stride[0], :: self.stride[1], :], 1)
        self.depth = ndimage.distance_transform_edt(thin, sampling=spacing * self.stride).astype(np.float32)[1:-1, 1:-1, 1:-1]

    def depth_mm(self, voxels: np.ndarray, spacing: np.ndarray) -> float:
        """Smallest distance from the given canonical voxels (N, 3) to the liver surface."""
        if self.depth is None or len(voxels) == 0:
            return 0.0
        idx = (voxels - self.offset) // self.stride
        idx = np.clip(idx, 0, np.array(self.depth.shape) - 1)
        d = float(self.depth[idx[:, 0], idx[:, 1], idx[:, 2]].min())
        return max(0.0, d - float(np.max(spacing * self.stride)) / 2)


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
        loc_off = off + np.array([s.start for s in sl])
        count = int(m.sum())
        coords = np.argwhere(m)
        centroid = coords.mean(axis=0) + loc_off
        values = hu[sl][m].astype(np.float64)
        longest, short, dslice, ends = _axial_diameters(m, loc_off, spacing)
        bpts = (np.argwhere(_boundary(np.pad(m, 1))) - 1 + loc_off) * spacing
        extent = _longest_chord(bpts)[0] + float(spacing.mean())
        depth = geometry.depth_mm(coords + loc_off, spacing)
        frame = geometry.frame
        glob = tuple(slice(int(o), int(o) + n) for o, n in zip(loc_off, m.shape))
        lesions.append(Lesion(
            number=0,
            volume_ml=count * voxel_ml,
            longest_diameter_mm=longest,
            short_axis_mm=short,
            max_extent_mm=extent,
            centroid_mm=tuple(float(v) for v in volume.voxel_to_lps(centroid)),
            centroid_voxel=tuple(float(v) for v in centroid),
            slice=int(round(centroid[2])),
            slice_range=(int(loc_off[2]), int(loc_off[2] + m.shape[2] - 1)),
            diameter_slice=dslice,
            diameter_endpoints=ends,
            hu_mean=float(values.mean()),
            hu_std=float(values.std()),
            lobe=frame.lobe(centroid) if frame else "",
            segment=frame.segment(centroid) if frame else "",
            depth_mm=depth,
            confidence=confidence(glob, m) if confidence else None,
        ))
    lesions.sort(key=lambda les: -les.volume_ml)
    for i, les in enumerate(lesions, start=1):
        les.number = i
    result.lesions = lesions
    result.tumour_volume_ml = float(np.count_nonzero(tumour_mask)) * voxel_ml
    return result
