"""The discrete-event engine: arrive -> route -> transfer -> queue -> serve.

One simpy process feeds jobs into the simulation in arrival order, a chunk
(one simulated day) at a time. Each job is a small :class:`~sim.job.Job`
record moved along by event callbacks rather than a process of its own, which
keeps the cost per job close to a bare simpy loop:

1. the policy picks a cluster among the class's candidates (clusters whose
   RTT meets a latency class's SLO; any cluster for batch work), or the job is
   dropped and counted;
2. a latency request pays half its RTT on the way in and half on the way
   back; a batch job first moves its data over the region -> cluster link,
   whose capacity is shared by the transfers on it (:mod:`sim.sharing`), then
   pays the one-way delay;
3. the cluster's pool (:mod:`sim.pools`) queues and serves it;
4. finished chunks go to the :class:`~sim.records.JobSink`; every cluster's
   busy / queued / in-transfer counts are logged on change and folded into
   time-step integrals once a simulated day (:mod:`sim.steplog`).

Faults (:mod:`sim.faults` semantics, config ``faults``) change capacities,
evict jobs from a failed cluster and degrade links while they last.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from models.workload import Jobs
from sim.config import Fault
from sim.job import COMPLETED, DROPPED, LOST, Job
from sim.policies import Policy, make_policy
from sim.pools import FcfsPool, Pool, PsPool
from sim.records import JobSink
from sim.scenario import Scenario, scenario_jobs, streams
from sim.sharing import ProcessorSharing
from sim.steplog import StepLog

DAY_S = 86400.0


@dataclass
class _Chunk:
    jobs: list[Job]
    pending: int = 0
    closed: bool = False


@dataclass
class FaultCounts:
    """What faults did to jobs over the run."""

    affected: int = 0  # jobs on (or arriving at) a cluster while it was down
    rerouted: int = 0
    lost: int = 0


class Engine:
    """One simulation of a scenario. Create, then :meth:`run`."""

    def __init__(
        self,
        scn: Scenario,
        sink: JobSink,
        jobs: Iterable[Jobs] | None = None,
        policy: Policy | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        self.scn = scn
        rng = streams(scn.config.seed)
        self.sink = sink
        self.env = env = simpy.Environment()
        topo = scn.topology
        n_c, n_k = topo.n_clusters, len(scn.classes)
        self.horizon = scn.horizon_s
        self._jobs_iter = jobs if jobs is not None else scenario_jobs(scn, rng.jobs)
        self.policy = policy if policy is not None else make_policy(scn, rng.policy)
        self.progress = progress

        queue = scn.config.engine.queue
        self.pools: list[Pool] = []
        for c in range(n_c):
            pool: Pool
            if queue == "ps":
                pool = PsPool(env, int(scn.slots[c]), self._on_start, self._on_finish)
            else:
                pool = FcfsPool(
                    env,
                    int(scn.slots[c]),
                    n_k,
                    self._on_start,
                    self._on_finish,
                    class_share=scn.class_share,
                    priority=scn.class_priority if queue == "priority" else None,
                    preemptive=queue == "priority",
                )
            self.pools.append(pool)
        self.base_slots = [int(s) for s in scn.slots]
        self.up = [True] * n_c
        self.in_transfer = [0] * n_c
        self.logs = [StepLog(self._reader(c)) for c in range(n_c)]

        net = scn.config.network
        self.links = [
            ProcessorSharing(env, float(g), net.flow_gbps, self._transfer_done) for g in scn.link_gbps
        ]
        self.link_of = scn.link_of.tolist()
        self.half_rtt_s = (topo.rtt_ms / 2000.0).tolist()
        self.has_candidates = [[cand.size > 0 for cand in per_class] for per_class in scn.candidates]
        self.occupancy = [c.occupancy for c in scn.classes]
        self.weight = [float(c.job_scale) for c in scn.classes]

        # fault state
        self.loss: list[list[float]] = [[] for _ in range(n_c)]
        self.outage_mode = ["reroute"] * n_c
        self.rtt_factor = np.ones((topo.n_regions, n_c)).tolist()
        self.faults = FaultCounts()

        # time-series bins (integrals accumulate over the run)
        step = float(scn.config.engine.timestep_s)
        self.edges = np.append(np.arange(0.0, self.horizon, step), self.horizon)
        self.bin_integrals = np.zeros((n_c, self.edges.size - 1, 3))

        self._chunks: deque[_Chunk] = deque()
        self._first_chunk = 0
        self._next_id = 0
        self.policy.bind(self)

    # ------------------------------------------------------------------ helpers
    def _reader(self, c: int) -> Callable[[], tuple[float, float, float]]:
        pool = self.pools[c]
        transfers = self.in_transfer

        def read() -> tuple[float, float, float]:
            return (float(pool.busy), float(pool.n_queued), float(transfers[c]))

        return read

    def utilisation(self, c: int) -> float:
        """Busy share of cluster ``c``'s servers now (1 when it has none)."""
        pool = self.pools[c]
        return pool.busy / pool.capacity if pool.capacity > 0 else 1.0

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        env = self.env
        env.process(self._arrivals(iter(self._jobs_iter)))
        for f in self.scn.config.faults:
            env.process(self._fault(f))
        env.process(self._fold_logs_daily())
        if self.progress is not None:
            env.process(self._tick())
        env.run(until=self.horizon)
        self._finish_run()

    def _tick(self) -> Generator[Any, Any, None]:
        step = max(self.horizon / 200.0, 1.0)
        while True:
            assert self.progress is not None
            self.progress(self.env.now)
            yield self.env.timeout(step)

    def _fold_logs_daily(self) -> Generator[Any, Any, None]:
        while True:
            yield self.env.timeout(DAY_S)
            self._fold_logs(self.env.now)

    def _fold_logs(self, t_end: float) -> None:
        for c, log in enumerate(self.logs):
            self.bin_integrals[c] += log.integrate(t_end, self.edges)

    def _arrivals(self, chunks: Iterator[Jobs]) -> Generator[Any, Any, None]:
        env = self.env
        horizon = self.horizon
        occupancy = self.occupancy
        route = self._route
        for arrays in chunks:
            chunk = _Chunk(jobs=[])
            self._chunks.append(chunk)
            index = self._first_chunk + len(self._chunks) - 1
            arrival = arrays.arrival_s.tolist()
            region = arrays.region.tolist()
            klass = arrays.klass.tolist()
            service = arrays.service_s.tolist()
            data_gb = arrays.data_gb.tolist()
            jobs = chunk.jobs
            for j in range(len(arrival)):
                t = arrival[j]
                if t >= horizon:
                    break
                if t > env.now:
                    yield env.timeout(t - env.now)
                k = klass[j]
                s = service[j]
                job = Job(self._next_id, k, region[j], t, s * occupancy[k], s, data_gb[j], index)
                self._next_id += 1
                jobs.append(job)
                chunk.pending += 1
                route(job)
            chunk.closed = True
            self._flush_ready()
            if arrival and arrival[-1] >= horizon:
                return

    # ------------------------------------------------------------------ job flow
    def _route(self, job: Job) -> None:
        k, r = job.k, job.r
        if not self.has_candidates[k][r]:
            self._end(job, DROPPED)
            return
        c = self.policy.route(r, k, self.env.now)
        if c < 0 or not self.up[c]:
            self._end(job, DROPPED)
            return
        self._send(job, c)

    def _send(self, job: Job, c: int) -> None:
        job.c = c
        r = job.r
        one_way = self.half_rtt_s[r][c] * self.rtt_factor[r][c]
        job.net_out = one_way
        job.seg_start = self.env.now  # time the job left for the cluster
        if job.data_gb > 0.0:
            self.in_transfer[c] += 1
            self.logs[c].mark(self.env.now)
            self.links[self.link_of[r][c]].add(job, job.data_gb * 8.0, self.weight[job.k])
        elif one_way > 0.0:
            ev = self.env.timeout(one_way, value=job)
            ev.callbacks.append(self._arrive_ev)
        else:
            self._arrive(job)

    def _transfer_done(self, job: Job) -> None:
        c = job.c
        self.in_transfer[c] -= 1
        self.logs[c].mark(self.env.now)
        one_way = job.net_out
        if one_way > 0.0:
            ev = self.env.timeout(one_way, value=job)
            ev.callbacks.append(self._arrive_ev)
        else:
            self._arrive(job)

    def _arrive_ev(self, ev: simpy.Event) -> None:
        self._arrive(ev._value)

    def _arrive(self, job: Job) -> None:
        now = self.env.now
        job.net_in += now - job.seg_start
        c = job.c
        if not self.up[c]:
            self.faults.affected += 1
            self._displace(job, self.outage_mode[c])
            return
        if math.isnan(job.queued):
            job.queued = now
        self.pools[c].arrive(job)
        self.logs[c].mark(now)

    def _on_start(self, job: Job) -> None:
        if math.isnan(job.start):
            job.start = self.env.now

    def _on_finish(self, job: Job) -> None:
        job.end = self.env.now
        self._end(job, COMPLETED)
        self.logs[job.c].mark(job.end)

    def _end(self, job: Job, fate: int) -> None:
        job.fate = fate
        chunk = self._chunks[job.chunk - self._first_chunk]
        chunk.pending -= 1
        if chunk.pending == 0 and chunk.closed and job.chunk == self._first_chunk:
            self._flush_ready()

    def _flush_ready(self) -> None:
        while self._chunks and self._chunks[0].closed and self._chunks[0].pending == 0:
            chunk = self._chunks.popleft()
            self._first_chunk += 1
            self.sink.add(chunk.jobs)

    def _displace(self, job: Job, mode: str) -> None:
        """A job whose cluster is down: re-route it by the policy, or lose it."""
        if mode == "reroute":
            c = self.policy.route(job.r, job.k, self.env.now) if self.has_candidates[job.k][job.r] else -1
            if c >= 0 and self.up[c]:
                job.reroutes += 1
                job.remaining = job.hold  # work restarts on the new cluster
                self.faults.rerouted += 1
                self._send(job, c)
                return
        self.faults.lost += 1
        self._end(job, LOST)

    # ------------------------------------------------------------------ faults
    def _fault(self, f: Fault) -> Generator[Any, Any, None]:
        c = self.scn.topology.cluster_index(f.cluster)
        yield self.env.timeout(f.start_h * 3600.0)
        if f.kind == "link_degradation":
            self._degrade(c, f, f.factor)
            yield self.env.timeout(f.duration_h * 3600.0)
            self._degrade(c, f, 1.0 / f.factor)
            return
        fraction = 1.0 if f.kind == "outage" else f.fraction
        self.loss[c].append(fraction)
        if f.kind == "outage":
            self.outage_mode[c] = f.on_outage
        self._apply_capacity(c, evict=f.kind == "outage")
        yield self.env.timeout(f.duration_h * 3600.0)
        self.loss[c].remove(fraction)
        self._apply_capacity(c, evict=False)

    def _apply_capacity(self, c: int, evict: bool) -> None:
        keep = 1.0
        for fraction in self.loss[c]:
            keep *= 1.0 - fraction
        slots = round(self.base_slots[c] * keep)
        self.up[c] = slots > 0
        pool = self.pools[c]
        if evict or slots == 0:
            displaced = pool.evict_all()
            pool.set_capacity(slots)
            self.logs[c].mark(self.env.now)
            mode = self.outage_mode[c]
            for job in displaced:
                self.faults.affected += 1
                self._displace(job, mode)
        else:
            pool.set_capacity(slots)
            self.logs[c].mark(self.env.now)

    def _degrade(self, c: int, f: Fault, factor: float) -> None:
        topo = self.scn.topology
        regions = [topo.region_index(f.region)] if f.region else range(topo.n_regions)
        links = set()
        for r in regions:
            self.rtt_factor[r][c] *= factor
            links.add(self.link_of[r][c])
        for li in links:
            link = self.links[li]
            link.set_capacity(link.capacity / factor)

    # ------------------------------------------------------------------ end
    def _finish_run(self) -> None:
        for pool in self.pools:
            pool.close()
        self._fold_logs(self.horizon)
        for chunk in self._chunks:
            self.sink.add(chunk.jobs)
        self._chunks.clear()
