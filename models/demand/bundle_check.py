"""Is a bundle size honest? A bundled pool's queue against Erlang C for the real pool.

Bundling S real batch jobs into one simulated job on ``servers / S`` simulated servers
keeps the real pool's queueing only while the bundles keep its variability
(:mod:`models.demand.bundles`) and the pool keeps enough simulated servers. At a given
pool size and load, :func:`bundled_response` simulates the bundled pool as the engine
queues it (exponential real service times, FCFS, one partial server), and
:func:`erlang_response` gives the real pool's mean response by Erlang C; a scale is
honest for a pool when the two agree within a tolerance (2 %) at the pool's mean and
busiest loads (:func:`scale_error`), and :func:`honest_scale` climbs a ladder of
scales to the largest such. A pool fed by several streams bundled apart (``engine.bundling:
pool``: one per class) is checked with them: their superposition is burstier
than one stream of the summed rate, the more so the larger S.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.demand.bundles import BundleClock
from models.demand.sizes import draw_bundle_sizes
from models.queueing import erlang_c

__all__ = [
    "LADDER",
    "TOLERANCE",
    "PoolLoad",
    "bundled_response",
    "erlang_response",
    "honest_scale",
    "scale_error",
]

LADDER = (10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
          1_000_000)  # fmt: skip
TOLERANCE = 0.02
RHO_MAX = 0.98  # at or above, a pool queues by backlog, not by Erlang C: not checked


@dataclass(frozen=True)
class PoolLoad:
    """What a pool's batch work looks like: its servers, loads and streams.

    Attributes
    ----------
    pool : str
        The pool (cluster) id.
    servers : float
        Real servers left to batch work (mean over the period).
    rho_mean, rho_peak : float
        Batch utilisation over the period, and in its busiest hour below :data:`RHO_MAX`
        (NaN: none).
    servers_peak : float
        Real servers left to batch work in the hours below :data:`RHO_MAX` (the peak's).
    streams : tuple of float
        Shares of the pool's real batch jobs by stream (class; empty: none).
    real_jobs : float
        Real batch jobs the pool received over the period.
    server_type : str
        ``cpu`` or ``gpu``.
    saturated_h : int
        Hours at or above :data:`RHO_MAX` (queueing by backlog: not checked).
    """

    pool: str
    servers: float
    rho_mean: float
    rho_peak: float
    servers_peak: float
    streams: tuple[float, ...]
    real_jobs: float
    server_type: str = "cpu"
    saturated_h: int = 0

    @property
    def effective_streams(self) -> float:
        """1 / sum(share^2): the number of equal streams with the same spread."""
        w = np.asarray(self.streams)
        return float(1.0 / np.sum(w * w)) if w.size else 0.0


def erlang_response(n_servers: float, rho: float) -> float:
    """Mean response time of M/M/n at utilisation ``rho``, in mean service times (Erlang C)."""
    n = int(n_servers)
    if n < 1:
        return math.inf
    return 1.0 + erlang_c(n, rho * n) / (n * (1.0 - rho))


def bundled_response(
    n_servers: float,
    rho: float,
    scale: int,
    n_bundles: int = 100_000,
    streams: Sequence[float] = (1.0,),
    seed: int = 7,
) -> float:
    """Mean response (in mean service times) of a bundled pool, simulated (``n_bundles`` bundles).

    Real service times are exponential; ``scale`` S real jobs make a bundle; ``streams``
    are the shares of the pool's load that arrive as independent streams, each bundled
    apart (one stream: bundling at arrival; several: ``engine.bundling: pool``). As the
    engine queues (``sim/engine/pools.py: FcfsPool``): ``x = n / S`` simulated servers,
    ``floor(x)`` whole ones and one partial server of speed ``x - floor(x)``, carry the real
    load rho x n, i.e. rho x x bundles per mean service time. FCFS; a bundle starts on a
    whole server if one is free, else on the partial one, and moves to the first whole
    server that frees.
    """
    x = n_servers / scale
    lam = rho * x  # bundles per mean service time: the real load
    c = math.floor(x + 1e-9)
    f = x - c if x - c >= 1e-6 else 0.0
    if x <= 0 or lam >= x:
        return math.inf
    rng = np.random.default_rng(seed)
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


def scale_error(load: PoolLoad, scale: int, pooled: bool = True) -> float:
    """Worst relative error of the bundled pool's mean response at the pool's mean and peak
    loads (0 where it has no load below :data:`RHO_MAX`); ``pooled``: fed by its streams
    bundled apart, else by one stream."""
    worst = 0.0
    streams = load.streams if pooled and load.streams else (1.0,)
    for n, rho in ((load.servers, load.rho_mean), (load.servers_peak, load.rho_peak)):
        if not (n > 0 and 0 < rho < RHO_MAX):
            continue
        got = bundled_response(n, rho, scale, streams=streams)
        worst = max(worst, abs(got / erlang_response(n, rho) - 1.0))
    return worst


def honest_scale(
    load: PoolLoad, ladder: Sequence[int] = LADDER, tolerance: float = TOLERANCE, pooled: bool = True
) -> tuple[int, float]:
    """The largest scale of ``ladder``, climbed until the first that fails, within ``tolerance``
    of Erlang C and keeping at least one simulated server, with its error ((0, nan): none)."""
    best, best_err = 0, math.nan
    for s in ladder:
        if s > load.servers:
            break
        err = scale_error(load, s, pooled)
        if err > tolerance:
            break
        best, best_err = s, err
    return best, best_err
