"""The discrete-event engine: arrive -> route -> transfer -> queue -> serve.

One simpy process feeds the pre-drawn job table into the simulation in
arrival order; each routed job becomes a short process that crosses the
network, queues FCFS for one server of its cluster (a ``simpy.Resource``),
is served and leaves. The hot path only writes timestamps into preallocated
lists; every statistic is computed afterwards from those records
(:mod:`sim.metrics`), so recording costs nothing per event.

Network: a latency-sensitive request pays half its RTT on the way in and
half on the way back. A batch job first moves its data volume over the
region -> cluster path (``data_gb * 8 / bandwidth_gbps`` seconds) after the
one-way delay.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from models.workload import Jobs, generate_jobs
from sim.policies import make_policy
from sim.scenario import Scenario

NAN = float("nan")


@dataclass(frozen=True)
class EngineResult:
    """Per-job records of one run (aligned with ``jobs``)."""

    jobs: Jobs
    cluster: np.ndarray  # int, -1 = dropped (no cluster)
    network_in_s: np.ndarray  # one-way delay + data transfer before queueing
    network_out_s: np.ndarray  # return delay after service
    queued_s: np.ndarray  # time the job reached the cluster's queue (nan: never)
    start_s: np.ndarray  # service start (nan: not started)
    end_s: np.ndarray  # service end (nan: not finished)
    horizon_s: float


def simulate(scn: Scenario, rng: np.random.Generator, jobs: Jobs | None = None) -> EngineResult:
    """Run the scenario once; ``jobs`` replays a given job table instead of drawing one."""
    if jobs is None:
        jobs = generate_jobs(scn.classes, scn.horizon_s, rng)
    policy = make_policy(scn, rng)
    env = simpy.Environment()
    servers = [simpy.Resource(env, capacity=int(c)) for c in scn.slots]

    n = len(jobs)
    cluster = [-1] * n
    net_in = [0.0] * n
    net_out = [0.0] * n
    queued = [NAN] * n
    start = [NAN] * n
    end = [NAN] * n

    arrival = jobs.arrival_s.tolist()
    region = jobs.region.tolist()
    klass = jobs.klass.tolist()
    occupancy = np.array([c.occupancy for c in scn.classes])
    hold_s = (jobs.service_s * occupancy[jobs.klass]).tolist()
    data_gb = jobs.data_gb.tolist()
    half_rtt_s = (scn.topology.rtt_ms / 2000.0).tolist()
    has_candidates = [[c.size > 0 for c in per_class] for per_class in scn.candidates]
    transfer_s_per_gb = 8.0 / scn.config.network.bandwidth_gbps
    route = policy.route
    timeout = env.timeout
    horizon = scn.horizon_s

    def job(i: int, res: simpy.Resource, pre_s: float) -> Generator[Any, Any, None]:
        if pre_s > 0.0:
            yield timeout(pre_s)
        queued[i] = env.now
        req = res.request()
        yield req
        start[i] = env.now
        yield timeout(hold_s[i])
        res.release(req)
        end[i] = env.now

    def driver() -> Generator[Any, Any, None]:
        for i in range(n):
            t = arrival[i]
            if t >= horizon:
                break
            if t > env.now:
                yield timeout(t - env.now)
            r = region[i]
            k = klass[i]
            if not has_candidates[k][r]:
                continue
            c = route(r, k, t)
            if c < 0:
                continue
            cluster[i] = c
            one_way = half_rtt_s[r][c]
            pre = one_way + data_gb[i] * transfer_s_per_gb
            net_in[i] = pre
            net_out[i] = one_way
            env.process(job(i, servers[c], pre))

    env.process(driver())
    env.run(until=horizon)
    return EngineResult(
        jobs=jobs,
        cluster=np.asarray(cluster, dtype=np.int64),
        network_in_s=np.asarray(net_in),
        network_out_s=np.asarray(net_out),
        queued_s=np.asarray(queued),
        start_s=np.asarray(start),
        end_s=np.asarray(end),
        horizon_s=horizon,
    )
