"""The learned lesion-click net: loading, its input checks, and lesions from one click with known answers."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest

from livseg_gui.edit import LabelMap
from livseg_gui.edit.clicks import plan_lesion_click
from livseg_gui.errors import ModelError
from livseg_gui.measure.metrics import Overlap
from livseg_gui.segment.models import Models, load_click_net

from .conftest import MODELS, needs_models
from .test_clicks import SP, _liver_with_lesion, _voxel

pytestmark = needs_models


def _click_net():
    net = load_click_net(MODELS)
    if net is None:
        pytest.skip("the bundled models have no click net")
    return net


def test_the_click_net_finds_a_hypodense_sphere_from_one_click_as_one_undo_step():
    hu, labels, lesion = _liver_with_lesion(-35.0)
    net = _click_net()
    lm = LabelMap(labels.copy())
    box, region = net.segment(hu, SP, labels, positive=np.round(_voxel((60, 70, 50)))[None], negative=np.zeros((0, 3)))
    full = np.zeros(lesion.shape, bool)
    full[box] = region
    assert Overlap.of(full, lesion).dice >= 0.7
    edit = plan_lesion_click(lm.data, hu, SP, _voxel((60, 70, 50)), positive=True, click_net=net, learned_first=True)
    np.testing.assert_array_equal(lm.data, labels)  # planning never writes
    edit.apply(lm)
    assert len(lm.undo_stack) == 1 and lm.undo_name() == "click lesion + (net)"
    assert Overlap.of(lm.data == 2, lesion).dice >= 0.7
    assert (lm.data[labels == 0] == 2).sum() <= 0.02 * lesion.sum()  # it stays in the liver


def test_a_hyperdense_sphere_is_found_by_the_classical_region_first():
    hu, labels, lesion = _liver_with_lesion(+30.0)
    lm = LabelMap(labels.copy())
    plan_lesion_click(lm.data, hu, SP, _voxel((60, 70, 50)), positive=True, click_net=_click_net()).apply(lm)
    assert Overlap.of(lm.data == 2, lesion).dice >= 0.85


def test_the_click_net_follows_a_lesion_through_its_slices_and_stops():
    hu, labels, lesion = _liver_with_lesion(-35.0, radius_mm=12.0)
    box, region = _click_net().segment(hu, SP, labels, positive=np.round(_voxel((60, 70, 50)))[None],
                                       negative=np.zeros((0, 3)))
    zs = np.flatnonzero(region.any(axis=(0, 1))) + box[2].start
    true_zs = np.flatnonzero(lesion.any(axis=(0, 1)))
    assert abs(zs[0] - true_zs[0]) <= 2 and abs(zs[-1] - true_zs[-1]) <= 2  # 12 mm radius on 2 mm slices


def test_models_are_loaded_once_whatever_the_thread():
    models = Models(MODELS, threads=1)
    got = []
    threads = [threading.Thread(target=lambda: got.append(models.click_net())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(g) for g in got}) == 1


def test_the_click_tool_is_prepared_ahead_of_the_first_click():
    from livseg_gui.workflow import prepare_clicks_in_background

    models = Models(MODELS, threads=1)
    prepare_clicks_in_background(models).result(timeout=120)
    assert models._click is not False  # loaded already: the first click does not wait for it
    assert models.click_net() is models._click


def test_a_card_whose_channels_do_not_match_the_onnx_is_refused(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(MODELS, folder, ignore=shutil.ignore_patterns("baseline"))
    card = json.loads((folder / "model_card.json").read_text())
    card["nets"]["click"] = {**card["nets"]["liver"], "channels": 8}  # the liver net's ONNX takes 5
    (folder / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="8 channels"):
        load_click_net(folder)
