"""DICOM loading: real series, geometry agreement with NIfTI, export traps and refusals."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pydicom
import pytest

from livseg_gui.errors import InputError
from livseg_gui.io import list_series, load_volume
from livseg_gui.io.loader import select_series

from .conftest import DCMQI, SAMPLE
from .factory import edit_headers, lps_affine_as_ras, phantom, slice_dataset, write_nifti, write_series


def test_real_siemens_jpeg2000_series_loads():
    vol = load_volume(SAMPLE)
    assert vol.shape == (512, 512, 20)
    assert vol.spacing == pytest.approx((0.9765625, 0.9765625, 2.0))
    assert vol.array.dtype == np.int16
    assert vol.array.min() == -1024 and 1000 < vol.array.max() < 3000
    assert vol.meta.series_description == "CT Body 3.0"
    assert vol.source.axcodes() == "LPS"


def test_real_ge_series_loads_and_ignores_the_seg_beside_it():
    vol = load_volume(DCMQI)
    assert vol.shape == (512, 512, 3)
    assert any("SEG" in w for w in vol.warnings)


def test_info_json_shape_is_the_contract():
    (info,) = list_series(SAMPLE)
    d = info.as_json()
    for key in ("index", "uid", "description", "modality", "shape", "spacing", "orientation", "files", "set_aside"):
        assert key in d
    assert d["shape"] == [512, 512, 20] and d["files"] == 20 and d["orientation"] == "LPS"


def test_marker_at_same_patient_position_from_dicom_and_nifti(tmp_path):
    """An asymmetric marker must land on the same LPS point whichever format it came from."""
    hu = phantom()
    spacing, origin = (0.7, 0.8, 2.0), (-20.0, -30.0, 100.0)
    write_series(tmp_path / "dcm", hu, spacing, origin)
    # The NIfTI stores the same grid flipped to RAS order, as many converters do.
    ras = lps_affine_as_ras(spacing, origin)
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[0, 3], flip[1, 3] = hu.shape[0] - 1, hu.shape[1] - 1
    write_nifti(tmp_path / "ct.nii.gz", hu[::-1, ::-1, :], ras @ flip)
    a, b = load_volume(tmp_path / "dcm"), load_volume(tmp_path / "ct.nii.gz")
    ma = a.voxel_to_lps(np.argwhere(a.array == 900).mean(0))
    mb = b.voxel_to_lps(np.argwhere(b.array == 900).mean(0))
    np.testing.assert_allclose(ma, mb, atol=1e-4)
    np.testing.assert_allclose(ma, np.array(origin) + (np.array([10, 40, 5]) + [1, 0.5, 0.5]) * spacing, atol=1e-4)


def test_unsorted_files_are_sorted_by_position_and_spacing_comes_from_positions(tmp_path):
    hu = phantom()
    paths = write_series(tmp_path, hu, spacing=(0.7, 0.8, 2.5))
    for p in paths:  # a misleading SliceThickness must not matter
        ds = pydicom.dcmread(p)
        ds.SliceThickness = 9.0
        ds.InstanceNumber = 1
        ds.save_as(p)
    for i, p in enumerate(reversed(paths)):
        p.rename(p.with_name(f"z{i:03d}"))
    vol = load_volume(tmp_path)
    assert vol.spacing[2] == pytest.approx(2.5)
    np.testing.assert_array_equal(vol.array, hu)


def test_stray_coronal_image_is_set_aside(tmp_path):
    hu = phantom()
    write_series(tmp_path, hu)
    ds = slice_dataset(np.zeros((24, 64), np.int16), (0, 0, 0), iop=(1, 0, 0, 0, 0, -1))
    ds.SeriesInstanceUID = pydicom.dcmread(tmp_path / "IM0000.dcm").SeriesInstanceUID
    ds.save_as(tmp_path / "coronal.dcm", enforce_file_format=True)
    (info,) = list_series(tmp_path)
    assert any("different orientation" in s for s in info.set_aside)
    vol = load_volume(tmp_path)
    assert vol.shape == hu.shape
    assert any("set aside" in w for w in vol.warnings)


def test_duplicate_positions_are_dropped(tmp_path):
    write_series(tmp_path, phantom())
    shutil.copy(tmp_path / "IM0003.dcm", tmp_path / "dup.dcm")
    vol = load_volume(tmp_path)
    assert vol.shape[2] == 24
    assert any("duplicate" in w for w in vol.warnings)


def test_missing_slice_keeps_true_geometry(tmp_path):
    hu = phantom()
    write_series(tmp_path, hu, spacing=(0.7, 0.8, 2.0))
    (tmp_path / "IM0010.dcm").unlink()
    vol = load_volume(tmp_path)
    assert any("missing" in w for w in vol.warnings)
    assert vol.shape[2] == 24 and vol.spacing[2] == pytest.approx(2.0)
    np.testing.assert_array_equal(vol.array[:, :, 12], hu[:, :, 12])  # later slices stay where they were


def test_file_without_preamble_is_read(tmp_path):
    hu = phantom()
    write_series(tmp_path, hu)
    p = tmp_path / "IM0002.dcm"
    p.write_bytes(p.read_bytes()[132:])
    np.testing.assert_array_equal(load_volume(tmp_path).array, hu)


def test_two_series_need_a_choice(tmp_path):
    write_series(tmp_path / "a", phantom(), description="arterial")
    write_series(tmp_path / "b", phantom(), description="venous")
    with pytest.raises(InputError, match="2 series"):
        load_volume(tmp_path)
    infos = list_series(tmp_path)
    assert [i.description for i in infos] == ["arterial", "venous"] or len(infos) == 2
    assert load_volume(tmp_path, "2").meta.series_description == infos[1].description
    assert load_volume(tmp_path, infos[0].uid).meta.series_uid == infos[0].uid
    with pytest.raises(InputError, match="no series #5"):
        load_volume(tmp_path, "5")


def test_series_picker_offers_only_loadable_series(tmp_path):
    from livseg_gui.ui.dialogs import series_choices

    write_series(tmp_path / "ct", phantom(), description="ct")
    write_series(tmp_path / "mr", phantom(), modality="MR", description="mr")
    choices = series_choices(list_series(tmp_path))
    assert [ok for _, _, ok in choices].count(True) == 1
    assert "not CT" in [t for _, t, ok in choices if not ok][0]
    # With one loadable series, no --series is needed.
    assert load_volume(tmp_path).meta.modality == "CT"
    assert select_series(list_series(tmp_path), None, tmp_path).modality == "CT"


# -- refusals ----------------------------------------------------------------------------------

def test_refuses_mr(tmp_path):
    write_series(tmp_path, phantom(), modality="MR")
    with pytest.raises(InputError, match="MR, not CT"):
        load_volume(tmp_path)


def test_refuses_missing_pixel_data(tmp_path):
    write_series(tmp_path, phantom())
    ds = pydicom.dcmread(tmp_path / "IM0004.dcm")
    del ds.PixelData
    ds.save_as(tmp_path / "IM0004.dcm")
    with pytest.raises(InputError, match="no pixel data"):
        load_volume(tmp_path)


def test_refuses_truncated_pixel_data(tmp_path):
    write_series(tmp_path, phantom())
    p = tmp_path / "IM0004.dcm"
    p.write_bytes(p.read_bytes()[:-500])
    with pytest.raises(InputError):
        load_volume(tmp_path)


def test_refuses_rows_columns_disagreeing_with_pixels(tmp_path):
    write_series(tmp_path, phantom())
    edit_headers(tmp_path, lambda ds: setattr(ds, "Rows", ds.Rows + 3))
    with pytest.raises(InputError, match="pixel data"):
        load_volume(tmp_path)


def test_refuses_zero_pixel_spacing(tmp_path):
    write_series(tmp_path, phantom())
    edit_headers(tmp_path, lambda ds: setattr(ds, "PixelSpacing", [0.0, 0.7]))
    with pytest.raises(InputError, match="PixelSpacing"):
        load_volume(tmp_path)


def test_refuses_zero_orientation(tmp_path):
    write_series(tmp_path, phantom())
    edit_headers(tmp_path, lambda ds: setattr(ds, "ImageOrientationPatient", [0, 0, 0, 0, 0, 0]))
    with pytest.raises(InputError, match="orientation"):
        load_volume(tmp_path)


def test_refuses_all_slices_at_one_position(tmp_path):
    write_series(tmp_path, phantom())
    edit_headers(tmp_path, lambda ds: setattr(ds, "ImagePositionPatient", [0, 0, 0]))
    with pytest.raises(InputError, match="share one position"):
        load_volume(tmp_path)


def test_refuses_empty_folder(tmp_path):
    with pytest.raises(InputError, match="empty"):
        load_volume(tmp_path)


def test_refuses_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "x.bin").write_bytes(os.urandom(2000))
    with pytest.raises(InputError, match="no DICOM images"):
        load_volume(tmp_path)


def test_refuses_lone_seg(tmp_path):
    shutil.copy(DCMQI / "liver_seg.dcm", tmp_path)
    with pytest.raises(InputError, match="only 1 segmentation"):
        load_volume(tmp_path)
