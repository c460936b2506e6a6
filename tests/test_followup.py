"""Follow-up comparison: a shifted patient, a shrunk, a removed and a new lesion -> PD, right matches; CR."""

from __future__ import annotations

import numpy as np
import pytest

from livseg_gui.io.volume import Metadata, make_volume
from livseg_gui.measure import analyse
from livseg_gui.measure.followup import compare, comparison_dict

SP = (1.5, 1.5, 2.5)
SHAPE = (160, 150, 60)


def _ball(centre_mm, radius_mm):
    g = np.indices(SHAPE).astype(np.float64)
    return sum((g[a] * SP[a] - centre_mm[a]) ** 2 for a in range(3)) <= radius_mm**2


def _study(shift_mm=(0.0, 0.0, 0.0), lesions=()):
    """A liver ellipsoid with spherical lesions; ``shift_mm`` moves the anatomy inside the scanner."""
    s = np.asarray(shift_mm)
    g = np.indices(SHAPE).astype(np.float64)
    c = np.array([100.0, 110.0, 75.0]) + s
    liver = ((g[0] * SP[0] - c[0]) / 70) ** 2 + ((g[1] * SP[1] - c[1]) / 60) ** 2 + ((g[2] * SP[2] - c[2]) / 50) ** 2 <= 1
    lab = np.zeros(SHAPE, np.uint8)
    lab[liver] = 1
    for centre, radius in lesions:
        lab[_ball(np.asarray(centre) + s, radius) & liver] = 2
    aff = np.diag([-SP[0], -SP[1], SP[2], 1.0])  # LPS storage
    vol = make_volume(np.where(lab > 0, 60, -1000).astype(np.int16), aff, Metadata(source_format="nifti"))
    labels = vol.labels_from_source(lab)
    return vol, labels, analyse(labels, vol)


A, B, C, D = (80.0, 100.0, 70.0), (125.0, 120.0, 80.0), (95.0, 130.0, 95.0), (110.0, 85.0, 55.0)


def test_shifted_followup_with_shrunk_removed_and_new_lesions_is_pd():
    prior = _study(lesions=[(A, 15.0), (B, 10.0), (C, 7.0)])
    current = _study(shift_mm=(24.0, -18.0, 12.5), lesions=[(A, 9.0), (C, 7.0), (D, 8.0)])  # B gone, D new
    cmp = compare(prior[2], prior[1], prior[0], current[2], current[1], current[0])
    # The array is stored L, P, S (RAS affine diag(-1.5, -1.5, 2.5)): the anatomy's shift is the LPS shift.
    np.testing.assert_allclose(cmp.shift_mm, [24.0, -18.0, 12.5], atol=1.5)
    a_prior = prior[2].lesions[0]  # largest: A
    assert a_prior.longest_diameter_mm == pytest.approx(30, abs=2)
    assert len(cmp.matched) == 2 and len(cmp.new) == 1 and len(cmp.resolved) == 1
    assert cmp.resolved[0].longest_diameter_mm == pytest.approx(20, abs=2)  # B
    assert cmp.new[0].longest_diameter_mm == pytest.approx(16, abs=2)  # D
    shrunk = next(m for m in cmp.matched if m.prior.number == a_prior.number)
    assert shrunk.current.longest_diameter_mm == pytest.approx(18, abs=2) and shrunk.distance_mm < 3
    assert cmp.baseline_targets == [a_prior.number, cmp.resolved[0].number]
    assert cmp.response.category == "PD" and "new" in cmp.response.reason
    d = comparison_dict(cmp)
    assert d["recist_response"] == "PD" and len(d["matched"]) == 2 and len(d["new"]) == 1 and len(d["resolved"]) == 1


def test_shrinking_without_new_lesions_is_pr_and_all_gone_is_cr():
    prior = _study(lesions=[(A, 15.0), (B, 10.0)])
    smaller = _study(shift_mm=(-20.0, 10.0, -10.0), lesions=[(A, 9.0), (B, 6.0)])
    cmp = compare(prior[2], prior[1], prior[0], smaller[2], smaller[1], smaller[0])
    assert len(cmp.matched) == 2 and not cmp.new and not cmp.resolved
    assert cmp.response.category == "PR" and cmp.response.change_percent < -30
    gone = _study(shift_mm=(15.0, 0.0, 5.0))
    cmp = compare(prior[2], prior[1], prior[0], gone[2], gone[1], gone[0])
    assert cmp.response.category == "CR" and len(cmp.resolved) == 2 and cmp.current_sum_mm == 0


def test_compare_command_writes_json_csv_and_pdf(tmp_path, capsys):
    import json

    from livseg_gui.cli import main

    from .factory import write_nifti

    paths = {}
    for name, study in (("prior", _study(lesions=[(A, 15.0), (B, 10.0)])),
                        ("current", _study(shift_mm=(20.0, 0.0, 10.0), lesions=[(A, 18.0), (B, 10.0)]))):
        vol, labels, _ = study
        paths[name] = write_nifti(tmp_path / f"{name}.nii.gz", vol.to_source(vol.array), vol.source.affine)
        paths[name + "_labels"] = write_nifti(tmp_path / f"{name}-labels.nii.gz", vol.to_source(labels), vol.source.affine)
    out = tmp_path / "cmp"
    rc = main(["compare", str(paths["prior"]), str(paths["current"]), "--prior-labels", str(paths["prior_labels"]),
               "--current-labels", str(paths["current_labels"]), "--json", f"{out}.json", "--csv", f"{out}.csv",
               "--report", f"{out}.pdf"])
    assert rc == 0, capsys.readouterr().err
    result = json.loads((tmp_path / "cmp.json").read_text())
    # A grows 30 -> 36 mm, B stays 20 mm: sum 50 -> 56 mm is +12 %: stable disease.
    assert result["recist_response"] == "SD" and len(result["matched"]) == 2 and not result["new"]
    assert result["recist"]["baseline_sum_mm"] == pytest.approx(50, abs=3)
    assert "RECIST 1.1: SD" in capsys.readouterr().out
    assert (tmp_path / "cmp.csv").read_text().count("matched") == 2
    assert (tmp_path / "cmp.pdf").read_bytes().startswith(b"%PDF")
