"""The random walker on known answers: an edge splits, a flat region shares by distance, a neck holds."""

from __future__ import annotations

import numpy as np

from livseg_gui.edit.random_walk import random_walk

SP = (1.0, 1.0, 1.0)


def _bar(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    img = np.broadcast_to(values[:, None, None], (values.size, 4, 4)).astype(np.float32).copy()
    seeds = np.zeros(img.shape, np.int8)
    seeds[0], seeds[-1] = 1, 2
    return img, np.ones(img.shape, bool), seeds


def test_an_edge_splits_the_walk_where_it_is():
    img, domain, seeds = _bar(np.r_[np.zeros(12), np.full(28, 100.0)])  # the edge a third of the way along
    p = random_walk(img, domain, seeds, SP)[:, 0, 0]
    assert (p[:12] > 0.9).all() and (p[12:] < 0.1).all()


def test_without_an_edge_the_walk_falls_off_with_distance():
    img, domain, seeds = _bar(np.full(40, 50.0))
    p = random_walk(img, domain, seeds, SP)[:, 0, 0]
    assert np.all(np.diff(p) < 0) and abs(p[20] - 0.5) < 0.05  # linear between the seeds (a resistor chain)


def test_outside_the_domain_is_zero_and_isolated_voxels_are_not_reached():
    img, domain, seeds = _bar(np.full(20, 50.0))
    domain[10] = False  # cut the bar in two: the far half cannot reach the label-1 seed
    p = random_walk(img, domain, seeds, SP)
    assert (p[10] == 0).all() and (p[11:] < 0.01).all() and (p[:10] > 0.99).all()
