"""One entry point for opening what a user points at: a NIfTI file or a DICOM folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .nifti import is_nifti_path, load_nifti
from .volume import Volume

if TYPE_CHECKING:  # pydicom costs ~0.3 s to import: a NIfTI-only run never pays it
    from .dicom import DicomSeries


@dataclass
class SeriesInfo:
    """What ``livseg info`` reports for one series (the JSON shape is part of the CLI contract)."""

    index: int
    uid: str | None
    description: str
    modality: str
    shape: tuple[int, int, int] | None
    spacing: tuple[float, float, float] | None
    orientation: str | None
    files: int
    set_aside: list[str]
    warnings: list[str]
    problem: str | None = None

    def as_json(self) -> dict:
        return {
            "index": self.index,
            "uid": self.uid,
            "description": self.description,
            "modality": self.modality,
            "shape": list(self.shape) if self.shape else None,
            "spacing": [round(float(v), 6) for v in self.spacing] if self.spacing else None,
            "orientation": self.orientation,
            "files": self.files,
            "set_aside": list(self.set_aside),
            "warnings": list(self.warnings),
            "loadable": self.problem is None,
            "problem": self.problem,
        }

    def label(self) -> str:
        shp = f"{self.shape[2]} slices" if self.shape else "no stack"
        sp = f"{self.spacing[0]:.2f}x{self.spacing[1]:.2f}x{self.spacing[2]:.2f} mm" if self.spacing else ""
        return f"#{self.index} {self.description or '(no description)'} [{self.modality}, {shp}, {sp}]"


def _dicom_info(i: int, s: DicomSeries) -> SeriesInfo:
    import nibabel as nib
    import numpy as np

    orientation = None
    if s.kept:
        ds = s.kept[0][1]
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
        lps = np.eye(4)
        lps[:3, 0], lps[:3, 1], lps[:3, 2] = iop[:3], iop[3:], np.cross(iop[:3], iop[3:])
        ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
        # Letters name the direction each axis increases towards (nibabel's axis codes).
        orientation = "".join(nib.orientations.aff2axcodes(ras))
    return SeriesInfo(
        index=i, uid=s.uid if not s.uid.startswith("(") else None, description=s.description,
        modality=s.modality, shape=s.shape(), spacing=s.spacing(), orientation=orientation,
        files=s.files, set_aside=list(s.set_aside), warnings=list(s.warnings), problem=s.problem,
    )


def list_series(path: str | Path) -> list[SeriesInfo]:
    """Describe every series at ``path`` without decoding pixels."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    if p.is_dir():
        from .dicom import probe_pixels, scan_folder

        found = scan_folder(p)
        for s in found:
            probe_pixels(s)
        return [_dicom_info(i, s) for i, s in enumerate(found, start=1)]
    if is_nifti_path(p):
        # A NIfTI is one file: validate it fully (NaN, truncation) so `info` never vouches for a bad one.
        vol = load_nifti(p)
        return [SeriesInfo(
            index=1, uid=None, description=p.name, modality="CT", shape=vol.source.shape,
            spacing=tuple(float(v) for v in np.linalg.norm(vol.source.affine[:3, :3], axis=0)),
            orientation=vol.source.axcodes(), files=1, set_aside=[], warnings=list(vol.warnings),
        )]
    if p.is_file():
        # A single DICOM file: treat its folder as the series source.
        raise InputError(f"{p.name}: open the folder that holds the DICOM series, or a .nii/.nii.gz file")
    raise InputError(f"{p}: not a file or folder")


def select_series(series: list, choice: str | int | None, path: str | Path):
    """Pick one series by 1-based index or UID; refuse ambiguity with the list."""
    loadable = [s for s in series if getattr(s, "problem", None) is None]
    if choice is None or choice == "":
        if len(series) == 1:
            return series[0]
        if len(loadable) == 1:
            return loadable[0]
        listing = "; ".join(_dicom_info(i, s).label() for i, s in enumerate(series, start=1))
        raise InputError(f"{path}: {len(series)} series found, choose one with --series N|UID: {listing}")
    text = str(choice)
    if text.isdigit():
        i = int(text)
        if 1 <= i <= len(series):
            return series[i - 1]
        raise InputError(f"{path}: no series #{i} (there are {len(series)})")
    for s in series:
        if s.uid == text:
            return s
    raise InputError(f"{path}: no series with UID {text}")


def load_volume(path: str | Path, series: str | int | None = None) -> Volume:
    """Open a NIfTI file or a DICOM folder as a canonical Volume."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    if p.is_dir():
        from .dicom import load_series, scan_folder

        found = scan_folder(p)
        return load_series(select_series(found, series, p))
    if is_nifti_path(p):
        if series not in (None, "", 1, "1"):
            raise InputError(f"{p.name}: a NIfTI file holds a single series")
        return load_nifti(p)
    list_series(p)  # raises the right message for other files
    raise InputError(f"{p}: unsupported input")

