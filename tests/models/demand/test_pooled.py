"""Batch streams routed by shares, then bundled at each pool (``engine.bundling: pool``).

Independent truth: the real arrivals a pool receives are the thinned Poisson
stream's (mean share x rate x time, and variance = mean, counted in real jobs),
whatever the pool's bundle size, and whatever the shares did before; the size
of a bundle is the mean of S real sizes (Gamma for exponential sizes).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.demand.pooled import PooledBundles
from models.demand.sizes import draw_bundle_size, draw_bundle_sizes
from tests.helpers import batch_spec

STEP_S = 300.0


def _run(
    bundles: PooledBundles, hours: int, shares_of: object
) -> list[tuple[float, int, int, int, int, float, float]]:
    out = []
    for i in range(int(hours * 3600 / STEP_S)):
        t0 = i * STEP_S
        shares = shares_of(t0) if callable(shares_of) else shares_of
        out.extend(bundles.step(t0, t0 + STEP_S, shares))
    return out


def test_each_pool_gets_its_share_of_real_jobs_with_poisson_variance() -> None:
    # two pools with bundles of 10 and 100 real jobs, 30 % and 70 % of each region's stream
    real_per_h = 40_000.0
    scale = np.array([[10, 100, 1]])
    shares = np.zeros((1, 2, 3))
    shares[0, :, 0], shares[0, :, 1] = 0.3, 0.7
    hours = 400
    pb = PooledBundles([batch_spec(real_per_h)], hours * 3600.0, scale, np.random.default_rng(5))
    got = _run(pb, hours, shares)
    t = np.array([b[0] for b in got])
    assert np.all(np.diff(t) >= 0) and t[-1] < hours * 3600.0  # in order, inside the run
    for pool, share, size in ((0, 0.3, 10), (1, 0.7, 100)):
        mine = [b for b in got if b[3] == pool]
        assert all(b[4] == size for b in mine)
        hour = np.array([b[0] for b in mine]) // 3600
        counts = size * np.bincount(hour.astype(int), minlength=hours)[20:]  # past the first phase
        lam = real_per_h * share
        assert counts.mean() == pytest.approx(lam, rel=0.02)
        # the pool's one stream (both regions merged) is Poisson in real jobs (Poisson bundles
        # would give size x the mean); counts move in steps of the bundle size: + size^2 / 12
        assert counts.var(ddof=1) == pytest.approx(lam + size * size / 12.0, rel=0.3)
        # each region sends its own share of the real jobs (a bundle takes one region's path)
        for region, w in ((0, 0.25), (1, 0.75)):
            real = size * sum(1 for b in mine if b[2] == region)
            assert real == pytest.approx(lam * hours * w, rel=0.03 if size == 10 else 0.06)


def test_a_stream_keeps_its_phase_when_its_share_comes_and_goes() -> None:
    # pool 0 gets the stream every other hour: over the run, half the real jobs, none lost
    real_per_h = 20_000.0
    scale = np.array([[500, 1]])
    on, off = np.zeros((1, 1, 2)), np.zeros((1, 1, 2))
    on[0, 0, 0] = 1.0
    off[0, 0, 1] = 1.0  # the rest is dropped (the last column), bundled at the class's scale 1
    hours = 200
    pb = PooledBundles(
        [batch_spec(real_per_h, regions=(1.0,))], hours * 3600.0, scale, np.random.default_rng(2)
    )
    got = _run(pb, hours, lambda t0: on if int(t0 // 3600) % 2 == 0 else off)
    to_pool = sum(b[4] for b in got if b[3] == 0)
    dropped = sum(b[4] for b in got if b[3] == 1)
    # the pool's real jobs trail its thinned stream by less than a bundle
    assert abs(to_pool - real_per_h * hours / 2) < 4 * math.sqrt(real_per_h * hours / 2) + 500
    assert dropped == pytest.approx(real_per_h * hours / 2, rel=0.01)
    assert all(int(b[0] // 3600) % 2 == 0 for b in got if b[3] == 0)  # only while it had a share


def test_the_same_seed_gives_the_same_bundles() -> None:
    scale = np.array([[50, 7, 1]])
    shares = np.full((1, 2, 3), 1 / 3)
    a = _run(PooledBundles([batch_spec(9_000.0)], 20 * 3600.0, scale, np.random.default_rng(1)), 20, shares)
    b = _run(PooledBundles([batch_spec(9_000.0)], 20 * 3600.0, scale, np.random.default_rng(1)), 20, shares)
    assert a == b and len(a) > 100


@pytest.mark.parametrize("dist", ["exponential", "lognormal", "pareto", "fixed"])
@pytest.mark.parametrize("size", [1, 40])
def test_one_bundle_size_at_a_time_has_the_law_of_many(dist: str, size: int) -> None:
    rng = np.random.default_rng(4)
    n = 40_000
    one = np.array([draw_bundle_size(rng, dist, 3.0, 1.5, size) for _ in range(n)])
    many = draw_bundle_sizes(np.random.default_rng(9), dist, 3.0, 1.5, n, size)
    assert one.mean() == pytest.approx(3.0, rel=0.03)
    # the same law (quantiles: the sample spread of Pareto sizes is too heavy-tailed to compare)
    q = [0.1, 0.5, 0.9]
    np.testing.assert_allclose(np.quantile(one, q), np.quantile(many, q), rtol=0.03)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.lists(st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6), min_size=1, max_size=12),
)
def test_bundles_come_only_from_routed_streams_inside_their_step(seed: int, steps: list[list[float]]) -> None:
    """Whatever the shares: a bundle arrives within its step, from a stream with a share then,
    at its pool's scale, in arrival order."""
    scale = np.array([[3, 40, 1]])
    pb = PooledBundles([batch_spec(50_000.0)], 24 * 3600.0, scale, np.random.default_rng(seed))
    for i, raw in enumerate(steps):
        shares = np.array(raw).reshape(1, 2, 3)
        t0 = i * STEP_S
        got = pb.step(t0, t0 + STEP_S, shares)
        assert [b[0] for b in got] == sorted(b[0] for b in got)
        for t, k, r, c, s, svc, gb in got:
            assert t0 <= t < t0 + STEP_S and k == 0
            assert shares[0, r, c] > 0.0 and s == scale[0, c]
            assert svc > 0.0 and gb >= 0.0
