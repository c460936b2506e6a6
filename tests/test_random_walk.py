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


def _dense_walk(img: np.ndarray, domain: np.ndarray, seeds: np.ndarray, sp) -> np.ndarray:
    """The walk's probabilities from the definition: a dense Laplacian over the domain's voxels, pair by pair, and
    its Dirichlet problem solved exactly (Grady 2006, eq. 10)."""
    voxels = [tuple(v) for v in np.argwhere(domain)]
    index = {v: i for i, v in enumerate(voxels)}
    pairs = []
    for v in voxels:
        for axis in range(3):
            u = list(v)
            u[axis] += 1
            if tuple(u) in index:
                scale = sp[0] / sp[axis]
                pairs.append((index[v], index[tuple(u)], scale, (float(img[v]) - float(img[tuple(u)])) * scale))
    s = max(5.0, 3.0 * 1.4826 * float(np.median([abs(d) for *_, d in pairs])))
    lap = np.zeros((len(voxels), len(voxels)))
    for i, j, scale, d in pairs:
        w = scale**2 * np.exp(-((d / s) ** 2)) + 1e-6
        lap[i, j] = lap[j, i] = -w
        lap[i, i] += w
        lap[j, j] += w
    label = np.array([seeds[v] for v in voxels])
    free = (label == 0) & (np.abs(lap).sum(axis=1) > 0)
    x = (label == 1).astype(float)
    x[free] = np.linalg.solve(lap[np.ix_(free, free)], -lap[np.ix_(free, ~free)] @ x[~free])
    out = np.zeros(img.shape)
    out[domain] = x
    return out


def test_the_walk_solves_its_definition_on_an_irregular_domain():
    """The sparse system, assembled from the grid's stencil, against the definition: anisotropic voxels, a domain
    with holes and edges at its faces, seeds of both labels and a voxel cut off from every other."""
    rng = np.random.default_rng(7)
    shape = (9, 8, 6)
    img = rng.normal(40.0, 15.0, shape)
    img[4:, 2:6, :] += 80.0  # an object with edges
    domain = rng.random(shape) > 0.15
    domain[0, 0, :2] = [True, False]
    domain[1, 0, 0] = domain[0, 1, 0] = False  # (0, 0, 0) has no neighbour inside: no walk reaches it
    seeds = np.zeros(shape, np.int8)
    seeds[6, 4, 2:4] = 1
    seeds[0, 5:, :] = 2
    seeds[:, 7, 5] = 2
    seeds &= domain.astype(np.int8) * 3
    sp = (0.8, 0.8, 2.5)
    p = random_walk(img.astype(np.float32), domain, seeds, sp, rtol=1e-7)
    expected = _dense_walk(img.astype(np.float32), domain, seeds, sp)
    assert p.dtype == np.float32 and p.shape == shape
    assert p[0, 0, 0] == 0 and (p[~domain] == 0).all() and (p[seeds == 1] == 1).all()
    np.testing.assert_allclose(p, expected, atol=1e-4)
    assert 0.05 < expected[domain & (seeds == 0)].mean() < 0.95  # both labels reach a share of the free voxels
