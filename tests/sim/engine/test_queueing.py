"""The engine against queueing theory: M/M/c (Erlang C) and Little's law.

Each case runs >= 20 independent replications and checks the theoretical
value lies within the replications' confidence interval.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.helpers import run_in_memory, single_queue_config

REPLICATIONS = 20


def erlang_c(c: int, offered: float) -> float:
    """P(wait) in M/M/c with ``offered`` = lambda / mu Erlangs (independent formula)."""
    s = sum(offered**k / math.factorial(k) for k in range(c))
    top = offered**c / math.factorial(c) * c / (c - offered)
    return top / (s + top)


def _replicate(c: int, lam_per_h: float, mean_service_h: float, horizon_h: float) -> dict[str, np.ndarray]:
    waits, pwaits, little_l, little_lw = [], [], [], []
    for rep in range(REPLICATIONS):
        doc = single_queue_config(c, lam_per_h, mean_service_h * 3600, horizon_h, seed=1000 + rep)
        _, out = run_in_memory(doc)
        jobs = out.jobs.to_pandas()
        warm = 0.05 * horizon_h * 3600
        ok = jobs.start_s.notna() & (jobs.arrival_s >= warm)
        wait_h = (jobs.start_s[ok] - jobs.queued_s[ok]).to_numpy() / 3600
        waits.append(wait_h.mean())
        pwaits.append(np.mean(wait_h > 1e-12))
        # Little's law over the same run: time-average number in system vs
        # arrival rate x mean time in system (both measured, not theory).
        ts = out.timeseries.to_pandas()
        in_system = (ts["busy_servers"] + ts["queue_len"]).mean()
        done = jobs[jobs.status == "completed"]
        sojourn_h = (done.end_s - done.arrival_s).mean() / 3600
        lam_hat = len(jobs) / horizon_h
        little_l.append(in_system)
        little_lw.append(lam_hat * sojourn_h)
    return {k: np.array(v) for k, v in {"wq": waits, "pw": pwaits, "L": little_l, "lamW": little_lw}.items()}


def _within_ci(samples: np.ndarray, truth: float, z: float = 3.0) -> bool:
    half = z * samples.std(ddof=1) / math.sqrt(samples.size)
    return abs(samples.mean() - truth) <= half


@pytest.mark.parametrize(
    ("c", "lam", "horizon_h"),
    [(10, 8.0, 3000.0), (1, 0.8, 6000.0)],
    ids=["M/M/10 rho=0.8", "M/M/1 rho=0.8"],
)
def test_mmc_matches_erlang_c(c: int, lam: float, horizon_h: float) -> None:
    mu = 1.0  # per hour
    out = _replicate(c, lam, 1.0 / mu, horizon_h)
    pw = erlang_c(c, lam / mu)
    wq = pw / (c * mu - lam)
    assert _within_ci(out["pw"], pw), (out["pw"].mean(), pw)
    assert _within_ci(out["wq"], wq), (out["wq"].mean(), wq)


def test_littles_law_on_the_same_run() -> None:
    out = _replicate(10, 8.0, 1.0, 1000.0)
    # L measured from the time series equals lambda x W measured from the jobs
    # (up to end effects of jobs still in the system at the horizon).
    np.testing.assert_allclose(out["L"], out["lamW"], rtol=0.03)
    # and both agree with theory: L = lambda (Wq + 1/mu)
    theory = 8.0 * (erlang_c(10, 8.0) / 2.0 + 1.0)
    assert _within_ci(out["L"], theory)
