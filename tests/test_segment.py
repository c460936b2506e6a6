"""The ONNX cascade and `livseg segment`: geometry, labels, cancellation, progress, errors."""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pytest

from livseg_gui.cli import main
from livseg_gui.errors import Cancelled, InputError, ModelError
from livseg_gui.io.volume import Metadata, make_volume
from livseg_gui.segment import Cascade

from .conftest import MODELS, SAMPLE, needs_models
from .factory import phantom, write_nifti, write_series

pytestmark = needs_models


def test_cascade_on_the_sample(sample_volume, sample_result):
    labels = sample_result.labels
    assert labels.shape == sample_volume.shape and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= {0, 1, 2}
    liver_ml = (labels >= 1).sum() * sample_volume.voxel_volume_ml
    assert liver_ml > 200  # the 20 slices (40 mm) cut through a normal liver
    for key in ("liver_s", "tumour_s", "total_s"):
        assert key in sample_result.timings


def test_tumour_is_inside_the_liver(sample_result):
    from livseg_gui.edit.tools import tumour_outside_liver

    assert not tumour_outside_liver(sample_result.labels).any()


def test_progress_reaches_one_and_cancel_stops(sample_volume, cascade):
    seen = []
    cascade.run(sample_volume, progress=lambda f, s: seen.append((f, s)))
    assert seen[-1][0] == 1.0 and all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(Cancelled):
        cascade.run(sample_volume, cancel=cancel)
    assert len(calls) == 2  # stopped at the next batch


def test_streamed_slabs_cover_every_slice(sample_volume, cascade):
    covered = np.zeros(sample_volume.shape[2], bool)

    def on_slab(k0, k1, data):
        assert data.shape == sample_volume.shape[:2] + (k1 - k0,)
        covered[k0:k1] = True

    cascade.run(sample_volume, on_slab=on_slab)
    assert covered.all()


def test_no_liver_gives_an_empty_mask_and_a_warning(cascade):
    head = np.full((128, 128, 12), -1000, np.int16)
    yy, xx = np.mgrid[:128, :128]
    head[(xx - 64) ** 2 + (yy - 64) ** 2 < 50**2] = 1200  # skull
    head[(xx - 64) ** 2 + (yy - 64) ** 2 < 45**2] = 35  # brain
    vol = make_volume(head, np.diag([-1.5, -1.5, 5.0, 1.0]), Metadata())
    res = cascade.run(vol)
    assert not res.labels.any()
    assert res.warnings and "abdominal CT" in res.warnings[0]


def test_implausible_liver_checks():
    from livseg_gui.segment.cascade import implausible_liver

    body = np.full((100, 80, 6), -1000, np.int16)
    body[10:90, 10:70] = 40
    vol = make_volume(body, np.diag([-1.0, -1.0, 1.0, 1.0]), Metadata())
    right = np.zeros(body.shape, bool)
    right[12:40, 20:50] = True  # canonical x small = patient right
    assert implausible_liver(vol, right) is None
    assert "right abdomen" in implausible_liver(vol, right[::-1])
    assert "fills" in implausible_liver(vol, body > 0)


def test_too_small_volume_is_refused(cascade):
    vol = make_volume(np.zeros((16, 16, 4), np.int16), np.eye(4), Metadata())
    with pytest.raises(InputError, match="too small"):
        cascade.run(vol)


def test_cli_segment_output_is_on_the_source_grid(tmp_path):
    src = tmp_path / "ct.nii.gz"
    shutil.copy(SAMPLE.parent / "ts-example-ct.nii.gz", src) if (SAMPLE.parent / "ts-example-ct.nii.gz").exists() else \
        _nifti_from_sample(src)
    out = tmp_path / "mask.nii.gz"
    assert main(["segment", str(src), "-o", str(out), "--json", str(tmp_path / "r.json"), "--csv",
                 str(tmp_path / "r.csv"), "--report", str(tmp_path / "r.pdf"), "--threads", "2",
                 "--probability", str(tmp_path / "p.nii.gz")]) == 0
    a, b, p = nib.load(str(src)), nib.load(str(out)), nib.load(str(tmp_path / "p.nii.gz"))
    assert a.shape == b.shape == p.shape
    np.testing.assert_allclose(a.affine, b.affine)
    np.testing.assert_allclose(a.affine, p.affine)
    assert b.get_data_dtype() == np.uint8
    mask, prob = np.asarray(b.dataobj), np.asarray(p.dataobj)
    assert 0.0 < prob.max() <= 1.0 + 1e-6
    # On the source grid as the mask is: what the net found lies in the liver (it saw the liver's box only).
    assert (prob[mask >= 1] > 0).sum() > 5 * (prob[mask == 0] > 0).sum()
    assert not (mask == 2).any() or np.median(prob[mask == 2]) >= 0.9  # a lesion passed the voxel threshold
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["liver_volume_ml"] > 200
    assert (tmp_path / "r.pdf").read_bytes()[:4] == b"%PDF"


def _nifti_from_sample(path):
    from livseg_gui.io import load_volume

    vol = load_volume(SAMPLE)
    # Store it RAS-flipped so the round trip to the source grid is non-trivial.
    src = vol.array[::-1, ::-1, :]
    aff = vol.affine.copy()
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[0, 3], flip[1, 3] = vol.shape[0] - 1, vol.shape[1] - 1
    write_nifti(path, np.ascontiguousarray(src), aff @ flip)


def test_cli_segment_dicom_with_seg_output(tmp_path):
    from livseg_gui.io import load_volume
    from livseg_gui.io.seg import read_seg

    src = tmp_path / "dcm"
    shutil.copytree(SAMPLE.parent.parent.parent / "tests" / "data" / "dcmqi-ct3slice", src)
    (src / "liver_seg.dcm").unlink()
    rc = main(["segment", str(src), "-o", str(tmp_path / "m.nii.gz"), "--seg", str(tmp_path / "m.dcm")])
    assert rc == 0
    vol = load_volume(src)
    labels, _ = read_seg(tmp_path / "m.dcm", vol)
    saved = nib.load(str(tmp_path / "m.nii.gz"))
    np.testing.assert_array_equal(vol.labels_from_source(np.asarray(saved.dataobj)), labels)


def test_cli_refuses_multi_series_folder_without_series(tmp_path, capsys):
    write_series(tmp_path / "in" / "a", phantom(), description="arterial")
    write_series(tmp_path / "in" / "b", phantom(), description="venous")
    rc = main(["segment", str(tmp_path / "in"), "-o", str(tmp_path / "m.nii.gz")])
    err = capsys.readouterr().err
    assert rc == 3 and "--series" in err and "arterial" in err and "venous" in err
    assert not (tmp_path / "m.nii.gz").exists()


def test_cli_missing_models_exit_3(tmp_path, capsys):
    rc = main(["segment", str(SAMPLE), "-o", str(tmp_path / "m.nii.gz"), "--models", str(tmp_path / "none")])
    assert rc == 3 and "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "m.nii.gz").exists()


def test_corrupt_or_mismatched_models_are_refused(tmp_path):
    bad = tmp_path / "models"
    shutil.copytree(MODELS, bad)
    (bad / "tumour.onnx").write_bytes((bad / "tumour.onnx").read_bytes()[:1000])
    with pytest.raises(ModelError, match="sha256|corrupt"):
        Cascade(bad)
    card = json.loads((bad / "model_card.json").read_text())
    card["nets"]["tumour"]["sha256"] = None
    (bad / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="not a loadable ONNX"):
        Cascade(bad)
    shutil.copy(MODELS / "tumour.onnx", bad / "tumour.onnx")
    card["nets"]["tumour"]["input_size"] = 999
    (bad / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not match the model card"):
        Cascade(bad)
    (bad / "model_card.json").write_text("{not json")
    with pytest.raises(ModelError, match="unreadable model card"):
        Cascade(bad)


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["segment", str(SAMPLE)])  # no -o
    assert exc.value.code == 2
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path / "m.png")]) == 2
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path / "nowhere" / "m.nii.gz")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    capsys.readouterr()


def test_cli_info_json(capsys):
    assert main(["info", str(SAMPLE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (s,) = data["series"]
    assert s["index"] == 1 and s["modality"] == "CT" and s["shape"] == [512, 512, 20] and s["files"] == 20


def test_evaluate_prints_the_papers_metrics(tmp_path, capsys):
    case = tmp_path / "cases" / "sample"
    case.mkdir(parents=True)
    _nifti_from_sample(case / "ct.nii.gz")
    from livseg_gui.io import load_volume
    from livseg_gui.io.nifti import save_labels_nifti

    vol = load_volume(case / "ct.nii.gz")
    labels = Cascade(MODELS).run(vol).labels
    save_labels_nifti(labels, vol, case / "label.nii.gz")  # the cascade's own output as truth: Dice 1
    assert main(["evaluate", "--data", str(tmp_path / "cases"), "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "Dice" in out and "Eff" in out
    summary = json.loads((tmp_path / "e.json").read_text())
    assert summary["cases"][0]["liver"]["dice"] == pytest.approx(1.0)
    assert summary["mean"]["liver"]["efficiency"] == pytest.approx(1.0)


def test_seg_liver_segment_is_the_whole_organ_and_round_trips(tmp_path):
    """Liver = label >= 1 (tumour included, segments overlap); Tumor its own segment; read_seg gives labels back."""
    import highdicom as hd

    from livseg_gui.io import load_volume
    from livseg_gui.io.seg import read_seg, write_seg

    src = tmp_path / "dcm"
    shutil.copytree(SAMPLE.parent.parent.parent / "tests" / "data" / "dcmqi-ct3slice", src)
    (src / "liver_seg.dcm").unlink()
    vol = load_volume(src)
    labels = vol.new_labels()
    labels[100:300, 150:350, :] = 1
    labels[180:220, 200:240, 1:3] = 2
    write_seg(labels, vol, tmp_path / "m.dcm")
    seg = hd.seg.segread(str(tmp_path / "m.dcm"))
    uids = [str(item.ReferencedSOPInstanceUID) for item in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence]
    pix = seg.get_pixels_by_source_instance(source_sop_instance_uids=uids, segment_numbers=[1, 2],
                                            combine_segments=False, ignore_spatial_locations=True)
    assert int(pix[..., 0].sum()) == int((labels >= 1).sum())  # no hole where the tumour is
    assert int(pix[..., 1].sum()) == int((labels == 2).sum())
    back, _ = read_seg(tmp_path / "m.dcm", vol)
    np.testing.assert_array_equal(back, labels)


@needs_models
def test_evaluate_gives_no_tumour_figures_for_a_liver_only_case(tmp_path):
    import io

    from livseg_gui.evaluate import evaluate_cases
    from livseg_gui.io import load_volume

    vol = load_volume(SAMPLE)
    for name in ("full", "liver-only"):
        (tmp_path / name).mkdir()
        lab = np.zeros(vol.source.shape, np.uint8)
        lab[150:350, 150:350, 5:15] = 1
        write_nifti(tmp_path / name / "ct.nii.gz", vol.to_source(vol.array), vol.source.affine)
        write_nifti(tmp_path / name / "label.nii.gz", lab, vol.source.affine)
    (tmp_path / "liver-only" / "case.json").write_text('{"tumour_labelled": false}')
    out = io.StringIO()
    summary = evaluate_cases(tmp_path, MODELS, [], threads=1, out=out)
    rows = {r["case"]: r for r in summary["cases"]}
    assert "tumour" in rows["full"] and rows["full"]["tumour_labelled"]
    assert "tumour" not in rows["liver-only"] and "tumour_fp_ml" not in rows["liver-only"]
    assert "n/a" in out.getvalue().splitlines()[2]
