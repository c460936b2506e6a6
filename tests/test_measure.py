"""Known-answer measurements and report agreement (JSON, CSV, PDF)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess

import numpy as np
import pytest

from livseg_gui.io.volume import Metadata, make_volume
from livseg_gui.measure import analyse
from livseg_gui.measure.metrics import Overlap, lesion_detection
from livseg_gui.report import build_report, write_csv, write_json, write_pdf

SPACING = (0.7, 0.8, 2.5)


def _volume(shape, spacing=SPACING, hu=None):
    aff = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])  # LPS storage
    arr = np.zeros(shape, np.int16) if hu is None else hu
    return make_volume(arr, aff, Metadata(patient_name="Doe^Jane", patient_id="P123", study_date="20260101",
                                          series_description="test", source_path="/tmp/x", source_format="nifti"))


def _sphere(shape, centre_mm, radius_mm, spacing=SPACING):
    g = np.indices(shape).astype(np.float64)
    d2 = sum(((g[a] * spacing[a]) - centre_mm[a]) ** 2 for a in range(3))
    return d2 <= radius_mm**2


@pytest.fixture
def liver_with_two_lesions():
    shape = (200, 180, 48)
    liver = _sphere(shape, (70, 72, 60), 55)
    lab = np.zeros(shape, np.uint8)
    lab[liver] = 1
    big = _sphere(shape, (60, 72, 60), 10)
    small = _sphere(shape, (100, 60, 70), 5)
    lab[big | small] = 2
    hu = np.where(lab == 2, -20, np.where(lab == 1, 60, -1000)).astype(np.int16)
    return _volume(shape, hu=hu), lab


def test_sphere_of_radius_10mm(liver_with_two_lesions):
    vol, lab = liver_with_two_lesions
    a = analyse(vol.labels_from_source(lab), vol)
    les = a.lesions[0]
    assert les.volume_ml == pytest.approx(4 / 3 * np.pi * 1000 / 1000, rel=0.02)
    assert les.longest_diameter_mm == pytest.approx(20.0, abs=0.8)
    assert les.short_axis_mm == pytest.approx(20.0, abs=0.8)
    assert les.max_extent_mm == pytest.approx(20.0, abs=2.5)
    assert les.hu_mean == pytest.approx(-20) and les.hu_std == pytest.approx(0)
    np.testing.assert_allclose(vol.voxel_to_lps(np.array(les.centroid_voxel)), les.centroid_mm)


def test_two_separate_spheres_are_two_lesions_numbered_by_size(liver_with_two_lesions):
    vol, lab = liver_with_two_lesions
    a = analyse(vol.labels_from_source(lab), vol)
    assert [les.number for les in a.lesions] == [1, 2]
    assert a.lesions[0].volume_ml > a.lesions[1].volume_ml
    assert sum(les.volume_ml for les in a.lesions) == pytest.approx(a.tumour_volume_ml)
    assert a.liver_volume_ml == pytest.approx(4 / 3 * np.pi * 55**3 / 1000, rel=0.02)
    assert a.burden_percent == pytest.approx(100 * a.tumour_volume_ml / a.liver_volume_ml)
    # Depth: the big lesion's edge is ~35 mm from the liver surface (55 - 10 - 10 mm offset).
    assert a.lesions[0].depth_mm == pytest.approx(35, abs=3)


def test_lobe_assignment_on_a_hand_made_liver():
    """A box liver: canonical x grows to patient Left; the right lobe is the 60 % on the right."""
    shape = (100, 60, 30)
    lab = np.zeros(shape, np.uint8)
    lab[10:90, 10:50, 5:25] = 1
    lab[15:20, 28:32, 14:17] = 2  # far patient-right
    lab[80:85, 28:32, 14:17] = 2  # far patient-left
    sp = (1.0, 1.0, 1.0)
    vol = make_volume(np.zeros(shape, np.int16), np.diag([-1.0, -1.0, 1.0, 1.0]), Metadata())
    a = analyse(lab, vol)
    by_x = sorted(a.lesions, key=lambda les: les.centroid_voxel[0])
    assert [les.hemiliver for les in by_x] == ["right", "left"]
    assert set(by_x[1].segments) <= {"II", "III", "IV"} and by_x[1].segments
    assert set(by_x[0].segments) <= {"V", "VI", "VII", "VIII"} and by_x[0].segments
    assert sp  # spacing is the identity here


def test_no_lesions_gives_zero_burden():
    shape = (40, 40, 10)
    lab = np.zeros(shape, np.uint8)
    lab[5:30, 5:30, 2:8] = 1
    vol = _volume(shape)
    a = analyse(vol.labels_from_source(lab), vol)
    assert a.lesions == [] and a.tumour_volume_ml == 0 and a.burden_percent == 0


def test_json_csv_pdf_agree(tmp_path, liver_with_two_lesions):
    vol, lab = liver_with_two_lesions
    labels = vol.labels_from_source(lab)
    a = analyse(labels, vol)
    rep = build_report(a, vol, model={"version": "test", "summary": "unit test"})
    write_json(rep, tmp_path / "r.json")
    write_csv(rep, tmp_path / "r.csv")
    write_pdf(rep, a, vol, labels, tmp_path / "r.pdf")
    j = json.loads((tmp_path / "r.json").read_text())
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert len(rows) == len(j["lesions"]) == 2
    for row, les in zip(rows, j["lesions"]):
        assert float(row["volume_ml"]) == les["volume_ml"]
        assert float(row["longest_diameter_mm"]) == les["longest_diameter_mm"]
    assert sum(les["volume_ml"] for les in j["lesions"]) == pytest.approx(j["tumour_volume_ml"], abs=0.02)
    for key in ("liver_volume_ml", "tumour_volume_ml", "burden_percent", "lesions", "source", "model", "generated_at"):
        assert key in j
    for key in ("volume_ml", "longest_diameter_mm", "short_axis_mm", "centroid_mm", "slice", "location", "segments", "status"):
        assert key in j["lesions"][0]
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert "Research use only" in text
        assert f"{j['liver_volume_ml']:.1f} mL" in text
        assert f"{j['lesions'][0]['volume_ml']:.2f}" in text
        assert "Doe^Jane" in text


def test_anonymised_report_has_no_patient_fields(tmp_path, liver_with_two_lesions):
    vol, lab = liver_with_two_lesions
    labels = vol.labels_from_source(lab)
    a = analyse(labels, vol)
    rep = build_report(a, vol, anonymise=True)
    assert rep["source"]["patient_name"] == "" and rep["source"]["patient_id"] == "" and rep["source"]["path"] == ""
    write_pdf(rep, a, vol, labels, tmp_path / "anon.pdf")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(tmp_path / "anon.pdf"), "-"], capture_output=True, text=True).stdout
        assert "Doe" not in text and "P123" not in text


def test_overlap_metrics_known_answers():
    pred = np.zeros(100, bool)
    gt = np.zeros(100, bool)
    pred[:30] = True
    gt[10:50] = True
    o = Overlap.of(pred, gt)
    assert (o.tp, o.fp, o.fn, o.tn) == (20, 10, 20, 50)
    assert o.dice == pytest.approx(40 / 70)
    assert o.sensitivity == pytest.approx(0.5)
    assert o.specificity == pytest.approx(50 / 60)
    assert o.accuracy == pytest.approx(0.7)
    assert o.efficiency == pytest.approx((0.5 + 50 / 60 + 0.7) / 3)
    assert Overlap.of(np.zeros(5, bool), np.zeros(5, bool)).dice == 1.0


def test_lesion_detection_needs_a_quarter_of_a_lesion_of_10mm_or_more():
    shape = (60, 60, 60)
    sp = (1.0, 1.0, 1.0)
    big_a, big_b = _sphere(shape, (15, 15, 15), 8, sp), _sphere(shape, (45, 15, 30), 7, sp)
    gt = big_a | _sphere(shape, (45, 45, 45), 3, sp) | big_b
    # A few voxels on a big lesion do not find it (the old criterion counted this as found).
    speck = _sphere(shape, (15, 15, 15), 2, sp)
    d = lesion_detection(speck, gt, sp)
    assert (d.found, d.total, d.predicted, d.predicted_true) == (0, 2, 1, 1)
    # Half of big_a (well over 25 %) plus a false lesion elsewhere.
    half = big_a.copy()
    half[:15] = False
    false = _sphere(shape, (45, 45, 10), 4, sp)
    d = lesion_detection(half | false, gt, sp)
    assert (d.found, d.total, d.predicted, d.predicted_true) == (1, 2, 2, 1)
    assert d.recall == 0.5 and d.precision == 0.5
    # Exactly at the threshold: 25 % of the voxels.
    idx = np.flatnonzero(big_b)
    quarter = np.zeros(shape, bool)
    quarter.flat[idx[: int(np.ceil(0.25 * idx.size))]] = True
    assert lesion_detection(quarter, gt, sp).found == 1
    quarter.flat[idx[int(np.ceil(0.25 * idx.size)) - 1]] = False
    assert lesion_detection(quarter, gt, sp).found == 0


def test_recist_short_axis_of_a_crescent_is_its_thickness_not_its_caliper():
    """A half-ring (outer radius 20 mm, inner 12 mm): long axis 40 mm across the horns. The caliper width
    perpendicular to it is 20 mm; the longest perpendicular chord inside the lesion runs along the inner
    edge's tangent, sqrt(20^2 - 12^2) = 16 mm (plus the one-voxel convention, 0.5 mm)."""
    shape = (120, 120, 6)
    sp = (0.5, 0.5, 2.0)
    g = np.ogrid[: shape[0], : shape[1], : shape[2]]
    r = np.sqrt(((g[0] - 60) * sp[0]) ** 2 + ((g[1] - 60) * sp[1]) ** 2)
    crescent = (r <= 20) & (r >= 12) & (g[1] >= 60) & (g[2] >= 1) & (g[2] <= 4)
    lab = np.zeros(shape, np.uint8)
    lab[10:110, 10:110, :] = 1
    lab[crescent] = 2
    vol = _volume(shape, spacing=sp)
    les = analyse(vol.labels_from_source(lab), vol).lesions[0]
    assert les.longest_diameter_mm == pytest.approx(40.0, abs=1.0)
    assert les.short_axis_mm == pytest.approx(16.5, abs=0.8)  # the caliper method gave 20.5
    (a, b) = les.short_axis_endpoints
    assert np.hypot(a[0] - b[0], a[1] - b[1]) * 0.5 == pytest.approx(les.short_axis_mm - 0.5, abs=1.0)
    assert abs(a[0] - b[0]) < 1.0  # the short axis runs along y, perpendicular to the horn-to-horn long axis


def test_recist_target_selection_and_categories():
    from livseg_gui.measure.recist import category, select_targets

    lesions = [{"number": 1, "longest_diameter_mm": 42.0}, {"number": 2, "longest_diameter_mm": 8.0},
               {"number": 3, "longest_diameter_mm": 15.0}, {"number": 4, "longest_diameter_mm": 31.0},
               {"number": 5, "longest_diameter_mm": 12.0}]
    block = select_targets(lesions, slice_thickness_mm=5.0)
    assert block["target_lesions"] == [1, 4]
    assert block["sum_of_diameters_mm"] == 73.0
    assert block["non_target_lesions"] == [2, 3, 5]
    assert block["too_small_to_characterise"] == [2]
    # 12 mm on 7 mm slices: >= 10 mm but < 2x slice thickness.
    assert category(12.0, 7.0) == "non-measurable" and category(12.0, 5.0) == "measurable"
    assert select_targets(lesions, slice_thickness_mm=8.0)["target_lesions"] == [1, 4]
    assert select_targets([{"number": 1, "longest_diameter_mm": 9.9}], 1.0)["target_lesions"] == []


@pytest.mark.parametrize("base, now, new, left, expected", [
    (50.0, 0.0, 0, 0, "CR"),
    (50.0, 35.0, 0, 2, "PR"),  # -30 % exactly
    (50.0, 36.0, 0, 2, "SD"),  # -28 %
    (50.0, 60.0, 0, 2, "PD"),  # +20 % and +10 mm
    (20.0, 24.0, 0, 2, "SD"),  # +20 % but only +4 mm: the 5 mm rule
    (20.0, 25.0, 0, 2, "PD"),  # +25 % and +5 mm
    (50.0, 20.0, 1, 2, "PD"),  # any new lesion
])
def test_recist_response_categories(base, now, new, left, expected):
    from livseg_gui.measure.recist import response

    assert response(base, now, new, left).category == expected


def test_recist_response_without_a_lesion_in_either_study_is_not_evaluable_not_complete():
    from livseg_gui.measure.recist import response

    assert response(0.0, 0.0, 0, 0, lesions_before=0).category == "NE"
    assert response(0.0, 0.0, 0, 0, lesions_before=1).category == "CR"  # a small lesion gone is still a CR
