"""Resampling and slice sampling shared by training and inference: known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from livseg_gui.io.volume import Metadata, make_volume
from livseg_gui.segment.preprocess import fill_between, resample_planes, sample_stride, sampled_slices

from .conftest import needs_models


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("scale, offset, out, cval", [
    ((3.2, 3.1), (-10.0, -5.5), (40, 44), -1024.0),  # shrink, partly outside the slab
    ((0.4, 0.45), (3.3, 2.5), (70, 60), 0.0),  # enlarge, inside
])
def test_two_tap_resampling_equals_scipy_linear_interpolation(order, scale, offset, out, cval):
    rng = np.random.default_rng(0)
    slab = np.asarray(rng.integers(-1000, 1000, (96, 80, 3)).astype(np.int16), order=order)
    got = resample_planes(slab, scale, offset, out, cval)
    for k in range(slab.shape[2]):
        want = ndimage.affine_transform(slab[:, :, k].astype(np.float64), np.diag(scale), offset=offset,
                                        output_shape=out, order=1, mode="constant", cval=cval, prefilter=False)
        # scipy treats samples within half a pixel past the edge differently; compare away from the border.
        inside = np.zeros(out, bool)
        u, v = (np.arange(n) * s + o for n, s, o in zip(out, scale, offset))
        inside[np.ix_((u >= 0) & (u <= slab.shape[0] - 1), (v >= 0) & (v <= slab.shape[1] - 1))] = True
        np.testing.assert_allclose(got[:, :, k][inside], want[inside], atol=0.02)
        outside = np.ix_((u < -1) | (u > slab.shape[0]), np.ones(out[1], bool))
        np.testing.assert_allclose(got[:, :, k][outside], cval)


def test_slice_sampling_is_about_one_pixel_apart_and_keeps_both_ends():
    assert sample_stride(1.0, 2.5) == 2 and sample_stride(0.8, 2.5) == 3 and sample_stride(5.0, 2.5) == 1
    assert sample_stride(1.0, None) == 1
    assert list(sampled_slices(3, 12, 4)) == [3, 7, 11] and list(sampled_slices(0, 10, 4)) == [0, 4, 8, 9]


def test_interpolated_slices_reproduce_a_linear_ramp():
    probs = np.zeros((4, 4, 11), np.float32)
    samples = sampled_slices(0, 11, 3)
    ramp = np.linspace(0.0, 1.0, 11, dtype=np.float32)
    probs[:, :, samples] = ramp[samples]
    fill_between(probs, samples)
    np.testing.assert_allclose(probs[0, 0], ramp, atol=1e-6)


@needs_models
def test_thin_slices_give_the_same_liver_with_fewer_inferences(sample_volume, cascade):
    """The sample (2 mm slices) resampled to 0.8 mm: the liver net then runs on every third slice."""
    vol = sample_volume
    thin_hu = ndimage.zoom(vol.array.astype(np.float32), (1, 1, 2.5), order=1).astype(np.int16)
    affine = vol.affine.copy()
    affine[:3, 2] /= 2.5
    thin = make_volume(thin_hu, affine, Metadata())
    calls = []
    runner = cascade.liver
    original = runner.logits
    runner.logits = lambda batch: (calls.append(len(batch)), original(batch))[1]
    covered = []
    try:
        result = cascade.run(thin, on_slab=lambda k0, k1, data: covered.append((k0, k1)))
    finally:
        del runner.logits
    assert sum(calls) <= thin.shape[2] // 3 + 2
    assert covered[0][0] == 0 and covered[-1][1] == thin.shape[2]
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))  # contiguous, each slice once
    thick_ml = (cascade.run(vol).labels >= 1).sum() * vol.voxel_volume_ml
    thin_ml = (result.labels >= 1).sum() * thin.voxel_volume_ml
    assert thin_ml == pytest.approx(thick_ml, rel=0.05)
