"""Every malformed input is refused cleanly by `livseg info` and `livseg segment` (exit 3, one line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from livseg_gui.cli import main
from livseg_gui.errors import InputError
from livseg_gui.io import load_volume

from .factory import phantom, write_nifti, write_series
from .hostile import dicom_cases, nifti_cases

CASES = {**{f"nifti:{k}": v for k, v in nifti_cases().items()}, **{f"dicom:{k}": v for k, v in dicom_cases().items()}}


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_info_and_segment_refuse_cleanly(name, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    path = CASES[name](folder)
    out = tmp_path / "out"
    out.mkdir()
    for argv in (["info", str(path)], ["segment", str(path), "-o", str(out / "m.nii.gz"), "--json",
                                       str(out / "m.json"), "--report", str(out / "m.pdf")]):
        rc = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 3, (name, argv[0], err)
        errors = [line for line in err if line.startswith("livseg: error:")]
        assert len(errors) == 1, err
        assert "Traceback" not in "\n".join(err)
    assert list(out.iterdir()) == []  # no output file, not even a temp file


def test_refusal_in_a_fresh_process_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"garbage")
    proc = subprocess.run([sys.executable, "-m", "livseg_gui", "info", str(bad)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("livseg: error:")


def test_memory_guard_names_the_numbers(tmp_path, monkeypatch):
    from livseg_gui.io import guards

    p = write_nifti(tmp_path / "ct.nii.gz", phantom((64, 64, 8)), np.eye(4))
    monkeypatch.setattr(guards, "available_memory_bytes", lambda: 1000)
    with pytest.raises(InputError, match=r"needs 0\.0 GiB, 0\.0 GiB available"):
        load_volume(p)


def _valid_or_refused(path: Path) -> None:
    try:
        vol = load_volume(path)
    except InputError:
        return
    assert vol.array.ndim == 3 and all(s > 0 for s in vol.shape)
    assert np.all(np.isfinite(vol.affine)) and abs(np.linalg.det(vol.affine[:3, :3])) > 0


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 351), st.integers(0, 255)), min_size=1, max_size=12))
def test_fuzz_nifti_header_mutations(tmp_path, mutations):
    base = write_nifti(tmp_path / "base.nii", phantom((24, 24, 4)), np.diag([0.7, 0.7, 2.0, 1.0]))
    raw = bytearray(base.read_bytes())
    for offset, value in mutations:
        raw[offset] = value
    p = tmp_path / "mut.nii"
    p.write_bytes(bytes(raw))
    _valid_or_refused(p)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 1400), st.integers(0, 255)), min_size=1, max_size=10))
@example(mutations=[(539, 0), (626, 0)])  # SliceThickness's VR turned to "D\0": pydicom raised NotImplementedError
def test_fuzz_dicom_header_mutations(tmp_path, mutations):
    folder = tmp_path / "series"
    if not folder.exists():
        write_series(folder, phantom((24, 24, 3)))
    target = folder / "IM0001.dcm"
    original = getattr(test_fuzz_dicom_header_mutations, "_orig", None) or target.read_bytes()
    test_fuzz_dicom_header_mutations._orig = original
    raw = bytearray(original)
    for offset, value in mutations:
        if offset < len(raw):
            raw[offset] = value
    target.write_bytes(bytes(raw))
    _valid_or_refused(folder)


def test_no_network_during_segment(tmp_path, monkeypatch):
    """The CLI's segment path opens no socket (guarded socket raises)."""
    import socket

    from .conftest import SAMPLE, have_models

    if not have_models():
        pytest.skip("bundled models not built yet")

    class NoNetwork(socket.socket):
        def __init__(self, *a, **k):
            raise AssertionError("LivSeg tried to open a socket")

    monkeypatch.setattr(socket, "socket", NoNetwork)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(AssertionError("net")))
    assert main(["segment", str(SAMPLE), "-o", str(tmp_path / "m.nii.gz"), "--json", str(tmp_path / "m.json")]) == 0


def test_selftest_in_a_network_less_namespace():
    import shutil

    from .conftest import have_models

    if not have_models():
        pytest.skip("bundled models not built yet")
    if not shutil.which("unshare") or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    proc = subprocess.run(["unshare", "-n", sys.executable, "-m", "livseg_gui", "--selftest"], capture_output=True,
                          text=True, timeout=300, env={**os.environ})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASSED" in proc.stdout


@pytest.mark.parametrize("name", ["wrong_transfer_syntax", "truncated_jpeg2000", "bits8_holding_16"])
def test_decoder_failures_give_one_line_and_no_library_traceback(name, tmp_path):
    """pydicom and Pillow log tracebacks and warn on a failed decode: none of it may reach stderr."""
    folder = tmp_path / "in"
    folder.mkdir()
    path = dicom_cases()[name](folder)
    for argv in (["info", str(path)], ["segment", str(path), "-o", str(tmp_path / "m.nii.gz")]):
        proc = subprocess.run([sys.executable, "-m", "livseg_gui", *argv], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "LIVSEG_DATA_DIR": str(tmp_path / "data")})
        assert proc.returncode == 3, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("livseg: error:"), proc.stderr
    if name == "bits8_holding_16":
        assert "BitsAllocated" in proc.stderr
    # The details are kept for support, in the log file.
    assert (tmp_path / "data" / "livseg.log").exists() or name == "bits8_holding_16"


def test_a_single_slice_is_listed_but_not_segmented(tmp_path, capsys):
    write_series(tmp_path / "one", phantom((64, 64, 1)))
    assert main(["info", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    assert main(["segment", str(tmp_path / "one"), "-o", str(tmp_path / "m.nii.gz")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "at least 3 slices" in err[0]
    assert not (tmp_path / "m.nii.gz").exists()
