"""The report's content as one plain dict: JSON writes it, CSV flattens it, the PDF lays it out.

Building everything from one dict is what keeps the three outputs in agreement.
"""

from __future__ import annotations

import datetime as _dt

from .. import __version__
from ..io.volume import Volume
from ..measure.lesions import COORDINATES, LiverAnalysis

LESION_FIELDS = (
    "number", "status", "volume_ml", "longest_diameter_mm", "short_axis_mm", "max_extent_mm",
    "centroid_mm", "slice", "slice_range", "lobe", "segment", "depth_mm", "hu_mean", "hu_std", "confidence",
)
CANDIDATE_NOTE = ("candidates: regions the tumour net marked below its operating threshold; they are not in the "
                  "mask, the tumour volume, the burden or the lesion count until a user confirms them")
NOTICE = "Research use only. Not for diagnosis or treatment decisions."


def build_report(
    analysis: LiverAnalysis, volume: Volume, model: dict | None = None, anonymise: bool = False,
    rejected: list[dict] | None = None, now: _dt.datetime | None = None, candidates: list | None = None,
) -> dict:
    """``candidates``: (name, :class:`~livseg_gui.segment.confidence.Candidate`) pairs still pending."""
    meta = volume.meta

    lesions = []
    for les in analysis.lesions:
        d = les.as_dict()
        # Slices are reported 1-based (inferior -> superior), as viewers number them.
        d["slice"] = les.slice + 1
        d["slice_range"] = [les.slice_range[0] + 1, les.slice_range[1] + 1]
        lesions.append({k: _round(d[k]) for k in LESION_FIELDS})
    for r in rejected or []:
        lesions.append({**{k: _round(r.get(k)) for k in LESION_FIELDS}, "status": "rejected", "number": None})
    return {
        "liver_volume_ml": round(analysis.liver_volume_ml, 2),
        "tumour_volume_ml": round(analysis.tumour_volume_ml, 3),
        "burden_percent": round(analysis.burden_percent, 3),
        "lesion_count": len(analysis.lesions),
        "liver_extent_mm": [round(v, 1) for v in analysis.liver_extent_mm],
        "lesions": lesions,
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
