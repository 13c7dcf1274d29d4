"""Bundled batch jobs that queue like the real server pool.

A batch class simulated at ``job_scale`` S bundles S real jobs into one
simulated job, served by a simulated server that stands for S real ones. If
bundles arrived as a Poisson process and each took one real job's service
time, the simulated pool would be an M/G/(c/S) queue: its fluctuations, in real
jobs, are √S times those of the real M/G/c pool, and it queues where the real
pool does not (c = 100,000 servers at utilisation 0.95: the real pool's
probability of waiting is 1.7e-58, the Poisson-bundled pool's at S = 2,000 is
0.6).

The bundles here keep the real pool's variability instead, so the scaled
simulation keeps its queueing statistics:

* **Arrivals.** A bundle arrives with every S-th real arrival of its
  (class, region) stream: in the stream's cumulative intensity Λ (real jobs),
  the gaps between bundles are Gamma(S, 1) (an Erlang-S renewal process; the
  phase of the first bundle is uniform over the S real arrivals), mapped back
  to time by Λ⁻¹. In real jobs, the count of arrivals over any interval then
  has the real stream's mean and variance.
* **Sizes.** A bundle's service time (and data volume) is the mean of S real
  ones: exactly Gamma(S, mean/S) for exponential sizes; for lognormal sizes the
  lognormal with the same mean and coefficient of variation cv/√S (the first
  two moments of the mean); for Pareto sizes the mean of min(S, 256) draws
  (heavier-tailed than the mean of S, never lighter); fixed sizes stay fixed.

In the many-server (Halfin–Whitt) scaling the simulated pool's number in
system then has the drift and the infinitesimal variance of the real pool's,
in real jobs: the scaled pool keeps the real pool's probability of waiting and
mean wait to the accuracy of that approximation (tested against Erlang C in
``tests/models/demand/test_bundles.py``; ``benchmarks/bench_engine.py`` prints
the error at the national clusters' sizes and loads). At S = 1 the classic
Poisson draw of :func:`models.demand.workload.iter_jobs` is used unchanged.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class BundleClock:
    """Erlang-S renewal epochs of one (class, region) stream, chunk after chunk.

    Holds the cumulative intensity (in bundles) at which the next bundle arrives,
    so that consecutive chunks continue one renewal process.

    Parameters
    ----------
    rng : numpy.random.Generator
        The run's generator (draws the first bundle's phase now).
    bundle : int
        Real arrivals per bundle (S >= 1).
    """

    def __init__(self, rng: np.random.Generator, bundle: int) -> None:
        self.shape = float(bundle)
        self.next_at = first_epoch(rng, bundle)

    def epochs(self, rng: np.random.Generator, cum_at_end: float) -> FloatArray:
        """Bundle epochs (in cumulative bundles) below ``cum_at_end``; advances the clock."""
        ep, self.next_at = renewal_epochs(rng, self.next_at, cum_at_end, self.shape)
        return ep


def first_epoch(rng: np.random.Generator, bundle: int) -> float:
    """The first epoch (in cumulative bundles) of an Erlang-``bundle`` renewal stream.

    The first bundle closes after J real arrivals, J uniform on 1..S (a random phase).
    """
    j = int(rng.integers(1, bundle + 1))
    return float(rng.gamma(j, 1.0 / bundle))


def renewal_epochs(
    rng: np.random.Generator, next_at: float, cum_at_end: float, shape: float
) -> tuple[FloatArray, float]:
    """The epochs from ``next_at`` on below ``cum_at_end``, gaps Gamma(``shape``, 1/``shape``).

    Returns the epochs (in cumulative bundles) and the first epoch at or past
    ``cum_at_end`` (where the stream goes on).
    """
    out: list[FloatArray] = []
    while next_at < cum_at_end:
        expect = cum_at_end - next_at
        m = int(expect + 6.0 * np.sqrt(expect / shape) + 16.0)
        gaps = rng.gamma(shape, 1.0 / shape, m)
        ep = next_at + np.concatenate(([0.0], np.cumsum(gaps[:-1])))
        keep = ep < cum_at_end
        out.append(ep[keep])
        next_at = float(ep[-1] + gaps[-1]) if keep.all() else float(ep[~keep][0])
    return (np.concatenate(out) if out else np.empty(0)), next_at


def bundle_times(cum: FloatArray, times: FloatArray, epochs: FloatArray) -> FloatArray:
    """Map epochs in cumulative intensity back to time (Λ⁻¹, piecewise linear).

    ``cum`` is non-decreasing at the instants ``times``; an epoch inside an hour
    of zero rate cannot occur (the cumulative intensity does not pass it there).
    """
    idx = np.searchsorted(cum, epochs, side="right") - 1
    idx = np.clip(idx, 0, len(cum) - 2)
    lo, hi = cum[idx], cum[idx + 1]
    span = np.where(hi > lo, hi - lo, 1.0)
    frac = np.clip((epochs - lo) / span, 0.0, 1.0)
    out: FloatArray = times[idx] + frac * (times[idx + 1] - times[idx])
    return out
