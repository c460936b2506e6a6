"""The click benchmark's resampling to thinner slices keeps every slice where it was in the patient."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from livseg_gui.io.volume import Metadata, make_volume
from livseg_gui.train.datasets import Case

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_clicks import with_thinner_slices  # noqa: E402


def _case(nz: int = 12, slice_mm: float = 1.6) -> Case:
    hu = np.zeros((6, 5, nz), np.int16)
    hu[:] = (10 * np.arange(nz)).astype(np.int16)  # each slice's HU says which slice it is
    labels = np.zeros(hu.shape, np.uint8)
    labels[:, :, 4:7] = 1
    vol = make_volume(hu, np.diag([-0.7, -0.7, slice_mm, 1.0]), Metadata(source_format="nifti"))
    return Case("synthetic", vol, vol.labels_from_source(labels))


def _slice_z_mm(vol) -> np.ndarray:
    return (vol.affine @ np.stack([np.zeros(vol.shape[2]), np.zeros(vol.shape[2]), np.arange(vol.shape[2]),
                                   np.ones(vol.shape[2])]))[2]


@pytest.mark.parametrize("split", [2, 1.6])  # 1.6 mm slices into 0.8 mm ones, and into 1.0 mm ones
def test_thinner_slices_lie_within_the_slices_they_come_from(split):
    case = _case()
    thin, vol = with_thinner_slices(case, split)
    old_z, new_z = _slice_z_mm(case.volume), _slice_z_mm(vol)
    assert vol.shape[2] == round(case.volume.shape[2] * split)
    assert vol.array.flags.f_contiguous  # in the app's memory order (Volume.new_labels), or its clicks are timed wrong
    assert vol.spacing[2] == pytest.approx(1.6 * case.volume.shape[2] / vol.shape[2])
    # The stack covers the same extent: the first and last slices' outer faces stay where they were.
    assert new_z[0] - vol.spacing[2] / 2 == pytest.approx(old_z[0] - 0.8)
    assert new_z[-1] + vol.spacing[2] / 2 == pytest.approx(old_z[-1] + 0.8)
    # Each new slice's labels are those of the old slice its centre lies in; its HU interpolated between neighbours.
    within = np.clip(np.round((new_z - old_z[0]) / 1.6).astype(int), 0, case.volume.shape[2] - 1)
    np.testing.assert_array_equal(thin.labels[0, 0], case.labels[0, 0, within])
    expected = np.interp(new_z, old_z, case.volume.array[0, 0].astype(float))
    np.testing.assert_allclose(vol.array[0, 0], np.round(expected), atol=1)
    if split == 2:
        np.testing.assert_array_equal(thin.labels, np.repeat(case.labels, 2, axis=2))
