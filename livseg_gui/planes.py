"""The three viewing planes: which array axes they show and how, in radiological convention.

Arrays are canonical LPS (see ``io.volume``). A plane image is a 2-D view ``[row, col]``
with row 0 at the top of the screen:

- axial:    rows = P (anterior at top),  cols = L (patient right on screen left)
- coronal:  rows = S reversed (superior at top), cols = L
- sagittal: rows = S reversed, cols = P (anterior on screen left)

Every view, brush and key image goes through these functions, so orientation lives in one place.
"""

from __future__ import annotations

from enum import Enum

import numpy as np


class Plane(str, Enum):
    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"

    @property
    def axis(self) -> int:
        """The array axis held fixed in this plane."""
        return {Plane.AXIAL: 2, Plane.CORONAL: 1, Plane.SAGITTAL: 0}[self]

    @property
    def row_axis(self) -> int:
        return {Plane.AXIAL: 1, Plane.CORONAL: 2, Plane.SAGITTAL: 2}[self]

    @property
    def col_axis(self) -> int:
        return {Plane.AXIAL: 0, Plane.CORONAL: 0, Plane.SAGITTAL: 1}[self]

    @property
    def row_flipped(self) -> bool:
        return self is not Plane.AXIAL

    @property
    def edge_letters(self) -> tuple[str, str, str, str]:
        """Patient directions at the (left, right, top, bottom) screen edges."""
        return {
            Plane.AXIAL: ("R", "L", "A", "P"),
            Plane.CORONAL: ("R", "L", "S", "I"),
            Plane.SAGITTAL: ("A", "P", "S", "I"),
        }[self]


def plane_slice(array: np.ndarray, plane: Plane, index: int) -> np.ndarray:
    """The screen image (rows, cols) of ``array`` at ``index`` along the plane's axis (a view)."""
    sel: list = [slice(None)] * 3
    sel[plane.axis] = int(index)
    img = array[tuple(sel)]  # a view, not a copy
    # Remaining axes keep their order; put rows first.
    rest = [a for a in range(3) if a != plane.axis]
    if rest.index(plane.row_axis) != 0:
        img = img.T
    return img[::-1] if plane.row_flipped else img


def plane_shape(shape: tuple[int, int, int], plane: Plane) -> tuple[int, int]:
    return shape[plane.row_axis], shape[plane.col_axis]


def plane_spacing(spacing: tuple[float, float, float], plane: Plane) -> tuple[float, float]:
    """(row_mm, col_mm): the height and width of one screen pixel in mm."""
    return float(spacing[plane.row_axis]), float(spacing[plane.col_axis])


def to_voxel(plane: Plane, index: int, row: float, col: float, shape: tuple[int, int, int]) -> np.ndarray:
    """Screen (row, col) on slice ``index`` -> canonical voxel (i, j, k), float."""
    v = np.zeros(3)
    v[plane.axis] = index
    nrows = shape[plane.row_axis]
    v[plane.row_axis] = (nrows - 1 - row) if plane.row_flipped else row
    v[plane.col_axis] = col
    return v


def from_voxel(plane: Plane, ijk, shape: tuple[int, int, int]) -> tuple[int, float, float]:
    """Canonical voxel -> (slice index, row, col) in ``plane``."""
    ijk = np.asarray(ijk, dtype=np.float64)
    nrows = shape[plane.row_axis]
    r = ijk[plane.row_axis]
    row = (nrows - 1 - r) if plane.row_flipped else r
    return int(round(ijk[plane.axis])), float(row), float(ijk[plane.col_axis])


def lps_text(lps) -> str:
    """Patient coordinates as a radiologist reads them: 'R 33.7  A 12.0  S 104.5 mm' (no signs)."""
    x, y, z = (float(v) for v in lps)
    return (f"{'L' if x >= 0 else 'R'} {abs(x):.1f}  {'P' if y >= 0 else 'A'} {abs(y):.1f}  "
            f"{'S' if z >= 0 else 'I'} {abs(z):.1f} mm")
