"""The liver's and soft tissue's smoothings kept between lesion clicks: the same values whichever box asks, in
whatever order, with whatever liver changes between clicks, and the same lesion as a click that smooths anew."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from livseg_gui.edit import LabelMap
from livseg_gui.edit.clicks import (
    LiverSmoothing,
    SoftTissueSmoothing,
    lesion_click,
    liver_smoothing_of,
    new_lesion,
    plan_lesion_click,
    soft_tissue_smoothing_of,
)
from livseg_gui.edit.clicks import liver_smoothing as smoothing_module
from livseg_gui.edit.clicks.common import _smooth
from livseg_gui.edit.clicks.liver_smoothing import (
    SMOOTH_MM,
    SMOOTH_TRUNCATE,
    SOFT_TISSUE_HU,
    aligned,
    block_means,
    on_grid,
)

SHAPE = (101, 87, 40)


def _ct(seed: int = 0):
    rng = np.random.default_rng(seed)
    hu = rng.normal(60, 30, SHAPE).astype(np.int16)
    labels = np.zeros(SHAPE, np.uint8)
    labels[10:90, 5:80, 5:35] = 1
    labels[30:50, 30:50, 10:20] = 2
    return hu, labels


def _whole(hu, labels, s: LiverSmoothing) -> np.ndarray:
    """The smoothing of the whole volume at once, as kept (float16): within the liver, or for a
    :class:`SoftTissueSmoothing` within soft tissue."""
    k = s.k
    means = block_means(hu, tuple(slice(0, n) for n in hu.shape), k)
    within = (means >= SOFT_TISSUE_HU[0]) & (means <= SOFT_TISSUE_HU[1]) if s.WITHIN_HU else labels[::k, ::k] >= 1
    img = _smooth(means, SMOOTH_MM / s.spacing, within=within, truncate=SMOOTH_TRUNCATE)
    return img.astype(np.float16).astype(np.float32)


def _box(rng, k):
    c = rng.integers(0, SHAPE)
    full = tuple(slice(max(0, ci - h), min(n, ci + h + 1)) for ci, h, n in zip(c, (20, 25, 9), SHAPE))
    return on_grid(aligned(full, k), k)


@pytest.mark.parametrize("spacing", [(0.6, 0.6, 1.0), (0.8, 0.8, 2.5)])  # 2 x 2 blocks, and none
def test_any_box_gets_the_whole_volumes_smoothing_also_after_liver_changes_between_clicks(spacing):
    hu, labels = _ct()
    s = LiverSmoothing(hu.shape, spacing)
    rng = np.random.default_rng(1)
    whole = _whole(hu, labels, s)
    for n in range(30):
        box = _box(rng, s.k)
        np.testing.assert_array_equal(s.over(hu, labels, box), whole[box])
        if n % 7 == 3:  # a stroke, a liver click or an undo somewhere, seen by a later click or not
            a = rng.integers(0, SHAPE)
            labels[a[0]:a[0] + 6, a[1]:a[1] + 5, a[2]:a[2] + 3] = rng.integers(0, 3)
            whole = _whole(hu, labels, s)


def test_a_change_far_from_a_box_costs_it_nothing_and_one_near_it_only_its_surroundings(monkeypatch):
    hu, labels = _ct()
    s = LiverSmoothing(hu.shape, (0.8, 0.8, 2.5))
    computed = []
    fill = LiverSmoothing._fill
    monkeypatch.setattr(LiverSmoothing, "_fill", lambda self, h, part, *liver, **how: (
        computed.append(int(np.prod([p.stop - p.start for p in part]))), fill(self, h, part, *liver, **how)))
    box = (slice(20, 70), slice(20, 70), slice(5, 30))
    s.over(hu, labels, box)
    assert sum(computed) == 50 * 50 * 25
    computed.clear()
    labels[85:90, 75:80, 30:35] = 0  # beyond the box and the kernel's reach
    s.over(hu, labels, box)
    assert computed == []
    labels[40:44, 40:44, 12:14] = 0  # a lesion's voxels taken out of the liver, inside the box
    np.testing.assert_array_equal(s.over(hu, labels, box), _whole(hu, labels, s)[box])
    reach = s.reach
    assert 0 < sum(computed) <= np.prod(np.array([4, 4, 2]) + 4 * reach)


def test_smoothing_ahead_leaves_a_click_nothing_to_compute_and_stops_when_asked(monkeypatch):
    hu, labels = _ct()
    s = LiverSmoothing(hu.shape, (0.8, 0.8, 2.5))
    s.ahead(hu, labels, cancelled=lambda: True)
    assert not s.kept().any()
    s.ahead(hu, labels)
    labels[:, :, 30:] = 0  # a mask loaded since: smoothed ahead again, what it changed is computed afresh
    s.ahead(hu, labels)
    monkeypatch.setattr(LiverSmoothing, "_fill", lambda *a, **k: pytest.fail("computed again"))
    box = (slice(0, SHAPE[0]), slice(0, SHAPE[1]), slice(0, SHAPE[2]))
    np.testing.assert_array_equal(s.over(hu, labels, box), _whole(hu, labels, s))


@pytest.mark.parametrize("kind", [LiverSmoothing, SoftTissueSmoothing])
def test_clicks_while_the_smoothing_runs_ahead_get_the_right_values(kind):
    hu, labels = _ct()
    s = kind(hu.shape, (0.6, 0.6, 1.0))
    whole = _whole(hu, labels, s)
    ahead = threading.Thread(target=s.ahead, args=(hu, labels))
    ahead.start()
    rng = np.random.default_rng(2)
    for _ in range(10):
        box = _box(rng, s.k)
        np.testing.assert_array_equal(s.over(hu, labels, box), whole[box])
    ahead.join()


@pytest.mark.parametrize("spacing", [(0.6, 0.6, 1.0), (0.8, 0.8, 2.5)])
def test_soft_tissues_smoothing_is_the_whole_volumes_and_no_edit_makes_it_compute_again(spacing, monkeypatch):
    hu, labels = _ct()
    hu[::3] = -300  # fat and air between the soft tissue: what the smoothing leaves out
    s = SoftTissueSmoothing(hu.shape, spacing)
    whole = _whole(hu, labels, s)
    rng = np.random.default_rng(3)
    for _ in range(10):
        box = _box(rng, s.k)
        np.testing.assert_array_equal(s.over(hu, labels, box), whole[box])
    s.ahead(hu, labels)
    monkeypatch.setattr(SoftTissueSmoothing, "_fill", lambda *a, **k: pytest.fail("computed again"))
    labels[:] = 0  # the liver gone: the soft tissue is the CT's own
    box = (slice(0, s.shape[0]), slice(0, s.shape[1]), slice(0, SHAPE[2]))
    np.testing.assert_array_equal(s.over(hu, labels, box), whole)


def test_one_smoothing_is_kept_per_ct_while_the_ct_lives():
    hu, _ = _ct()
    other = hu.copy()
    kept = liver_smoothing_of(hu, (0.8, 0.8, 2.5))
    assert liver_smoothing_of(hu, (0.8, 0.8, 2.5)) is kept
    assert soft_tissue_smoothing_of(hu, (0.8, 0.8, 2.5)) is soft_tissue_smoothing_of(hu, (0.8, 0.8, 2.5))
    assert type(soft_tissue_smoothing_of(hu, (0.8, 0.8, 2.5))) is SoftTissueSmoothing
    assert liver_smoothing_of(other, (0.8, 0.8, 2.5)) is not kept
    assert liver_smoothing_of(hu, (0.6, 0.6, 1.0)) is not kept
    before = len(smoothing_module._KEPT)
    del other
    gc.collect()
    assert len(smoothing_module._KEPT) == before - 1


def test_a_lesion_click_finds_the_same_voxels_with_the_liver_smoothed_ahead_or_not():
    sp, shape = (0.8, 0.8, 2.0), (160, 160, 50)
    g = np.indices(shape).astype(np.float64) * np.array(sp)[:, None, None, None]
    liver = ((g[0] - 64) / 55) ** 2 + ((g[1] - 64) / 50) ** 2 + ((g[2] - 50) / 40) ** 2 <= 1
    lesion = (g[0] - 60) ** 2 + (g[1] - 70) ** 2 + (g[2] - 50) ** 2 <= 12.0**2
    hu = np.where(liver, 100.0, -80.0) + np.random.default_rng(0).normal(0, 8, shape)
    hu[lesion] -= 30
    found = []
    for ahead in (False, True):
        ct = hu.astype(np.float32)  # a CT of its own each time: nothing kept from the other run
        lm = LabelMap(liver.astype(np.uint8))
        if ahead:
            liver_smoothing_of(ct, sp).ahead(ct, lm.data)
        lesion_click(lm, ct, sp, np.array((60, 70, 50)) / sp, positive=True)
        found.append(lm.data == 2)
    assert found[0].sum() > 0.8 * lesion.sum()
    np.testing.assert_array_equal(found[0], found[1])


def test_a_click_on_a_lesion_the_livers_model_left_out_smooths_nothing_once_the_soft_tissue_is_smoothed_ahead(
        monkeypatch):
    sp, shape = (0.7, 0.7, 1.0), (200, 200, 80)
    g = np.indices(shape).astype(np.float64) * np.array(sp)[:, None, None, None]
    liver = ((g[0] - 60) / 50) ** 2 + ((g[1] - 70) / 45) ** 2 + ((g[2] - 40) / 35) ** 2 <= 1
    lesion = (g[0] - 105) ** 2 + (g[1] - 70) ** 2 + (g[2] - 40) ** 2 <= 11.0**2  # at the liver's edge
    hu = np.where(liver | lesion, 100.0, -90.0) + np.random.default_rng(0).normal(0, 8, shape)
    hu[lesion] -= 35
    labels = (liver & ~lesion).astype(np.uint8)  # the model's liver carved the lesion out
    click = np.round(np.array((109, 70, 40)) / sp).astype(int)  # on the lesion, outside the liver drawn
    assert labels[tuple(click)] == 0
    found = []
    for ahead in (False, True):
        ct = hu.astype(np.float32)  # a CT of its own each time: nothing kept from the other run
        if ahead:
            soft_tissue_smoothing_of(ct, sp).ahead(ct, labels)
            monkeypatch.setattr(new_lesion, "_smooth", lambda *a, **k: pytest.fail("smoothed at the click"))
            monkeypatch.setattr(SoftTissueSmoothing, "_fill", lambda *a, **k: pytest.fail("smoothed at the click"))
        edit = plan_lesion_click(labels, ct, sp, click, positive=True)
        region = np.zeros(shape, bool)
        region[edit.box] = edit.region
        found.append(region)
    dice = 2 * (found[0] & lesion).sum() / (found[0].sum() + lesion.sum())
    assert dice > 0.85
    np.testing.assert_array_equal(found[0], found[1])
