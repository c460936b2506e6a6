"""The report's content as one plain dict: JSON writes it, CSV flattens it, the PDF lays it out.

Building everything from one dict is what keeps the three outputs in agreement.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

from .. import __version__
from ..io.volume import Volume
from ..measure import recist
from ..measure.lesions import COORDINATES, Lesion, LiverAnalysis

LESION_FIELDS = (
    "number", "status", "category", "volume_ml", "longest_diameter_mm", "short_axis_mm", "max_extent_mm",
    "slice", "instance_number", "slice_position_s_mm", "slice_range", "location", "hemiliver", "segments",
    "centroid_mm", "from_liver_centroid_mm", "depth_mm", "hu_mean", "hu_std", "confidence",
)
SLICE_NOTE = ("slice: the axial slice where the diameters are measured (the key image), numbered 1..N from the "
              "inferior end as in the viewer; instance_number is that slice's DICOM InstanceNumber; "
              "slice_position_s_mm its S position")
COORDINATE_NOTE = ("centroid_mm: DICOM patient coordinates (LPS, origin set by the scanner); from_liver_centroid_mm: "
                   "the lesion centroid minus the liver's centroid, in mm along L, P, S (positive = towards the "
                   "patient's left, posterior, superior)")
LOW_CONFIDENCE = 0.9
CANDIDATE_NOTE = ("candidates: regions the tumour net marked below its operating threshold; they are not in the "
                  "mask, the tumour volume, the burden or the lesion count until a user confirms them")
NOTICE = "Research use only. Not for diagnosis or treatment decisions."


def build_report(
    analysis: LiverAnalysis, volume: Volume, model: dict | None = None, anonymise: bool = False,
    rejected: list[dict] | None = None, now: _dt.datetime | None = None, candidates: list | None = None,
) -> dict:
    """``candidates``: (name, :class:`~livseg_gui.segment.confidence.Candidate`) pairs still pending."""
    meta = volume.meta

    lesions = [lesion_entry(les, volume) for les in analysis.lesions]
    for r in rejected or []:
        lesions.append({**{k: _round(r.get(k)) for k in LESION_FIELDS}, "status": "rejected", "number": None})
    measured = [les for les in lesions if les["status"] != "rejected"]
    warnings = list(analysis.warnings)
    unsure = [les["number"] for les in measured if les["confidence"] is not None and les["confidence"] < LOW_CONFIDENCE]
    if unsure:
        warnings.append(f"low model confidence (< {LOW_CONFIDENCE:.0%}) for lesion(s) {', '.join(map(str, unsure))}: "
                        "review them")
    if candidates:
        warnings.append(f"{len(candidates)} unconfirmed candidate region(s) below the model's operating threshold: "
                        "not counted; review them in the viewer")
    return {
        "liver_volume_ml": round(analysis.liver_volume_ml, 2),
        "liver_volume_note": "whole organ, tumour included",
        "parenchyma_volume_ml": round(analysis.parenchyma_ml, 2),
        "tumour_volume_ml": round(analysis.tumour_volume_ml, 3),
        "burden_percent": round(analysis.burden_percent, 3),
        "lesion_count": len(analysis.lesions),
        "specks_ml": round(analysis.specks_ml, 3),
        "liver_extent_mm": [round(v, 1) for v in analysis.liver_extent_mm],
        "warnings": warnings,
        "recist": recist.select_targets(measured, volume.spacing[2]),
        "lesions": lesions,
        "slice_note": SLICE_NOTE,
        "coordinate_note": COORDINATE_NOTE,
        "candidates": [_candidate(name, c, volume) for name, c in candidates or []],
        "candidate_note": CANDIDATE_NOTE,
        "coordinates": COORDINATES,
        "location_method": "approximate: geometric split of the liver's own volume; see LivSeg docs",
        "source": {
            "path": "" if anonymise else meta.source_path,
            "format": meta.source_format,
            "patient_name": "" if anonymise else meta.patient_name,
            "patient_id": "" if anonymise else meta.patient_id,
            "study_date": "" if anonymise else meta.study_date,
            "series_description": meta.series_description,
            "series_uid": None if anonymise else meta.series_uid,
            "shape": list(volume.source.shape),
            "spacing_mm": [round(v, 4) for v in volume.spacing],
            "anonymised": anonymise,
        },
        "model": model or {},
        "software": f"LivSeg {__version__}",
        "generated_at": (now or _dt.datetime.now().astimezone()).isoformat(timespec="seconds"),
        "notice": NOTICE,
    }


def lesion_entry(les: Lesion, volume: Volume) -> dict:
    """A lesion as the report shows it: 1-based slices with their DICOM InstanceNumber and S position."""
    d = les.as_dict()
    d["slice"] = les.slice + 1
    d["slice_range"] = [les.slice_range[0] + 1, les.slice_range[1] + 1]
    d["instance_number"] = instance_number(volume, les.slice)
    d["slice_position_s_mm"] = float(volume.voxel_to_lps(np.array([0.0, 0.0, les.slice]))[2])
    d["segments"] = ", ".join(les.segments) + " (approximate)" if les.segments else "indeterminate"
    return {k: _round(d[k]) for k in LESION_FIELDS}


def instance_number(volume: Volume, k: int) -> int | None:
    """The DICOM InstanceNumber of canonical slice ``k``, or None (NIfTI, or a resampled missing slice)."""
    files = volume.meta.dicom_files
    if not files or len(files) != volume.source.shape[2]:
        return None
    try:
        import pydicom

        ds = pydicom.dcmread(files[volume.source_slice(k)], stop_before_pixels=True, specific_tags=["InstanceNumber"])
        return int(ds.InstanceNumber) if "InstanceNumber" in ds else None
    except (OSError, ValueError, IndexError, TypeError, AttributeError):
        return None


def _candidate(name: str, cand, volume: Volume) -> dict:
    centroid = cand.centroid_voxel
    return {"name": name, "confidence": round(cand.confidence, 3), "volume_ml": round(cand.volume_ml, 3),
            "centroid_mm": _round([float(v) for v in volume.voxel_to_lps(centroid)]),
            "slice": int(round(centroid[2])) + 1}


def _round(v):
    if isinstance(v, float):
        return round(v, 2)
    if isinstance(v, (list, tuple)):
        return [_round(x) for x in v]
    return v
