"""DICOM SEG export and import (highdicom). Only for volumes loaded from DICOM.

Export writes one frame per source slice and segment: "Liver" (SNOMED Organ / Liver) and
"Tumor" (SNOMED Morphologically abnormal structure / Neoplasm), each with a recommended
display colour, referencing the source series. Import maps segments back to liver/tumour by
their property type or label, and refuses a SEG that references another series.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom

from .. import __version__
from ..errors import InputError
from ..labels import COLOURS, LIVER, TUMOUR
from .atomic import atomic_write
from .volume import Volume


def _rgb_to_cielab(rgb: tuple[int, int, int]):
    import highdicom as hd

    return hd.color.CIELabColor(*_srgb_to_lab(np.array(rgb, dtype=float) / 255.0))


def _srgb_to_lab(rgb: np.ndarray) -> tuple[float, float, float]:
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return float(116 * f[1] - 16), float(500 * (f[0] - f[1])), float(200 * (f[1] - f[2]))


def seg_unavailable_reason(volume: Volume) -> str | None:
    """Why a DICOM SEG cannot be written for this volume, from headers only (cheap: one file); None if it can."""
    if volume.meta.source_format != "dicom" or not volume.meta.dicom_files:
        return "needs a CT opened from DICOM (this one came from NIfTI): save a NIfTI mask instead"
    if len(volume.meta.dicom_files) != volume.source.shape[2]:
        return "the series was resampled to fill a missing slice, so a SEG cannot reference its images"
    try:
        ds = pydicom.dcmread(volume.meta.dicom_files[0], stop_before_pixels=True)
    except Exception:
        return "the source DICOM files changed or vanished since loading"
    missing = [k for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID") if not ds.get(k)]
    if missing:
        return f"the source DICOM lacks {', '.join(missing)} (removed by anonymisation?)"
    return None


def check_seg_possible(volume: Volume) -> None:
    """Raise InputError now if a SEG could not be written for this volume (before any work is done)."""
    _check_dicom_source(volume)


def _check_dicom_source(volume: Volume) -> list[pydicom.Dataset]:
    if volume.meta.source_format != "dicom" or not volume.meta.dicom_files:
        raise InputError("DICOM SEG needs a CT loaded from DICOM; this volume came from NIfTI (save a NIfTI label map instead)")
    if len(volume.meta.dicom_files) != volume.source.shape[2]:
        raise InputError("this series was resampled to fill a missing slice, so a SEG cannot reference its images; save NIfTI")
    try:
        sources = [pydicom.dcmread(f) for f in volume.meta.dicom_files]
    except Exception as exc:
        raise InputError(f"the source DICOM files changed or vanished since loading ({exc})") from None
    for ds in sources:
        missing = [k for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID") if not ds.get(k)]
        if missing:
            raise InputError(f"the source DICOM lacks {', '.join(missing)} (removed by anonymisation?), "
                             "so a DICOM SEG cannot reference it; save a NIfTI label map instead")
        # Real exports carry an empty SpecificCharacterSet, which highdicom rejects; empty means default.
        if "SpecificCharacterSet" in ds and not ds.SpecificCharacterSet:
            del ds.SpecificCharacterSet
    return sources


def write_seg(labels: np.ndarray, volume: Volume, path: str | Path, edited: bool = False) -> Path:
    """Write the canonical label map as a DICOM SEG referencing the source series, atomically."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    sources = _check_dicom_source(volume)
    src = volume.to_source(labels)  # (cols, rows, slices) in the order of sources
    frames = np.ascontiguousarray(np.moveaxis(src, 2, 0).transpose(0, 2, 1))  # (slices, rows, cols)
    # Two overlapping binary segments: Liver is the whole organ (tumour included, as LivSeg measures it:
    # label >= 1) and Tumor its own segment, so other viewers show a liver without holes.
    frames = np.stack([frames >= LIVER, frames == TUMOUR], axis=-1).astype(np.uint8)
    algo = hd.AlgorithmIdentificationSequence(
        name="LivSeg MobileUNet cascade", version=__version__, family=codes.cid7162.ArtificialIntelligence,
    )
    kind = hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC if edited else hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=LIVER, segment_label="Liver", segmented_property_category=codes.SCT.Organ,
            segmented_property_type=codes.SCT.Liver, algorithm_type=kind, algorithm_identification=algo,
            tracking_uid=hd.UID(), tracking_id="LivSeg liver", display_color=_rgb_to_cielab(COLOURS[LIVER]),
        ),
        hd.seg.SegmentDescription(
            segment_number=TUMOUR, segment_label="Tumor",
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm, algorithm_type=kind, algorithm_identification=algo,
            tracking_uid=hd.UID(), tracking_id="LivSeg tumour", display_color=_rgb_to_cielab(COLOURS[TUMOUR]),
            anatomic_regions=[codes.SCT.Liver],
        ),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # single-component patient names from real scanners
        seg = _segmentation(hd, sources, frames, descriptions)
    return atomic_write(path, lambda tmp: seg.save_as(str(tmp)))


def _segmentation(hd, sources, frames, descriptions):
    return hd.seg.Segmentation(
        source_images=sources, pixel_array=frames, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions, series_instance_uid=hd.UID(), series_number=900,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="LivSeg", manufacturer_model_name="LivSeg",
        software_versions=__version__, device_serial_number="0", series_description="LivSeg liver/tumour",
        omit_empty_frames=True,
    )


def _segment_label(desc) -> int | None:
    text = f"{getattr(desc, 'SegmentLabel', '')}".lower()
    try:
        prop = desc.SegmentedPropertyTypeCodeSequence[0]
        text += " " + str(prop.CodeMeaning).lower()
    except (AttributeError, IndexError):
        pass
    if any(w in text for w in ("tumor", "tumour", "neoplasm", "lesion", "mass", "metasta")):
        return TUMOUR
    if "liver" in text:
        return LIVER
    return None


def read_seg(path: str | Path, volume: Volume) -> tuple[np.ndarray, list[str]]:
    """Read a SEG on the open DICOM series; returns the canonical label map and notes."""
    import highdicom as hd

    sources = _check_dicom_source(volume)
    try:
        seg = hd.seg.segread(str(path))
    except Exception as exc:
        raise InputError(f"{Path(path).name}: not a readable DICOM SEG ({str(exc).splitlines()[0][:120]})") from None
    our_uids = [str(ds.SOPInstanceUID) for ds in sources]
    referenced = {str(item.ReferencedSOPInstanceUID)
                  for series in getattr(seg, "ReferencedSeriesSequence", [])
                  for item in getattr(series, "ReferencedInstanceSequence", [])}
    if referenced and not referenced & set(our_uids):
        raise InputError(f"{Path(path).name}: this SEG references another series, not the open CT")
    notes: list[str] = []
    mapping: dict[int, int] = {}
    for desc in seg.SegmentSequence:
        lab = _segment_label(desc)
        if lab is None:
            notes.append(f"segment {desc.SegmentNumber} '{desc.SegmentLabel}' is neither liver nor tumour; ignored")
        else:
            mapping[int(desc.SegmentNumber)] = lab
    if not mapping:
        raise InputError(f"{Path(path).name}: no liver or tumour segment in this SEG")
    usable = [u for u in our_uids if u in referenced] if referenced else our_uids
    pix = seg.get_pixels_by_source_instance(source_sop_instance_uids=usable, segment_numbers=list(mapping),
                                            combine_segments=False, ignore_spatial_locations=True)
    # pix: (frames, rows, cols, segments)
    src = np.zeros(volume.source.shape, np.uint8, order="F")
    index = {u: k for k, u in enumerate(our_uids)}
    for f, uid in enumerate(usable):
        k = index[uid]
        for s, seg_no in enumerate(mapping):
            m = pix[f, :, :, s].T > 0
            if mapping[seg_no] == TUMOUR:
                src[:, :, k][m] = TUMOUR
            else:
                src[:, :, k][m & (src[:, :, k] == 0)] = LIVER
    return volume.labels_from_source(src), notes
