"""Bundled batch jobs (``job_scale`` S > 1) keep the real stream's and the real pool's statistics.

Independent truth: the Poisson count's mean and variance for the arrivals, the
mean of S exponentials (Gamma) for the sizes, and Erlang C for the *real* server
count for the queue the engine simulates at scale.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.demand.bundles import BundleClock, bundle_times
from models.demand.sizes import draw_bundle_sizes
from models.demand.workload import generate_jobs
from models.queueing import erlang_c
from tests.helpers import batch_spec, run_in_memory, single_queue_config


@pytest.mark.parametrize("scale", [10, 100])
def test_real_arrivals_per_hour_have_the_poisson_mean_and_variance(scale: int) -> None:
    # diurnal rate: 0.5x for 12 h, 1.5x for 12 h; real counts per hour = S x bundles
    # (about 1,000 bundles an hour; counts move in steps of S, which adds at most S^2/4 of variance)
    real_per_h = 4_000.0 * scale
    profile = np.tile(np.r_[np.full(12, 0.5), np.full(12, 1.5)], 20)
    jobs = generate_jobs([batch_spec(real_per_h, scale, profile)], 480 * 3600.0, np.random.default_rng(3))
    hour = (jobs.arrival_s // 3600).astype(int)
    for region, w in ((0, 0.25), (1, 0.75)):
        counts = scale * np.bincount(hour[jobs.region == region], minlength=480).reshape(20, 24)
        for half, mult in ((slice(1, 12), 0.5), (slice(13, 24), 1.5)):  # skip the hours the rate changes
            c = counts[:, half].ravel()
            lam = real_per_h * w * mult
            assert c.mean() == pytest.approx(lam, rel=0.02)
            # Poisson: variance = mean (a Poisson-bundled stream would have S x the mean)
            assert c.var(ddof=1) == pytest.approx(lam, rel=0.3)


def test_bundle_epochs_continue_across_chunks() -> None:
    rng = np.random.default_rng(0)
    clock = BundleClock(rng, 50)
    a = clock.epochs(rng, 100.0)
    b = clock.epochs(rng, 200.0)
    both = np.concatenate([a, b])
    assert np.all(np.diff(both) > 0) and both[-1] < 200.0 and clock.next_at >= 200.0
    gaps = np.diff(both)
    assert gaps.mean() == pytest.approx(1.0, rel=0.05)
    assert gaps.var() == pytest.approx(1.0 / 50, rel=0.4)  # Gamma(50, 1/50)


def test_bundle_times_invert_the_cumulative_intensity() -> None:
    cum = np.array([0.0, 10.0, 10.0, 40.0])  # an hour of zero rate in the middle
    times = np.array([0.0, 3600.0, 7200.0, 10800.0])
    t = bundle_times(cum, times, np.array([5.0, 10.0 + 1e-9, 25.0]))
    np.testing.assert_allclose(t, [1800.0, 7200.0, 9000.0], atol=1e-3)


@pytest.mark.parametrize("dist", ["exponential", "lognormal", "pareto", "fixed"])
def test_bundle_sizes_are_the_mean_of_s_real_sizes(dist: str) -> None:
    s, n = 100, 200_000
    x = draw_bundle_sizes(np.random.default_rng(1), dist, 3.0, 1.5, n, s)
    assert x.mean() == pytest.approx(3.0, rel=0.01)
    cv = {"exponential": 1.0, "lognormal": 1.5, "pareto": 1.5, "fixed": 0.0}[dist]
    assert x.std() / x.mean() == pytest.approx(cv / math.sqrt(s), rel=0.15, abs=1e-12)


@pytest.mark.parametrize(
    ("servers", "scale", "rho"),
    [(1000, 10, 0.98), (100_000, 2000, 0.95), (100_000, 2000, 0.995)],
    ids=["c=1000 S=10 rho=0.98", "c=1e5 S=2000 rho=0.95", "c=1e5 S=2000 rho=0.995"],
)
def test_a_scaled_pool_queues_like_the_real_pool(servers: int, scale: int, rho: float) -> None:
    """Mean response (wait + service) of the engine at ``job_scale`` S vs Erlang C for the real c.

    With Poisson bundles of one job's service each, the simulated pool is an
    M/M/(c/S): at c = 1e5, S = 2000, rho = 0.95 it queues 24 % of a service
    time on average where the real pool's wait is 1e-62 of one.
    """
    mean_h = 1.0
    horizon_h = 3000.0 * 100 / (servers / scale)  # about 300k bundles
    doc = single_queue_config(servers, rho * servers / mean_h, mean_h * 3600.0, horizon_h, seed=11)
    doc["engine"]["job_scale"] = scale
    _, out = run_in_memory(doc)
    jobs = out.jobs.to_pandas()
    done = jobs[(jobs.status == "completed") & (jobs.arrival_s >= 0.1 * horizon_h * 3600)]
    response_h = float((done.end_s - done.arrival_s).mean()) / 3600.0
    a = rho * servers
    real_h = mean_h * (1.0 + erlang_c(servers, a) / (servers - a))
    assert response_h == pytest.approx(real_h, rel=0.02), (response_h, real_h)
