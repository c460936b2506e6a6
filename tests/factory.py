"""Writers for the small synthetic NIfTI and DICOM inputs the tests build themselves."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

AXIAL_IOP = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def phantom(shape=(64, 56, 24), marker=(10, 40, 5)) -> np.ndarray:
    """Soft-tissue block in air with an asymmetric bright marker at canonical voxel ``marker``."""
    vol = np.full(shape, -1000, np.int16)
    vol[8:-8, 8:-8, :] = 40
    x, y, z = marker
    vol[x : x + 3, y : y + 2, z : z + 2] = 900
    return vol


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray, dtype=None) -> Path:
    img = nib.Nifti1Image(data if dtype is None else data.astype(dtype), affine)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    nib.save(img, str(path))
    return path


def slice_dataset(
    pixels: np.ndarray, ipp, iop=AXIAL_IOP, spacing=(0.8, 0.7), series_uid=None, study_uid=None,
    modality="CT", instance=1, description="synthetic", slope=1.0, intercept=-1024.0,
) -> Dataset:
    """One CT slice: ``pixels`` are HU in (rows, cols)."""
    sop = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop
    ds.Modality = modality
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.PatientName = "Test^Patient"
    ds.PatientID = "T0001"
    ds.StudyDate = "20260101"
    ds.SeriesDescription = description
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [float(v) for v in ipp]
    ds.ImageOrientationPatient = [float(v) for v in iop]
    ds.PixelSpacing = [float(spacing[0]), float(spacing[1])]
    ds.SliceThickness = 2.0
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    raw = np.round((pixels.astype(np.float64) - intercept) / slope).astype(np.int16)
    ds.PixelData = raw.tobytes()
    return ds


def write_series(folder: Path, hu: np.ndarray, spacing=(0.7, 0.8, 2.0), origin=(-20.0, -30.0, 100.0),
                 modality="CT", description="synthetic", series_uid=None, study_uid=None) -> list[Path]:
    """Write canonical LPS ``hu`` (x=cols, y=rows, z=slices) as an axial DICOM series."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    study_uid = study_uid or generate_uid()
    paths = []
    for k in range(hu.shape[2]):
        ipp = (origin[0], origin[1], origin[2] + k * spacing[2])
        ds = slice_dataset(hu[:, :, k].T, ipp, spacing=(spacing[1], spacing[0]), series_uid=series_uid,
                           study_uid=study_uid, modality=modality, instance=k + 1, description=description)
        p = folder / f"IM{k:04d}.dcm"
        ds.save_as(str(p), enforce_file_format=True)
        paths.append(p)
    return paths


def edit_headers(folder: Path, fn) -> Path:
    """Apply ``fn(dataset)`` to every DICOM file in ``folder`` and save it back."""
    import pydicom

    for p in sorted(folder.iterdir()):
        ds = pydicom.dcmread(p)
        fn(ds)
        ds.save_as(p)
    return folder


def lps_affine_as_ras(spacing, origin) -> np.ndarray:
    """RAS affine of an LPS-ordered axial grid (what LivSeg expects from a DICOM series)."""
    a = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])
    a[:3, 3] = [-origin[0], -origin[1], origin[2]]
    return a
