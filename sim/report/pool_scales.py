"""Each pool's honest bundle size for ``engine.bundling: pool``, read from a run folder.

A pool's bundle size (``engine.pool_job_scale``) is honest when its bundled queue stays
within 2 % of Erlang C for the real pool (:mod:`models.demand.bundle_check`). That
depends on the pool's batch servers, its load and its streams, so :func:`pool_scales`
reads them from a run (``timeseries.parquet``: the servers latency work leaves to batch
and the batch utilisation, over the run and in its busiest hour; ``jobs.parquet``: the
pool's real batch jobs by class) and climbs each pool's ladder. Run the
scenario for a representative day first (any bundling), then ``edwc pool-scales RUN``
prints the table and the mapping to paste into the config.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from models.demand.bundle_check import LADDER, RHO_MAX, TOLERANCE, PoolLoad, honest_scale
from sim.runfolder import layout

__all__ = ["PoolScale", "pool_loads", "pool_scales", "scale_table", "scales_yaml"]


@dataclass(frozen=True)
class PoolScale:
    """One pool's check: its load, the largest honest scale (0: none of the ladder) and its error."""

    load: PoolLoad
    scale: int
    error: float

    @property
    def jobs_per_day(self) -> float:
        """Simulated batch jobs a day at this scale (the run's real jobs / scale, per day)."""
        return math.nan if self.scale == 0 else self.load.real_jobs / self.scale


def pool_loads(run_dir: Path) -> tuple[list[PoolLoad], float]:
    """Every pool's batch servers, loads and streams in the run at ``run_dir``, and the run's
    length in days."""
    import pandas as pd

    ts = pd.read_parquet(run_dir / layout.TIMESERIES)
    jobs = pd.read_parquet(run_dir / layout.JOBS, columns=["cluster", "class", "region", "job_scale"])
    jobs = jobs.dropna(subset=["cluster"])
    ts["hour"] = (ts["time_s"] // 3600).astype(int)
    ts["batch_busy"] = ts["busy_servers"] - ts["latency_busy_servers"]
    ts["batch_cap"] = ts["powered_servers"] - ts["latency_busy_servers"]
    hourly = ts.groupby(["cluster", "hour"], observed=True)[["batch_busy", "batch_cap"]].mean()
    types = {str(c): str(t) for c, t in ts.groupby("cluster", observed=True)["server_type"].first().items()}
    days = float(layout.read_summary(run_dir)["horizon_h"]) / 24.0
    out = []
    for cid, g in hourly.groupby(level=0, observed=True, sort=False):
        rho = (g["batch_busy"] / g["batch_cap"]).clip(upper=1.0)
        ok = rho < RHO_MAX
        real = jobs[jobs["cluster"] == cid].groupby("class", observed=True)["job_scale"].sum()
        real = real[real > 0]
        out.append(
            PoolLoad(
                pool=str(cid),
                servers=float(g["batch_cap"].mean()),
                rho_mean=float(g["batch_busy"].sum() / g["batch_cap"].sum())
                if g["batch_cap"].sum() > 0
                else 0.0,
                rho_peak=float(rho[ok].max()) if ok.any() else math.nan,
                servers_peak=float(g["batch_cap"][ok].mean()) if ok.any() else math.nan,
                streams=tuple(float(x) for x in (real / real.sum()).to_numpy()) if len(real) else (),
                real_jobs=float(real.sum()),
                server_type=types[str(cid)],
                saturated_h=int((~ok).sum()),
            )
        )
    return out, days


def pool_scales(
    run_dir: Path | str, ladder: Sequence[int] = LADDER, tolerance: float = TOLERANCE
) -> list[PoolScale]:
    """The largest honest ``engine.pool_job_scale`` of every pool of the run at ``run_dir``.

    Parameters
    ----------
    run_dir : path
        A run folder (any ``engine.bundling``); a day at the loads you care about is enough.
    ladder : sequence of int
        The scales tried, in increasing order (climbed until the first that fails).
    tolerance : float
        Largest relative error of the mean batch response against Erlang C (default 2 %).

    Returns
    -------
    list of PoolScale
        One per pool, in the run's cluster order; ``jobs_per_day`` is per day of the run.
    """
    loads, days = pool_loads(Path(run_dir))
    out = []
    for load in loads:
        scale, err = honest_scale(load, ladder, tolerance)
        per_day = PoolLoad(**{**load.__dict__, "real_jobs": load.real_jobs / days})
        out.append(PoolScale(per_day, scale, err))
    return out


def scales_yaml(scales: Sequence[PoolScale]) -> str:
    """``engine.pool_job_scale`` as a YAML flow mapping (pools with no honest scale left out)."""
    return "{" + ", ".join(f"{p.load.pool}: {p.scale}" for p in scales if p.scale > 0) + "}"


def scale_table(scales: Sequence[PoolScale]) -> str:
    """The check as text, a pool a line: batch servers, loads, streams (and their effective
    number), the scale chosen, its error, and the simulated batch jobs a day and a year."""
    lines = [
        f"{'pool':>20} {'batch servers':>14} {'rho mean':>9} {'rho peak':>9} {'streams':>8} {'eff':>5} "
        f"{'real jobs/day':>14} {'scale':>10} {'error':>7} {'jobs/day':>9} {'jobs/year':>10}"
    ]
    for p in scales:
        ld = p.load
        err = f"{100 * p.error:6.2f}%" if p.scale else "    n/a"
        lines.append(
            f"{ld.pool:>20} {ld.servers:>14,.0f} {ld.rho_mean:>9.3f} {ld.rho_peak:>9.3f} "
            f"{len(ld.streams):>8} {ld.effective_streams:>5.1f} {ld.real_jobs:>14,.0f} {p.scale:>10,} {err} "
            f"{p.jobs_per_day:>9,.0f} {365 * p.jobs_per_day:>10,.0f}"
        )
    total = sum(p.jobs_per_day for p in scales if p.scale)
    lines.append(
        f"{'':>20} simulated batch jobs at these scales: {total:,.0f} a day, {365 * total:,.0f} a year"
    )
    return "\n".join(lines)
