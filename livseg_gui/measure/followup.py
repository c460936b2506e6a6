"""Follow-up comparison: align a prior and a current study by their livers, match lesions, RECIST 1.1 response.

Alignment is a rigid translation in patient (LPS) millimetres, found by cross-correlating the two liver
masks on a common 4 mm grid (FFT). Patients lie differently between scans by several centimetres; the
liver, not the scanner's origin, anchors the comparison. Lesions are then matched one to one
(Hungarian assignment) by the distance between their aligned centroids, within a gate that grows with
lesion size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, signal
from scipy.optimize import linear_sum_assignment

from ..io.volume import Volume
from . import recist
from .lesions import Lesion, LiverAnalysis

GRID_MM = 4.0
MATCH_GATE_MM = 15.0  # plus half of the larger lesion's longest diameter


def _liver_points_mm(labels: np.ndarray, volume: Volume, step: int = 2) -> np.ndarray:
    ijk = np.argwhere(labels[::step, ::step, :] >= 1) * [step, step, 1]
    return volume.voxel_to_lps(ijk.astype(np.float64)) if len(ijk) else np.zeros((0, 3))


def liver_shift_mm(prior_labels: np.ndarray, prior: Volume, current_labels: np.ndarray, current: Volume) -> np.ndarray:
    """Translation t (LPS mm) with current ~ prior + t, maximising the livers' overlap."""
    a, b = _liver_points_mm(prior_labels, prior), _liver_points_mm(current_labels, current)
    if not len(a) or not len(b):
        return np.zeros(3)
    lo = np.minimum(a.min(0), b.min(0)) - GRID_MM
    hi = np.maximum(a.max(0), b.max(0)) + GRID_MM
    shape = np.ceil((hi - lo) / GRID_MM).astype(int) + 1

    def grid(pts: np.ndarray) -> np.ndarray:
        g = np.zeros(shape, np.float32)
        idx = np.floor((pts - lo) / GRID_MM).astype(int)
        g[tuple(idx.T)] = 1.0
        return ndimage.binary_closing(g > 0).astype(np.float32)

    ga, gb = grid(a), grid(b)
    corr = signal.fftconvolve(gb, ga[::-1, ::-1, ::-1], mode="full")
    peak = np.array(np.unravel_index(int(np.argmax(corr)), corr.shape))
    coarse = (peak - (np.array(ga.shape) - 1)) * GRID_MM
    # Below the grid step: match the centroids of the parts of each liver that overlap the other
    # (parts outside the other scan's coverage would bias a plain centroid difference).
    a_in = a[_inside(gb, a + coarse, lo)]
    b_in = b[_inside(ga, b - coarse, lo)]
    if len(a_in) > 100 and len(b_in) > 100:
        return coarse + (b_in.mean(0) - (a_in.mean(0) + coarse))
    return coarse


def _inside(g: np.ndarray, pts: np.ndarray, lo: np.ndarray) -> np.ndarray:
    idx = np.floor((pts - lo) / GRID_MM).astype(int)
    ok = np.all((idx >= 0) & (idx < np.array(g.shape)), axis=1)
    out = np.zeros(len(pts), bool)
    out[ok] = g[tuple(idx[ok].T)] > 0
    return out


@dataclass
class Match:
    prior: Lesion
    current: Lesion
    distance_mm: float


@dataclass
class Comparison:
    shift_mm: np.ndarray
    matched: list[Match] = field(default_factory=list)
    new: list[Lesion] = field(default_factory=list)
    resolved: list[Lesion] = field(default_factory=list)
    baseline_targets: list[int] = field(default_factory=list)  # prior lesion numbers
    baseline_sum_mm: float = 0.0
    current_sum_mm: float = 0.0
    response: recist.Response | None = None
    prior_tumour_ml: float = 0.0
    current_tumour_ml: float = 0.0

    def current_number(self, prior_number: int) -> int | None:
        return next((m.current.number for m in self.matched if m.prior.number == prior_number), None)


def match_lesions(prior: list[Lesion], current: list[Lesion], shift_mm: np.ndarray) -> tuple[list[Match], list, list]:
    """One-to-one matches by aligned centroid distance; (matched, new in current, resolved from prior)."""
    if not prior or not current:
        return [], list(current), list(prior)
    pa = np.array([les.centroid_mm for les in prior]) + shift_mm
    cb = np.array([les.centroid_mm for les in current])
    dist = np.linalg.norm(pa[:, None, :] - cb[None, :, :], axis=2)
    gate = MATCH_GATE_MM + 0.5 * np.maximum.outer([les.longest_diameter_mm for les in prior],
                                                  [les.longest_diameter_mm for les in current])
    cost = np.where(dist <= gate, dist, 1e6)
    rows, cols = linear_sum_assignment(cost)
    matched = [Match(prior[r], current[c], float(dist[r, c])) for r, c in zip(rows, cols) if cost[r, c] < 1e6]
    used_p = {m.prior.number for m in matched}
    used_c = {m.current.number for m in matched}
    return matched, [c for c in current if c.number not in used_c], [p for p in prior if p.number not in used_p]


def compare(prior: LiverAnalysis, prior_labels: np.ndarray, prior_volume: Volume,
            current: LiverAnalysis, current_labels: np.ndarray, current_volume: Volume) -> Comparison:
    """Align, match and classify the response (RECIST 1.1, targets chosen on the prior)."""
    shift = liver_shift_mm(prior_labels, prior_volume, current_labels, current_volume)
    matched, new, resolved = match_lesions(prior.lesions, current.lesions, shift)
    base = recist.select_targets([{"number": les.number, "longest_diameter_mm": les.longest_diameter_mm}
                                  for les in prior.lesions], prior_volume.spacing[2])
    now = {m.prior.number: m.current.longest_diameter_mm for m in matched}
    current_sum = sum(now.get(n, 0.0) for n in base["target_lesions"])
    out = Comparison(shift_mm=shift, matched=matched, new=new, resolved=resolved,
                     baseline_targets=base["target_lesions"], baseline_sum_mm=base["sum_of_diameters_mm"],
                     current_sum_mm=round(current_sum, 1), prior_tumour_ml=prior.tumour_volume_ml,
                     current_tumour_ml=current.tumour_volume_ml)
    out.response = recist.response(out.baseline_sum_mm, out.current_sum_mm, len(new), len(current.lesions),
                                   len(prior.lesions))
    return out


def _pct(before: float, after: float) -> float | None:
    return None if before == 0 else round(100.0 * (after - before) / before, 1)


def comparison_dict(c: Comparison) -> dict:
    """The JSON shape of a comparison (``recist_response``, ``matched``, ``new``, ``resolved`` at the top)."""
    def brief(les: Lesion) -> dict:
        return {"number": les.number, "volume_ml": round(les.volume_ml, 3), "longest_diameter_mm": round(les.longest_diameter_mm, 1),
                "short_axis_mm": round(les.short_axis_mm, 1), "slice": les.slice + 1, "location": les.location,
                "centroid_mm": [round(v, 1) for v in les.centroid_mm]}

    r = c.response
    return {
        "recist_response": r.category if r else None,
        "recist": {
            "category": r.category if r else None, "reason": r.reason if r else "",
            "baseline_targets": c.baseline_targets, "baseline_sum_mm": c.baseline_sum_mm,
            "current_sum_mm": c.current_sum_mm, "change_percent": None if not r or r.change_percent is None
            else round(r.change_percent, 1), "change_mm": round(r.change_mm, 1) if r else None,
            "rule": "RECIST 1.1: CR no lesion left; PR sum of target diameters <= -30 %; PD >= +20 % and >= +5 mm, "
                    "or any new lesion; else SD; NE when neither study has a lesion. Targets: up to 2 measurable liver "
                    "lesions on the prior",
        },
        "matched": [{"prior": brief(m.prior), "current": brief(m.current), "distance_mm": round(m.distance_mm, 1),
                     "volume_change_percent": _pct(m.prior.volume_ml, m.current.volume_ml),
                     "diameter_change_percent": _pct(m.prior.longest_diameter_mm, m.current.longest_diameter_mm),
                     "target": m.prior.number in c.baseline_targets} for m in c.matched],
        "new": [brief(les) for les in c.new],
        "resolved": [brief(les) for les in c.resolved],
        "tumour_volume_ml": {"prior": round(c.prior_tumour_ml, 3), "current": round(c.current_tumour_ml, 3),
                             "change_percent": _pct(c.prior_tumour_ml, c.current_tumour_ml)},
        "alignment": {"method": "rigid translation of the livers (FFT cross-correlation on a 4 mm grid)",
                      "shift_mm_lps": [round(float(v), 1) for v in c.shift_mm]},
    }
