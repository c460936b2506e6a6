"""NIfTI loading: canonical orientation, scaling, and every refusal the issue lists."""

from __future__ import annotations

import gzip
import struct

import nibabel as nib
import numpy as np
import pytest

from livseg_gui.errors import InputError
from livseg_gui.io import load_volume
from livseg_gui.io.nifti import load_labels_nifti, load_nifti, save_labels_nifti

from .factory import phantom, write_nifti


def test_ras_nifti_is_reoriented_to_lps_without_resampling(tmp_path):
    data = phantom()
    affine = np.diag([0.7, 0.8, 2.0, 1.0])  # RAS storage: x grows to the patient's left? no: to the Right
    vol = load_nifti(write_nifti(tmp_path / "ct.nii.gz", data, affine))
    assert vol.source.axcodes() == "RAS"
    assert vol.shape == data.shape
    assert vol.spacing == pytest.approx((0.7, 0.8, 2.0))
    # Canonical is LPS: x and y flipped, z kept.
    np.testing.assert_array_equal(vol.array, data[::-1, ::-1, :])
    # The same voxel maps to the same world point either way.
    ras_src = nib.affines.apply_affine(affine, [10, 40, 5])
    ras_can = nib.affines.apply_affine(vol.affine, [data.shape[0] - 1 - 10, data.shape[1] - 1 - 40, 5])
    np.testing.assert_allclose(ras_src, ras_can)


def test_scaled_nifti_applies_slope_and_stays_int16(tmp_path):
    data = phantom()
    img = nib.Nifti1Image((data + 1024).astype(np.uint16), np.eye(4))
    img.header.set_slope_inter(1.0, -1024.0)
    nib.save(img, str(tmp_path / "s.nii"))
    vol = load_nifti(tmp_path / "s.nii")
    assert vol.array.dtype == np.int16
    assert vol.array.min() == -1000 and vol.array.max() == 900


def test_fractional_slope_gives_float32(tmp_path):
    img = nib.Nifti1Image(np.arange(64 * 64 * 4, dtype=np.int16).reshape(64, 64, 4), np.eye(4))
    img.header.set_slope_inter(0.5, 0.0)
    nib.save(img, str(tmp_path / "f.nii"))
    assert load_nifti(tmp_path / "f.nii").array.dtype == np.float32


def test_qform_used_when_sform_unset(tmp_path):
    data = phantom()
    aff = np.diag([-0.5, -0.5, 3.0, 1.0])
    img = nib.Nifti1Image(data, None)
    img.set_qform(aff, code=1)
    img.set_sform(None, code=0)
    nib.save(img, str(tmp_path / "q.nii.gz"))
    vol = load_nifti(tmp_path / "q.nii.gz")
    assert vol.spacing == pytest.approx((0.5, 0.5, 3.0))
    assert vol.source.axcodes() == "LPS"


def test_label_round_trip_is_bit_exact_on_source_grid(tmp_path):
    data = phantom()
    affine = np.array([[0.0, 0.7, 0, 5], [-0.8, 0, 0, 7], [0, 0, 2.0, -9], [0, 0, 0, 1]])  # axes swapped
    vol = load_nifti(write_nifti(tmp_path / "ct.nii.gz", data, affine))
    labels = np.zeros(vol.shape, np.uint8)
    labels[vol.array == 900] = 2
    labels[3:9, 4:7, 2:5] = 1
    out = save_labels_nifti(labels, vol, tmp_path / "lab.nii.gz")
    img = nib.load(str(out))
    np.testing.assert_array_equal(img.affine, nib.load(str(tmp_path / "ct.nii.gz")).affine)
    assert img.shape == data.shape
    src = np.asarray(img.dataobj)
    assert src.dtype == np.uint8
    np.testing.assert_array_equal(src == 2, data == 900)  # the marker lands on the source voxels
    np.testing.assert_array_equal(load_labels_nifti(out, vol), labels)


def test_mask_with_other_geometry_is_refused(tmp_path):
    vol = load_nifti(write_nifti(tmp_path / "ct.nii.gz", phantom(), np.eye(4)))
    write_nifti(tmp_path / "m.nii.gz", np.zeros(phantom().shape, np.uint8), np.diag([2, 2, 2, 1.0]))
    with pytest.raises(InputError, match="geometry"):
        load_labels_nifti(tmp_path / "m.nii.gz", vol)


def test_save_never_overwrites_the_ct(tmp_path):
    p = write_nifti(tmp_path / "ct.nii.gz", phantom(), np.eye(4))
    vol = load_nifti(p)
    before = p.read_bytes()
    with pytest.raises(InputError, match="overwrite"):
        save_labels_nifti(np.zeros(vol.shape, np.uint8), vol, p)
    assert p.read_bytes() == before


# -- refusals ----------------------------------------------------------------------------------

def _refused(path, match):
    with pytest.raises(InputError, match=match):
        load_volume(path)


def test_refuses_4d(tmp_path):
    write_nifti(tmp_path / "a.nii", np.zeros((8, 8, 8, 3), np.int16), np.eye(4))
    _refused(tmp_path / "a.nii", "4-D")


def test_refuses_2d(tmp_path):
    write_nifti(tmp_path / "a.nii", np.zeros((8, 8), np.int16), np.eye(4))
    _refused(tmp_path / "a.nii", "2-D")


def test_refuses_rgb(tmp_path):
    rgb = np.zeros((8, 8, 8), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    nib.save(nib.Nifti1Image(rgb, np.eye(4)), str(tmp_path / "rgb.nii"))
    _refused(tmp_path / "rgb.nii", "scalar")


def test_refuses_complex(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8), np.complex64), np.eye(4)), str(tmp_path / "c.nii"))
    _refused(tmp_path / "c.nii", "scalar")


def test_refuses_nan(tmp_path):
    d = np.zeros((40, 40, 4), np.float32)
    d[3, 3, 3] = np.nan
    write_nifti(tmp_path / "n.nii.gz", d, np.eye(4))
    _refused(tmp_path / "n.nii.gz", "NaN")


def test_refuses_inf(tmp_path):
    d = np.zeros((40, 40, 4), np.float32)
    d[1, 1, 1] = np.inf
    write_nifti(tmp_path / "i.nii.gz", d, np.eye(4))
    _refused(tmp_path / "i.nii.gz", "NaN or infinite")


def test_refuses_singular_affine(tmp_path):
    aff = np.eye(4)
    aff[2, 2] = 0
    img = nib.Nifti1Image(phantom(), None)
    img.set_sform(aff, code=1)  # a qform cannot even hold a singular matrix
    nib.save(img, str(tmp_path / "s.nii"))
    _refused(tmp_path / "s.nii", "singular|spacing")


def test_refuses_zero_spacing(tmp_path):
    img = nib.Nifti1Image(phantom(), None)
    nib.save(img, str(tmp_path / "z.nii"))
    raw = bytearray((tmp_path / "z.nii").read_bytes())
    raw[76 + 8 : 76 + 12] = struct.pack("<f", 0.0)  # pixdim[2] = 0 (nibabel would not write it)
    (tmp_path / "z.nii").write_bytes(bytes(raw))
    _refused(tmp_path / "z.nii", "singular|spacing")


def test_refuses_header_promising_more_data_than_file_holds(tmp_path):
    p = write_nifti(tmp_path / "t.nii", phantom(), np.eye(4))
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    _refused(p, "truncated|corrupt")


def test_refuses_truncated_gzip(tmp_path):
    p = write_nifti(tmp_path / "t.nii.gz", phantom(), np.eye(4))
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) - 200])
    _refused(p, "truncated|corrupt|readable")


def test_refuses_absurd_size_before_allocating(tmp_path):
    """A 4096^3 int16 header (128 GiB) on a tiny file is refused from the header alone."""
    hdr = nib.Nifti1Header()
    hdr.set_data_shape((4096, 4096, 4096))
    hdr.set_data_dtype(np.int16)
    hdr.set_sform(np.eye(4), code=1)
    p = tmp_path / "huge.nii"
    p.write_bytes(hdr.binaryblock + b"\0" * 4 + b"\0" * 1024)
    _refused(p, "exceeds|more than|needs")


def test_refuses_non_nifti_file(tmp_path):
    p = tmp_path / "x.nii.gz"
    p.write_bytes(gzip.compress(b"this is not nifti" * 30))
    _refused(p, "not a readable NIfTI")


def test_refuses_missing_file(tmp_path):
    _refused(tmp_path / "nope.nii.gz", "no such file")


def test_header_helper_struct_sanity():
    # A guard against nibabel changing its header size (the absurd-size test builds one by hand).
    assert len(nib.Nifti1Header().binaryblock) == 348 == struct.calcsize("<348s")


def test_probability_round_trip_keeps_every_value_and_its_place(tmp_path):
    from livseg_gui.io.nifti import load_probability_nifti, save_probability_nifti
    from livseg_gui.segment.confidence import TumourProbability

    data = phantom()
    affine = np.array([[0.0, 0.7, 0, 5], [-0.8, 0, 0, 7], [0, 0, 2.0, -9], [0, 0, 0, 1]])  # axes swapped
    vol = load_nifti(write_nifti(tmp_path / "ct.nii.gz", data, affine))
    box = (slice(2, 9), slice(3, 8), slice(1, 5))
    rng = np.random.default_rng(0)
    prob = TumourProbability(box, rng.integers(0, 256, tuple(s.stop - s.start for s in box)).astype(np.uint8))
    out = save_probability_nifti(prob.on_grid(vol.shape), vol, tmp_path / "p.nii.gz")
    img = nib.load(str(out))
    assert img.shape == data.shape and np.asarray(img.dataobj).max() <= 1.0 + 1e-6  # a viewer reads 0-1 (float32 slope)
    back = TumourProbability.from_grid(load_probability_nifti(out, vol))
    np.testing.assert_array_equal(back.crop(box), prob.crop(box))
    whole = tuple(slice(0, n) for n in vol.shape)
    np.testing.assert_array_equal(back.crop(whole), prob.crop(whole))
    write_nifti(tmp_path / "raw.nii.gz", np.full(data.shape, 200, np.uint8), affine)  # 0-255 without its scale
    write_nifti(tmp_path / "labels.nii.gz", (data == 900).astype(np.uint8), affine)  # a 0/1 label map by mistake
    for wrong in ("raw", "labels"):
        with pytest.raises(InputError, match="not probabilities"):
            load_probability_nifti(tmp_path / f"{wrong}.nii.gz", vol)
    write_nifti(tmp_path / "f.nii.gz", np.full(data.shape, 1.5, np.float32), affine)  # floats, but not 0-1
    with pytest.raises(InputError, match="0..1"):
        load_probability_nifti(tmp_path / "f.nii.gz", vol)
    write_nifti(tmp_path / "ok.nii.gz", np.full(data.shape, 0.6, np.float32), affine)  # another tool's 0-1 floats
    assert (load_probability_nifti(tmp_path / "ok.nii.gz", vol) == 153).all()
