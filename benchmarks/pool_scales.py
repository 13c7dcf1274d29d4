"""Each pool's honest bundle size with ``engine.bundling: pool``, checked against Erlang C.

With bundling at each pool every (class, region) stream a pool receives is bundled apart
(``models/demand/pooled.py``), so a pool is fed by several Erlang-S renewal streams, not
one: their superposition is burstier than one stream of their summed rate (each keeps
its Erlang regularity only over its own gaps), and the larger S, the longer those gaps.
The check of ``bench_engine.py`` (one stream, the mean response of the bundled pool vs
Erlang C for the real pool, at the day run's mean and busiest-hour batch loads) is run
here pool by pool with the pool's own streams, at their shares of its real batch jobs in
a day run with ``bundling: pool``; each pool gets the largest scale of :data:`LADDER`
(climbed until the first that fails) within 2 %, keeping at least one simulated server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.scale_check import batch_loads, bundled_response, response

LADDER = (10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
          1_000_000)  # fmt: skip
TOLERANCE = 0.02


@dataclass(frozen=True)
class PoolScale:
    """One pool's check: its batch servers and loads, its streams, the scale chosen."""

    pool: str
    servers: float  # batch servers (mean over the day)
    rho_mean: float
    rho_peak: float
    servers_peak: float
    streams: tuple[float, ...]  # the (class, region) streams' shares of its real batch jobs
    real_jobs_day: float
    scale: int  # 0: not even the ladder's first scale is within the tolerance
    error: float  # the chosen scale's worst relative error of the mean response

    @property
    def effective_streams(self) -> float:
        """1 / sum(share^2): the number of equal streams with the same spread."""
        w = np.asarray(self.streams)
        return float(1.0 / np.sum(w * w)) if w.size else 0.0


def pool_error(
    servers: float,
    rho_mean: float,
    rho_peak: float,
    servers_peak: float,
    streams: tuple[float, ...],
    scale: int,
) -> float:
    """Worst relative error of the bundled pool's mean response at its mean and peak loads."""
    worst = 0.0
    for n, rho in ((servers, rho_mean), (servers_peak, rho_peak)):
        if not (n > 0 and 0 < rho < 0.98):
            continue
        got = bundled_response(n, rho, scale, streams=streams if streams else (1.0,))
        worst = max(worst, abs(got / response(n, rho) - 1.0))
    return worst


def check_pools(run_dir: Path) -> list[PoolScale]:
    """Every pool's honest scale, from a day run's time series and its jobs (``bundling: pool``)."""
    import pandas as pd

    jobs = pd.read_parquet(run_dir / "jobs.parquet", columns=["cluster", "class", "region", "job_scale"])
    jobs = jobs.dropna(subset=["cluster"])
    out = []
    for kind in ("cpu", "gpu"):
        for cid, cap, rm, rp, cap_peak, _sat in batch_loads(run_dir, kind):
            mine = jobs[jobs.cluster == cid]
            real = mine.groupby(["class", "region"], observed=True).job_scale.sum()
            real = real[real > 0]
            streams = tuple(float(x) for x in (real / real.sum()).to_numpy()) if len(real) else ()
            best, best_err = 0, float("nan")
            for s in LADDER:
                if s > cap:  # at least one simulated server
                    break
                err = pool_error(cap, rm, rp, cap_peak, streams, s)
                if err > TOLERANCE:
                    break
                best, best_err = s, err
            out.append(PoolScale(cid, cap, rm, rp, cap_peak, streams, float(real.sum()), best, best_err))
    return out


def scales_yaml(checked: list[PoolScale]) -> str:
    """``engine.pool_job_scale`` as a YAML flow mapping (pools without a scale left out)."""
    return "{" + ", ".join(f"{p.pool}: {p.scale}" for p in checked if p.scale > 0) + "}"


def show(checked: list[PoolScale]) -> None:
    """Print the check, a pool a line, and the batch jobs a year at those scales."""
    print(
        f"  {'pool':>19} {'batch servers':>14} {'rho mean':>9} {'rho peak':>9} {'streams':>8} {'eff':>5} "
        f"{'real jobs/day':>14} {'scale':>10} {'error':>7} {'jobs/year':>10}"
    )
    total = 0.0
    for p in checked:
        per_year = p.real_jobs_day / p.scale * 365 if p.scale else float("nan")
        total += per_year if p.scale else 0.0
        err = f"{100 * p.error:6.2f}%" if p.scale else "    n/a"
        print(
            f"  {p.pool:>19} {p.servers:>14,.0f} {p.rho_mean:>9.3f} {p.rho_peak:>9.3f} {len(p.streams):>8} "
            f"{p.effective_streams:>5.1f} {p.real_jobs_day:>14,.0f} {p.scale:>10,} {err} {per_year:>10,.0f}"
        )
    print(f"  batch jobs a year at these scales (real jobs of the day / scale x 365): {total:,.0f}")
