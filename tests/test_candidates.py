"""Below-threshold tumour candidates: not in the mask until confirmed; confirming is one undo step."""

from __future__ import annotations

import numpy as np
import pytest

from livseg_gui.edit import tools
from livseg_gui.edit.document import Document
from livseg_gui.io.volume import Metadata, make_volume
from livseg_gui.report import build_report
from livseg_gui.segment.cascade import SegmentationResult
from livseg_gui.segment.confidence import Candidate, TumourProbability

from .conftest import MODELS, SAMPLE, needs_models


def _result():
    shape = (40, 40, 10)
    vol = make_volume(np.zeros(shape, np.int16), np.diag([-1.0, -1.0, 2.0, 1.0]), Metadata())
    labels = np.zeros(shape, np.uint8)
    labels[5:35, 5:35, 1:9] = 1
    labels[8:12, 8:12, 3:6] = 2  # a confident lesion
    box = (slice(20, 26), slice(20, 26), slice(4, 7))
    mask = np.ones((6, 6, 3), bool)
    prob = np.zeros(shape, np.uint8)
    prob[8:12, 8:12, 3:6] = 230
    prob[box] = 150
    res = SegmentationResult(labels=labels, candidates=[Candidate(box, mask, 150 / 255, 108 * 0.002)],
                             tumour_probability=TumourProbability((slice(0, 40),) * 2 + (slice(0, 10),), prob))
    return vol, res


def test_a_candidate_is_outside_the_mask_and_totals_until_confirmed():
    vol, res = _result()
    s = Document(vol)
    s.set_segmentation(res)
    a = s.analysis()
    assert len(a.lesions) == 1 and a.lesions[0].confidence == pytest.approx(230 / 255)
    assert [name for name, _ in s.pending_candidates()] == ["C1"]
    report = build_report(a, vol, candidates=s.pending_candidates())
    assert report["lesion_count"] == 1 and report["tumour_volume_ml"] == pytest.approx(4 * 4 * 3 * 0.002)
    assert report["candidates"][0]["name"] == "C1" and report["candidates"][0]["confidence"] == pytest.approx(0.588, abs=1e-3)

    name, cand = s.pending_candidates()[0]
    tools.confirm_candidate(s.labels, cand.box, cand.mask, f"candidate {name}")
    assert s.labels.undo_name() == "confirm candidate C1"
    a = s.analysis()
    assert len(a.lesions) == 2 and s.pending_candidates() == []
    assert sorted(les.confidence for les in a.lesions) == pytest.approx([150 / 255, 230 / 255])
    s.labels.undo()  # undo brings the candidate back, with no bookkeeping of its own
    assert [name for name, _ in s.pending_candidates()] == ["C1"] and len(s.analysis().lesions) == 1


@needs_models
def test_operating_threshold_splits_components_between_mask_and_candidates():
    """Threshold 0: every component is a lesion; above 1: the same voxels all become candidates."""
    from livseg_gui.io import load_volume
    from livseg_gui.segment import Cascade

    vol = load_volume(SAMPLE)
    every = Cascade(MODELS, threads=1, lesion_threshold=0.0).run(vol)
    none = Cascade(MODELS, threads=1, lesion_threshold=1.01).run(vol)
    assert every.candidates == [] and not (none.labels == 2).any()
    union = np.zeros(vol.shape, bool)
    for c in none.candidates:
        union[c.box] |= c.mask
        assert 0.5 <= c.confidence <= 1.0
    np.testing.assert_array_equal(union, every.labels == 2)
    np.testing.assert_array_equal(none.labels >= 1, every.labels >= 1)


@pytest.mark.parametrize("at_net_resolution", [False, True])
def test_probability_every_kth_slice_is_every_kth_of_the_whole_crop(at_net_resolution):
    # Thin slices merged into blocks read every k-th slice only; the crop must not shift them or lose a block.
    from livseg_gui.segment.preprocess import PlaneBox

    rng = np.random.default_rng(3)
    stored = (slice(10, 50), slice(12, 44), slice(5, 23))
    if at_net_resolution:
        prob = TumourProbability(stored, rng.integers(0, 256, (16, 16, 18)).astype(np.uint8),
                                 plane=PlaneBox(center=(29.5, 27.5), side=40.0))
    else:
        prob = TumourProbability(stored, rng.integers(0, 256, (40, 32, 18)).astype(np.uint8))
    for box in [(slice(0, 60), slice(20, 30), slice(0, 30)), (slice(15, 25), slice(0, 64), slice(8, 17)),
                (slice(30, 70), slice(30, 70), slice(21, 40))]:
        whole = prob.crop(box)
        for k in (2, 3):
            np.testing.assert_array_equal(prob.crop(box, z_step=k), whole[:, :, ::k])
    assert prob.crop((slice(0, 60),) * 2 + (slice(0, 5),), z_step=2) is None
    assert prob.crop((slice(0, 60),) * 2 + (slice(23, 30),), z_step=2) is None
