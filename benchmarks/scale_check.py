"""The scale check: does a bundled batch pool queue like the real one? (Erlang C, simulated)

Bundling S real batch jobs into one simulated job on ``servers / S`` simulated servers
keeps the real pool's queueing only if the bundles keep its variability
(``models/demand/bundles.py``: every S-th real arrival, the mean of S service times).
:func:`bundled_response` simulates the bundled pool as the engine queues it and
:func:`response` gives the real pool's mean response by Erlang C; :func:`scale_check`
compares them at the pools' batch loads of a day run (:func:`batch_loads`). Used by
``bench_engine.py``, ``pool_scales.py`` and ``year_budget.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def response(n_servers: float, rho: float) -> float:
    """Mean response time of M/M/n at utilisation rho, in units of the mean service time."""
    from models.queueing import erlang_c

    n = int(n_servers)
    if n < 1:
        return math.inf
    return 1.0 + erlang_c(n, rho * n) / (n * (1.0 - rho))


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


def bundled_response(
    n_servers: float, rho: float, scale: int, n_bundles: int = 100_000, streams: Sequence[float] = (1.0,)
) -> float:
    """Mean response (in mean service times) of the bundled pool, simulated.

    As the engine does (``sim/engine/pools.py: FcfsPool``): ``x = n / S`` simulated servers,
    ``floor(x)`` whole ones and one partial server of speed ``x - floor(x)``, carry the real
    load rho x n, i.e. rho x x bundles per mean service time. FCFS; a bundle starts on a
    whole server if one is free, else on the partial one, and moves to the first whole
    server that frees.
    """
    import heapq
    from collections import deque

    from models.demand.bundles import BundleClock
    from models.demand.sizes import draw_bundle_sizes

    x = n_servers / scale
    lam = rho * x  # bundles per mean service time: the real load
    c = math.floor(x + 1e-9)
    f = x - c if x - c >= 1e-6 else 0.0
    if x <= 0 or lam >= x:
        return math.inf
    rng = np.random.default_rng(7)
    if len(streams) == 1:
        clock = BundleClock(rng, scale)
        arrival = clock.epochs(rng, float(n_bundles)).astype(float) / lam
    else:  # independent streams bundled apart (bundling: pool), each its share of the rate
        share = np.asarray(streams, dtype=float) / float(np.sum(streams))
        parts = [BundleClock(rng, scale).epochs(rng, n_bundles * w) / (lam * w) for w in share if w > 0]
        arrival = np.sort(np.concatenate(parts))
    service = draw_bundle_sizes(rng, "exponential", 1.0, 1.0, arrival.shape[0], scale)
    arr, svc = arrival.tolist(), service.tolist()
    n = len(arr)
    end = [0.0] * n
    whole: list[tuple[float, int]] = []  # (finish, bundle) on the whole servers
    part = -1  # the bundle on the partial server
    part_t0 = part_rem = 0.0
    queue: deque[int] = deque()
    inf = math.inf
    i = 0

    def start(j: int, t: float, rem: float) -> None:
        nonlocal part, part_t0, part_rem
        if len(whole) < c:
            heapq.heappush(whole, (t + rem, j))
        else:
            part, part_t0, part_rem = j, t, rem

    while True:
        t_arr = arr[i] if i < n else inf
        t_whole = whole[0][0] if whole else inf
        t_part = part_t0 + part_rem / f if part >= 0 else inf
        t = min(t_arr, t_whole, t_part)
        if t == inf:
            break
        if t == t_arr:
            if len(whole) < c or (f > 0.0 and part < 0):
                start(i, t, svc[i])
            else:
                queue.append(i)
            i += 1
        elif t == t_whole:
            _, j = heapq.heappop(whole)
            end[j] = t
            if part >= 0:  # the partial server's bundle moves to the whole one
                j, rem = part, part_rem - (t - part_t0) * f
                part = -1
                start(j, t, rem)
            if queue:
                j = queue.popleft()
                start(j, t, svc[j])
        else:
            end[part] = t
            part = -1
            if queue:
                j = queue.popleft()
                start(j, t, svc[j])
    warm = n // 10
    resp = np.asarray(end[warm:]) - arrival[warm:]
    return float(resp.mean())


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
