"""The scale check: does a bundled batch pool queue like the real one? (Erlang C, simulated)

Bundling S real batch jobs into one simulated job on ``servers / S`` simulated servers
keeps the real pool's queueing only if the bundles keep its variability
(``models/demand/bundles.py``: every S-th real arrival, the mean of S service times).
:func:`models.demand.bundle_check.bundled_response` simulates the bundled pool as the
engine queues it, and ``erlang_response`` gives the real pool's by Erlang C; :func:`scale_check`
compares them at the pools' batch loads of a day run (:func:`batch_loads`). Used by
``bench_engine.py`` and ``year_budget.py`` (one bundle size per server type; a pool's own,
with its streams: ``edwc pool-scales``, :mod:`sim.report.pool_scales`).
"""

from __future__ import annotations

from pathlib import Path

from models.demand.bundle_check import bundled_response
from models.demand.bundle_check import erlang_response as response


def batch_loads(run_dir: Path, server_type: str) -> list[tuple[str, float, float, float, float, int]]:
    """Per cluster of ``server_type``: batch servers, batch rho (mean, busiest unsaturated hour),
    the batch servers of the unsaturated hours, saturated hours (from
    :func:`sim.report.pool_scales.pool_loads`)."""
    from sim.report.pool_scales import pool_loads

    loads, _days = pool_loads(run_dir)
    return [
        (p.pool, p.servers, p.rho_mean, p.rho_peak, p.servers_peak, p.saturated_h)
        for p in loads
        if p.server_type == server_type
    ]


def scale_check(
    loads: list[tuple[str, float, float, float, float, int]], job_scale: int
) -> tuple[float, float]:
    """Largest relative error of the mean batch response time, bundled pool vs real pool.

    Returns (error of edwc's bundles, error Poisson bundles would have).
    """
    worst, worst_poisson = 0.0, 0.0
    for _cid, cap, rho_mean, rho_peak, cap_peak, _sat in loads:
        for n, rho in ((cap, rho_mean), (cap_peak, rho_peak)):
            if not (n > 0 and 0 < rho < 0.98):
                continue
            real = response(n, rho)
            worst = max(worst, abs(bundled_response(n, rho, job_scale) / real - 1.0))
            worst_poisson = max(worst_poisson, abs(response(n / job_scale, rho) / real - 1.0))
    return worst, worst_poisson
