"""RECIST 1.1 for liver lesions: what is a lesion at all, which are measurable, target selection, response.

- A component smaller than :data:`MIN_LESION_ML` or under :data:`MIN_WIDTH_VOXELS` voxels across in every
  direction is noise (a brush speck), not a lesion.
- Measurable: long axis >= 10 mm and >= 2x the slice thickness.
- Too small to characterise: long axis < 10 mm (listed, never a target).
- Targets: the largest measurable lesions, at most :data:`MAX_TARGETS_PER_ORGAN` (2) in the liver.
- Response from the targets' sum of diameters: CR (no lesions left), PR (<= -30 %), PD (>= +20 % and
  >= +5 mm absolute, or any new lesion), else SD; NE (not evaluable) when neither study has a lesion.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_LESION_ML = 0.02
MIN_WIDTH_VOXELS = 3
MIN_MEASURABLE_MM = 10.0
MAX_TARGETS_PER_ORGAN = 2
MEASURABLE_RULE = ("RECIST 1.1: measurable when the longest axial diameter is >= 10 mm and >= 2x the slice "
                   "thickness; at most 2 target lesions per organ (the largest measurable); the rest are non-target")


def is_lesion(volume_ml: float, extent_voxels: tuple[int, int, int]) -> bool:
    """A component is a lesion only if it is big enough in volume and at least 3 voxels wide somewhere."""
    return volume_ml >= MIN_LESION_ML and max(extent_voxels) >= MIN_WIDTH_VOXELS


def is_measurable(longest_mm: float, slice_thickness_mm: float) -> bool:
    return longest_mm >= MIN_MEASURABLE_MM and longest_mm >= 2 * slice_thickness_mm


def category(longest_mm: float, slice_thickness_mm: float) -> str:
    """'measurable', 'non-measurable' (>= 10 mm but < 2x slice thickness) or 'too small to characterise'."""
    if longest_mm < MIN_MEASURABLE_MM:
        return "too small to characterise"
    return "measurable" if is_measurable(longest_mm, slice_thickness_mm) else "non-measurable"


def select_targets(lesions: list[dict], slice_thickness_mm: float) -> dict:
    """The JSON ``recist`` block from lesion dicts (``number``, ``longest_diameter_mm``)."""
    measurable = [les for les in lesions if is_measurable(les["longest_diameter_mm"], slice_thickness_mm)]
    measurable.sort(key=lambda les: -les["longest_diameter_mm"])
    targets = measurable[:MAX_TARGETS_PER_ORGAN]
    target_ids = [les["number"] for les in targets]
    return {
        "target_lesions": target_ids,
        "sum_of_diameters_mm": round(sum(les["longest_diameter_mm"] for les in targets), 1),
        "non_target_lesions": [les["number"] for les in lesions if les["number"] not in target_ids],
        "too_small_to_characterise": [les["number"] for les in lesions
                                      if les["longest_diameter_mm"] < MIN_MEASURABLE_MM],
        "measurable_rule": MEASURABLE_RULE,
    }


@dataclass(frozen=True)
class Response:
    category: str  # CR, PR, SD, PD, NE
    change_percent: float | None
    change_mm: float
    reason: str


def response(baseline_sum_mm: float, current_sum_mm: float, new_lesions: int, lesions_left: int,
             lesions_before: int | None = None) -> Response:
    """RECIST 1.1 target response (the prior's targets, measured then and now). With no lesion in either
    study (``lesions_before`` 0) there is no response to assess: NE, not a complete response."""
    change_mm = current_sum_mm - baseline_sum_mm
    pct = 100.0 * change_mm / baseline_sum_mm if baseline_sum_mm > 0 else None
    if new_lesions > 0:
        return Response("PD", pct, change_mm, f"{new_lesions} new lesion(s)")
    if lesions_left == 0 and lesions_before == 0:
        return Response("NE", pct, change_mm, "no lesion in either study")
    if lesions_left == 0:
        return Response("CR", pct, change_mm, "no lesion left")
    if pct is not None and pct >= 20.0 and change_mm >= 5.0:
        return Response("PD", pct, change_mm, f"sum of diameters +{pct:.0f} % (+{change_mm:.1f} mm)")
    if pct is not None and pct <= -30.0:
        return Response("PR", pct, change_mm, f"sum of diameters {pct:.0f} %")
    why = "no measurable target at baseline" if pct is None else f"sum of diameters {pct:+.0f} % ({change_mm:+.1f} mm)"
    return Response("SD", pct, change_mm, why)
