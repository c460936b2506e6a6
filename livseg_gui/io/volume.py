"""The in-memory CT volume: an array, an affine and metadata, nothing hidden.

Canonical orientation
---------------------
Every loaded volume is re-oriented (by flips and axis swaps only, never resampling) so that
array index ``[i, j, k]`` increases towards patient **Left, Posterior, Superior** (LPS).
This is DICOM's own patient order, so a standard axial DICOM series needs no flip at all,
and the axial view is simply ``array[:, :, k].T`` with the patient's right on screen left
(radiological convention) and anterior at the top.

``affine`` maps canonical voxel indices to **RAS+ world millimetres** (the NIfTI / nibabel
convention used by 3D Slicer and ITK-SNAP on disk). Reports name coordinates in DICOM patient
(LPS) millimetres, obtained with :func:`ras_to_lps`.

The grid the file was stored on is kept in :class:`SourceGrid`, so label maps are written back
on the *source* grid and overlay the original file exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nibabel as nib
import numpy as np
from nibabel import orientations as ornt

CANONICAL_AXCODES = ("L", "P", "S")


@dataclass(frozen=True)
class SourceGrid:
    """The voxel grid of the file on disk, and how to map canonical arrays back onto it."""

    shape: tuple[int, int, int]
    affine: np.ndarray  # source voxel -> RAS mm
    to_canonical: np.ndarray  # nibabel orientation transform, source -> canonical

    def axcodes(self) -> str:
        return "".join(ornt.aff2axcodes(self.affine))


@dataclass
class Metadata:
    """Patient and series fields used in reports; all optional."""

    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    study_description: str = ""
    series_description: str = ""
    series_uid: str | None = None
    modality: str = "CT"
    manufacturer: str = ""
    source_path: str = ""
    source_format: str = ""  # "nifti" or "dicom"
    dicom_files: list[str] = field(default_factory=list)  # sorted source files, for DICOM SEG


@dataclass
class Volume:
    """A CT volume in canonical LPS voxel order (see module docstring)."""

    array: np.ndarray  # int16 HU where lossless, otherwise float32
    affine: np.ndarray  # canonical voxel -> RAS mm
    source: SourceGrid
    meta: Metadata = field(default_factory=Metadata)
    warnings: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.array.shape)  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along the canonical axes (L, P, S)."""
        return tuple(float(s) for s in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]

    @property
    def voxel_volume_ml(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3]))) / 1000.0

    def canonical_from_source(self, ijk) -> np.ndarray:
        """Voxel indices in the source file's array order -> canonical indices (the same voxel)."""
        ras = self.source.affine @ np.array([*map(float, ijk), 1.0])
        return np.round((np.linalg.inv(self.affine) @ ras)[:3]).astype(int)

    def source_slice(self, k: int) -> int:
        """Index along the source's third axis of canonical axial slice ``k`` (for DICOM: the file order)."""
        ras = self.affine @ np.array([0.0, 0.0, float(k), 1.0])
        return int(round(float((np.linalg.inv(self.source.affine) @ ras)[2])))

    def voxel_to_lps(self, ijk: np.ndarray) -> np.ndarray:
        """Canonical voxel coordinates (..., 3) -> DICOM patient LPS mm."""
        return ras_to_lps(nib.affines.apply_affine(self.affine, ijk))

    def to_source(self, canonical: np.ndarray) -> np.ndarray:
        """Map an array on the canonical grid (e.g. a label map) back onto the source grid."""
        back = ornt.ornt_transform(ornt.axcodes2ornt(CANONICAL_AXCODES), ornt.io_orientation(self.source.affine))
        return reorient(canonical, back)

    def labels_from_source(self, source_labels: np.ndarray) -> np.ndarray:
        """Map an array stored on the source grid onto the canonical grid (Fortran order, see below)."""
        return np.asfortranarray(reorient(source_labels, self.source.to_canonical))

    def new_labels(self) -> np.ndarray:
        """An empty label map for this volume.

        Volumes and label maps are Fortran-ordered (as NIfTI stores them), so an axial slice
        ``[:, :, k]`` is one contiguous block: scrolling axially, the common case, stays fast.
        """
        return np.zeros(self.shape, np.uint8, order="F")


def ras_to_lps(xyz: np.ndarray) -> np.ndarray:
    out = np.array(xyz, dtype=np.float64, copy=True)
    out[..., 0] *= -1
    out[..., 1] *= -1
    return out


def reorient(array: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """Apply a nibabel orientation transform (flips and swaps only; returns a view)."""
    return ornt.apply_orientation(array, transform)


def canonical_transform(affine: np.ndarray) -> np.ndarray:
    """The orientation transform that takes a source grid with ``affine`` to LPS."""
    return ornt.ornt_transform(ornt.io_orientation(affine), ornt.axcodes2ornt(CANONICAL_AXCODES))


def make_volume(
    source_array: np.ndarray,
    source_affine: np.ndarray,
    meta: Metadata,
    warnings: list[str] | None = None,
) -> Volume:
    """Build a canonical Volume from an array on its source grid and the source affine."""
    transform = canonical_transform(source_affine)
    array = reorient(source_array, transform)
    affine = source_affine @ ornt.inv_ornt_aff(transform, source_array.shape)
    grid = SourceGrid(
        shape=tuple(int(s) for s in source_array.shape),  # type: ignore[arg-type]
        affine=np.asarray(source_affine, dtype=np.float64),
        to_canonical=transform,
    )
    return Volume(array=array, affine=affine, source=grid, meta=meta, warnings=list(warnings or []))


def hu_array(raw: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Apply rescale slope/intercept, staying int16 when every value is exactly representable."""
    if float(slope).is_integer() and float(intercept).is_integer():
        lo = float(raw.min()) * slope + intercept if raw.size else 0.0
        hi = float(raw.max()) * slope + intercept if raw.size else 0.0
        lo, hi = min(lo, hi), max(lo, hi)
        if lo >= -32768 and hi <= 32767:
            if slope == 1 and intercept == 0 and raw.dtype == np.int16:
                return raw
            out = raw.astype(np.int16, copy=raw.dtype != np.int16)
            if slope != 1:
                out *= np.int16(slope)
            if intercept != 0:
                out += np.int16(intercept)
            return out
    out = raw.astype(np.float32)
    out *= np.float32(slope)
    out += np.float32(intercept)
    return out

