"""Label-map editing: brushes in mm, threshold brush, fill, interpolation, undo/redo, memory bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livseg_gui.edit import LabelMap, tools
from livseg_gui.planes import Plane


def _expected_disk(radius_mm, sx, sy):
    r = int(np.ceil(radius_mm / min(sx, sy))) + 1
    i, j = np.mgrid[-r : r + 1, -r : r + 1]
    return int(((i * sx) ** 2 + (j * sy) ** 2 <= radius_mm**2).sum())


@pytest.mark.parametrize("spacing", [(0.7, 0.7, 5.0), (0.5, 1.2, 2.0), (3.0, 3.0, 3.0)])
def test_disk_of_radius_r_mm_paints_the_right_voxels(spacing):
    lm = LabelMap(np.zeros((120, 120, 10), np.uint8))
    tools.brush(lm, (60, 60, 4), 8.0, spacing, 2)
    assert (lm.data == 2).sum() == _expected_disk(8.0, spacing[0], spacing[1])
    # Same physical size whatever the spacing: area ~ pi r^2 within one ring of voxels.
    area = (lm.data == 2).sum() * spacing[0] * spacing[1]
    assert area == pytest.approx(np.pi * 64, rel=0.25 if spacing[0] == 3 else 0.06)
    assert (lm.data[:, :, 4] == 2).sum() == (lm.data == 2).sum()  # only on that slice


def test_disk_in_coronal_plane_uses_that_planes_spacing():
    sp = (0.7, 0.7, 5.0)
    lm = LabelMap(np.zeros((80, 30, 40), np.uint8))
    tools.brush(lm, (40, 10, 20), 10.0, sp, 1, plane=Plane.CORONAL)
    painted = lm.data == 1
    assert painted[:, 10, :].sum() == painted.sum()
    zs = np.flatnonzero(painted.any(axis=(0, 1)))
    assert len(zs) == 5  # 10 mm radius over 5 mm slices: z = -10, -5, 0, 5, 10 mm


def test_sphere_brush_volume():
    sp = (1.0, 1.0, 1.0)
    lm = LabelMap(np.zeros((40, 40, 40), np.uint8))
    tools.brush(lm, (20, 20, 20), 8.0, sp, 2, plane=None)
    assert (lm.data == 2).sum() == pytest.approx(4 / 3 * np.pi * 512, rel=0.03)


def test_threshold_brush_leaves_out_of_range_voxels_alone():
    hu = np.zeros((50, 50, 3), np.int16)
    hu[:25] = 200
    lm = LabelMap(np.zeros(hu.shape, np.uint8))
    tools.brush(lm, (25, 25, 1), 10.0, (1, 1, 1), 1, hu=hu, hu_range=(-50, 100))
    assert (lm.data[:25] == 1).sum() == 0
    assert (lm.data[25:] == 1).sum() > 100


def test_liver_paint_keeps_tumour_and_tumour_erase_keeps_liver():
    lm = LabelMap(np.zeros((40, 40, 3), np.uint8))
    tools.brush(lm, (20, 20, 1), 5, (1, 1, 1), 2)
    n_tumour = (lm.data == 2).sum()
    tools.brush(lm, (20, 20, 1), 10, (1, 1, 1), 1)
    assert (lm.data == 2).sum() == n_tumour
    tools.brush(lm, (20, 20, 1), 10, (1, 1, 1), 2, mode=tools.ERASE_LABEL)
    assert (lm.data == 2).sum() == 0 and (lm.data == 1).sum() > n_tumour
    tools.brush(lm, (20, 20, 1), 10, (1, 1, 1), 1, mode=tools.ERASE)
    assert lm.data.sum() == 0


def test_flood_fill_fills_a_closed_ring_only():
    lm = LabelMap(np.zeros((40, 40, 2), np.uint8))
    yy, xx = np.mgrid[:40, :40]
    r = np.hypot(xx - 20, yy - 20)
    lm.data[:, :, 0][(r >= 8) & (r < 10)] = 1
    assert tools.flood_fill(lm, (20, 20, 0), Plane.AXIAL, 1) is not None
    assert (lm.data[:, :, 0] == 1).sum() == (r < 10).sum()
    assert tools.flood_fill(lm, (2, 2, 0), Plane.AXIAL, 1) is None  # open region: left alone


def test_interpolation_between_two_disks_gives_the_intermediate_disks():
    sp = (1.0, 1.0, 1.0)
    lm = LabelMap(np.zeros((60, 60, 11), np.uint8))
    tools.brush(lm, (30, 30, 0), 6.0, sp, 1)
    tools.brush(lm, (30, 30, 10), 16.0, sp, 1)
    tools.interpolate_slices(lm, Plane.AXIAL, 0, 10, 1, sp)
    for k in range(1, 10):
        expected_r = 6 + (16 - 6) * k / 10
        area = (lm.data[:, :, k] == 1).sum()
        assert area == pytest.approx(np.pi * expected_r**2, rel=0.12), k


def test_remove_islands_and_tumour_outside_liver():
    sp = (1.0, 1.0, 1.0)
    lm = LabelMap(np.zeros((60, 60, 10), np.uint8))
    tools.brush(lm, (20, 20, 5), 10, sp, 1, plane=None)
    tools.brush(lm, (50, 50, 5), 2, sp, 1, plane=None)  # island
    tools.brush(lm, (20, 20, 5), 1, sp, 2, plane=None)  # a 7-voxel speck of tumour
    lm.data[55:58, 2:5, 1:3] = 2  # tumour floating outside any liver
    assert tools.tumour_outside_liver(lm.data).sum() == 18
    tools.keep_tumour_inside_liver(lm)
    assert (lm.data[55:58, 2:5, 1:3] == 0).all()
    tools.remove_islands(lm, voxel_ml=0.001, min_tumour_ml=0.05)
    assert lm.data[50, 50, 5] == 0 and (lm.data == 2).sum() == 0 and lm.data[20, 20, 5] == 1


def test_undo_names_and_modified_flag():
    lm = LabelMap(np.zeros((20, 20, 2), np.uint8))
    assert not lm.modified
    tools.brush(lm, (10, 10, 0), 3, (1, 1, 1), 2)
    assert lm.modified and lm.undo_name() == "paint tumour (brush)"
    lm.undo()
    assert lm.redo_name() == "paint tumour (brush)" and not lm.data.any()
    lm.mark_saved()
    assert not lm.modified


strokes = st.lists(
    st.tuples(st.integers(0, 39), st.integers(0, 39), st.integers(0, 7), st.floats(1.0, 6.0),
              st.sampled_from([1, 2]), st.sampled_from([tools.PAINT, tools.ERASE, tools.ERASE_LABEL]),
              st.sampled_from([Plane.AXIAL, Plane.CORONAL, None])),
    min_size=1, max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(strokes, st.integers(0, 30))
def test_undo_redo_restores_bytes_exactly(seq, n_undo):
    lm = LabelMap(np.zeros((40, 40, 8), np.uint8))
    snapshots = [lm.data.copy()]
    for x, y, z, r, label, mode, plane in seq:
        if tools.brush(lm, (x, y, z), r, (0.8, 1.0, 2.5), label, mode, plane=plane) is not None:
            snapshots.append(lm.data.copy())
    n = min(n_undo, len(snapshots) - 1)
    for i in range(n):
        lm.undo()
        np.testing.assert_array_equal(lm.data, snapshots[-2 - i])
    for _ in range(n):
        lm.redo()
    np.testing.assert_array_equal(lm.data, snapshots[-1])


def test_undo_memory_of_200_strokes_on_a_large_volume_is_small():
    lm = LabelMap(np.zeros((512, 512, 200), np.uint8))
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = rng.integers([50, 50, 0], [460, 460, 200])
        tools.brush(lm, c, float(rng.uniform(3, 15)), (0.7, 0.7, 1.5), int(rng.integers(1, 3)))
    assert len(lm.undo_stack) == 200
    assert lm.undo_bytes() < 5 * 2**20  # far under the 200 MB the issue allows


def test_undo_budget_drops_oldest_entries():
    lm = LabelMap(np.zeros((200, 200, 10), np.uint8), memory_budget=20_000)
    for k in range(10):
        tools.brush(lm, (100, 100, k), 40, (1, 1, 1), 1)
    assert lm.undo_bytes() <= 20_000 and 0 < len(lm.undo_stack) < 10


def test_a_stroke_of_many_dabs_undoes_in_one_step():
    lm = LabelMap(np.zeros((60, 60, 4), np.uint8))
    tools.brush(lm, (10, 10, 1), 3, (1, 1, 1), 1)
    before = lm.data.copy()
    lm.begin_stroke()
    for x in range(15, 50, 3):
        tools.brush(lm, (x, 30, 1), 4, (1, 1, 1), 2)
    after = lm.data.copy()
    merged = lm.end_stroke()
    assert merged is not None and merged.name == "paint tumour (brush)"
    assert len(lm.undo_stack) == 2
    lm.undo()
    np.testing.assert_array_equal(lm.data, before)
    lm.redo()
    np.testing.assert_array_equal(lm.data, after)
    assert lm.end_stroke() is None  # nothing open


def test_bounding_box_with_a_margin_is_clipped_to_the_array():
    from livseg_gui.labels import bounding_box

    mask = np.zeros((10, 12, 5), bool)
    mask[1:3, 4:9, 2] = True
    assert bounding_box(mask) == (slice(1, 3), slice(4, 9), slice(2, 3))
    assert bounding_box(mask, margin=2) == (slice(0, 5), slice(2, 11), slice(0, 5))
    assert bounding_box(mask, margin=(0, 3, 1)) == (slice(1, 3), slice(1, 12), slice(1, 4))
    assert bounding_box(np.zeros((3, 3, 3), bool), margin=1) is None
