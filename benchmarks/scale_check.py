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

import math
from pathlib import Path

from models.demand.bundle_check import bundled_response
from models.demand.bundle_check import erlang_response as response


def batch_loads(run_dir: Path, server_type: str) -> list[tuple[str, float, float, float, float, int]]:
    """Per cluster of ``server_type``: batch servers, batch rho (mean, busiest unsaturated hour),
    saturated hours."""
    import pandas as pd

    ts = pd.read_parquet(run_dir / "timeseries.parquet")
    ts = ts[ts["server_type"].astype(str) == server_type]
    ts["hour"] = (ts["time_s"] // 3600).astype(int)
    ts["batch_busy"] = ts["busy_servers"] - ts["latency_busy_servers"]
    ts["batch_cap"] = ts["powered_servers"] - ts["latency_busy_servers"]
    hourly = ts.groupby(["cluster", "hour"], observed=True)[["batch_busy", "batch_cap"]].mean()
    out = []
    for cid, g in hourly.groupby(level=0, observed=True):
        rho = (g["batch_busy"] / g["batch_cap"]).clip(upper=1.0)
        ok = rho < 0.98
        out.append(
            (
                str(cid),
                float(g["batch_cap"].mean()),
                float(g["batch_busy"].sum() / g["batch_cap"].sum()),
                float(rho[ok].max()) if ok.any() else math.nan,
                float(g["batch_cap"][ok].mean()) if ok.any() else math.nan,
                int((~ok).sum()),
            )
        )
    return out


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
