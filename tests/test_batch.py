"""`livseg batch`: a bad input is a row, a rerun resumes, and a Dask cluster gives the same masks."""

from __future__ import annotations

import csv
import shutil

import nibabel as nib
import numpy as np
import pytest

from livseg_gui.batch import discover, run_batch
from livseg_gui.cli import main

from .conftest import SAMPLE, needs_models
from .factory import write_nifti


@pytest.fixture
def archive(tmp_path):
    """A small archive: the sample DICOM series, the same CT as NIfTI, and a corrupt NIfTI."""
    root = tmp_path / "archive"
    shutil.copytree(SAMPLE, root / "patient-a" / "ct")
    (root / "patient-a" / "ct" / "notes.txt").write_text("exported by PACS")
    from livseg_gui.io import load_volume

    vol = load_volume(SAMPLE)
    write_nifti(root / "patient-b.nii.gz", vol.to_source(vol.array), vol.source.affine)
    (root / "broken").mkdir()
    (root / "broken" / "scan.nii.gz").write_bytes(b"not a nifti at all")
    return root


def _summary(out):
    with open(out / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_discovers_nifti_files_and_dicom_folders(archive):
    names = sorted(p.relative_to(archive).as_posix() for p in discover(archive))
    assert names == ["broken/scan.nii.gz", "patient-a/ct", "patient-b.nii.gz"]
    listing = archive / "list.txt"
    listing.write_text("# studies to run\npatient-b.nii.gz\n\n")
    assert discover(listing) == [archive / "patient-b.nii.gz"]


@needs_models
def test_batch_with_a_corrupt_file_then_resume(archive, tmp_path, capsys):
    out = tmp_path / "out"
    seen = []

    def interrupt_after_first(row):
        seen.append(row["input"])
        if len(seen) == 1:
            raise KeyboardInterrupt  # Ctrl+C after the first study

    with pytest.raises(KeyboardInterrupt):
        run_batch(archive, out, on_row=interrupt_after_first)
    assert len(_summary(out)) == 1  # the finished study is on disk
    first = seen[0]

    assert main(["batch", str(archive), "-o", str(out), "--json"]) == 0
    rows = {r["input"]: r for r in _summary(out)}
    assert len(rows) == 3
    broken = rows[str(archive / "broken" / "scan.nii.gz")]
    assert broken["status"] == "error" and "scan.nii.gz" in broken["error"]
    ok = [r for r in rows.values() if r["status"] == "ok"]
    assert len(ok) == 2 and all(float(r["liver_ml"]) > 100 for r in ok)
    # The DICOM series and its NIfTI copy give the same mask, on their own grids.
    a = nib.load(out / "patient-a__ct.nii.gz").get_fdata()
    b = nib.load(out / "patient-b.nii.gz").get_fdata()
    assert a.shape == (512, 512, 20) and b.shape == (512, 512, 20)
    assert (out / "patient-b.json").is_file()
    assert "2 of 3 studies segmented" in capsys.readouterr().out

    # A third run has nothing left to do but the failed input; the first study was not redone.
    again = []
    run_batch(archive, out, on_row=lambda r: again.append(r["input"]))
    assert again == [str(archive / "broken" / "scan.nii.gz")] and first not in again


def test_batch_usage_errors(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "missing"), "-o", str(tmp_path / "o")]) == 2
    assert main(["batch", str(tmp_path), "-o", str(tmp_path / "o"), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err


@needs_models
def test_dask_cluster_gives_the_same_masks_as_a_local_run(tmp_path):
    distributed = pytest.importorskip("distributed", reason="the [batch] extra is not installed")
    root = tmp_path / "in"
    root.mkdir()
    for i, shift in enumerate((0, 40)):
        from livseg_gui.io import load_volume

        vol = load_volume(SAMPLE)
        arr = np.roll(vol.to_source(vol.array), shift, axis=0)
        write_nifti(root / f"ct{i}.nii.gz", arr, vol.source.affine)
    local = run_batch(root, tmp_path / "local")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        remote = run_batch(root, tmp_path / "dask", dask_address=cluster.scheduler_address)
    assert [r["status"] for r in remote] == ["ok", "ok"]
    for r_local, r_remote in zip(local, remote):
        np.testing.assert_array_equal(nib.load(r_local["output"]).get_fdata(), nib.load(r_remote["output"]).get_fdata())
        assert r_local["liver_ml"] == r_remote["liver_ml"] and r_local["tumour_ml"] == r_remote["tumour_ml"]
