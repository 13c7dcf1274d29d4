"""The discrete-event engine: arrive -> route -> transfer -> queue -> serve.

Batch jobs enter in arrival order (:class:`~sim.engine.arrivals.ArrivalFeed`, a chunk at a
time); each is a small :class:`~sim.engine.job.Job` record moved along by scheduled
callbacks (:mod:`sim.engine.calls`), not a process of its own:

1. the policy picks a cluster among the class's candidates, or the job is dropped (with
   ``engine.bundling: pool``, :mod:`sim.engine.poolfeed` brings bundles routed by shares);
2. the job moves its data over the region -> cluster link, shared by the transfers on it
   (:mod:`sim.engine.sharing`), then pays the one-way delay;
3. the cluster's pool (:mod:`sim.engine.pools`) queues and serves it on what the latency
   flows leave (:mod:`sim.engine.flows`: request flows per time step, Erlang C waits);
4. once a simulated day, finished jobs go to the :class:`~sim.engine.records.JobSink` and the
   clusters' logged counts are folded into time-step integrals (:mod:`sim.engine.steplog`),
   so memory holds a day of jobs plus those still in the system, whatever the horizon.

Faults (config ``faults``; :mod:`sim.engine.faults`) change capacities, evict jobs and degrade links
while they last.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable
from operator import index
from typing import Any, SupportsFloat, SupportsIndex

import numpy as np
import simpy

from models.demand.workload import Jobs
from sim.engine.arrivals import ArrivalFeed
from sim.engine.calls import Call, call_later
from sim.engine.faults import Faults
from sim.engine.flowrecords import FlowSink
from sim.engine.flows import FlowModel
from sim.engine.gcpause import collect_young, paused_gc
from sim.engine.job import COMPLETED, DROPPED, LOST, PENDING, FaultCounts, Job, owed_server_s
from sim.engine.policy import Policy
from sim.engine.poolfeed import PoolFeed
from sim.engine.pools import Pool, make_pools
from sim.engine.power import PowerManager, make_power_manager
from sim.engine.records import JobSink
from sim.engine.sharing import ProcessorSharing
from sim.engine.steplog import N_SERIES, StepLog, state_reader
from sim.scenario import Scenario, scenario_jobs

DAY_S = 86400.0


class Engine:
    """One simulation of a scenario. Create, then :meth:`run`."""

    def __init__(
        self,
        scn: Scenario,
        sink: JobSink,
        policy: Policy,
        jobs: Iterable[Jobs] | None = None,
        progress: Callable[[float], None] | None = None,
        flow_sink: FlowSink | None = None,
    ) -> None:
        self.scn = scn
        self.sink = sink
        self.env = env = simpy.Environment()
        topo = scn.topology
        n_c, n_k = topo.n_clusters, len(scn.classes)
        self.horizon = scn.horizon_s
        self._jobs_iter = jobs if jobs is not None else scenario_jobs(scn, scn.streams.jobs)
        self.policy = policy
        self.progress = progress

        self.scale = [int(x) for x in scn.scales]  # real servers per simulated batch server, per cluster
        self.pools: list[Pool] = make_pools(
            env, scn.slots.tolist(), n_k, scn.config.engine.queue, self._on_start, self._on_finish,
            scn.class_share, scn.class_priority,
        )  # fmt: skip
        self.base_slots = [int(s) for s in scn.slots]  # simulated batch servers before faults
        self.base_servers = [int(s) for s in scn.servers]  # real servers
        self.available = list(self.base_servers)  # real servers installed minus failed
        # real servers busy with latency flows now (a list: read per job, as plain floats)
        self.latency_load: list[float] = [0.0] * n_c
        self.latency_shed = np.zeros(n_c)  # latency load (erlangs) shed at each cluster now
        # the online servers and latency load each cluster's batch capacity was last set from
        self._cap_online: list[int] = [-1] * n_c
        self._cap_lat: list[float] = [-1.0] * n_c
        self.up = [True] * n_c
        self.in_transfer = [0] * n_c

        # time-series bins (integrals accumulate over the run)
        step = float(scn.config.engine.timestep_s)
        self.edges = np.append(np.arange(0.0, self.horizon, step), self.horizon)
        self.n_steps = self.edges.size - 1
        self.bin_integrals = np.zeros((n_c, self.n_steps, N_SERIES))

        # power management (energy.power_management): which available servers are online
        en = scn.config.energy
        pc = en.power_control
        boot_w = pc.boot_w if pc.boot_w is not None else en.peak_w
        self.power: PowerManager = make_power_manager(
            en.power_management, self, pc, boot_w, step, self.edges.size - 1
        )
        # the step log is in real units: the batch scale is converted here, once
        self.logs = [
            StepLog(
                state_reader(
                    self.pools[c], c, self.in_transfer, self.power.booting, self.latency_load,
                    self.power.online,
                ),
                float(self.scale[c]),
            )
            for c in range(n_c)
        ]  # fmt: skip
        for c, pool in enumerate(self.pools):
            pool.settled = self._marker(c)

        # latency classes: request flows per time step (sim.engine.flows)
        self.flow_sink = flow_sink if flow_sink is not None else FlowSink(scn, self.n_steps)
        self.flows = FlowModel(scn, policy, scn.streams.flows, self.flow_sink)
        self._flows_open = False

        net = scn.config.network
        self.links = [
            ProcessorSharing(env, float(g), net.flow_gbps, self._transfer_done) for g in scn.link_gbps
        ]
        self.link_of = scn.link_of.tolist()
        self.half_rtt_s = (topo.rtt_ms / 2000.0).tolist()
        self.has_candidates = [[cand.size > 0 for cand in per_class] for per_class in scn.candidates]
        self.occupancy = [c.occupancy for c in scn.classes]
        self.deadline_h = [c.deadline_h if math.isfinite(c.deadline_h) else None for c in scn.classes]
        self.job_scale = [c.job_scale for c in scn.classes]  # real jobs per job drawn at arrival
        # engine.bundling: pool: batch classes routed once a step as shares, bundled at each pool
        self.pooled = scn.config.engine.bundling == "pool"
        self.feed: PoolFeed | None = None
        if self.pooled:
            self.feed = PoolFeed(env, scn, policy, self.scale, scn.streams.jobs, self._new_bundle)

        # fault state
        self.fault_driver = Faults(self, topo)  # the config's faults, while they last
        self.outage_mode = ["reroute"] * n_c
        self.rtt_factor = np.ones((topo.n_regions, n_c)).tolist()
        self._rtt_array = np.ones((topo.n_regions, n_c))  # the same, as the flows read it
        self.faults = FaultCounts()

        self.backlog_s = 0.0  # real server-seconds of batch work still owed at the horizon
        self.backlog_jobs = 0

        self._live: list[Job] = []  # jobs not yet handed to the sink
        self._next_id = 0
        self._holds = type(self.policy).release_s is not Policy.release_s
        self.held = 0  # jobs held at a cluster by the policy (deferred work)
        self.policy.bind(self)

    # ------------------------------------------------------------------ helpers
    def _marker(self, c: int) -> Callable[[], None]:
        log, env, changed = self.logs[c], self.env, self.power.changed

        def mark() -> None:
            log.mark(env.now)
            changed(c)

        return mark

    def _mark(self, c: int) -> None:
        """Log cluster ``c``'s state and tell the power manager it changed."""
        self.logs[c].mark(self.env.now)
        self.power.changed(c)

    # What a policy calls takes any integer, numpy's too (compiled code refuses those as int)
    def utilisation(self, c: SupportsIndex) -> float:
        """Busy share of cluster ``c``'s available servers now (1 when it has none).

        Measured against available (installed, not failed) servers, not the
        powered ones: power management changes how fast a cluster can take
        work, not how much it can take.
        """
        i = index(c)
        avail = self.available[i]
        if avail <= 0:
            return 1.0
        # busy_servers(c), inlined: policies read this per job
        return (self.latency_load[i] + float(self.pools[i].busy) * self.scale[i]) / avail

    def online(self, c: SupportsIndex) -> int:
        """Real servers of cluster ``c`` that can serve work now: available, powered and booted.

        The one capacity figure of a cluster: latency flows are admitted and
        queue on all of them (they come first), batch jobs get what the
        latency load leaves.
        """
        return self.power.online[index(c)]

    # -- PowerHost: what the power manager reads and sets (real servers)
    def busy_servers(self, c: SupportsIndex) -> float:
        """Real servers of cluster ``c`` busy now: latency load + batch jobs."""
        i = index(c)
        return self.latency_load[i] + float(self.pools[i].busy) * self.scale[i]

    def busy_all(self) -> list[float]:
        """:meth:`busy_servers` of every cluster, in one call (a policy's per-step read)."""
        lat, pools, scale = self.latency_load, self.pools, self.scale
        return [lat[i] + float(pools[i].busy) * scale[i] for i in range(len(pools))]

    def online_all(self) -> list[int]:
        """:meth:`online` of every cluster, in one call."""
        return list(self.power.online)

    def waiting(self, c: int) -> int:
        """Work waiting for a server, in servers: batch jobs queued and latency load shed here."""
        return int(self.pools[c].n_queued * self.scale[c] + math.ceil(float(self.latency_shed[c]) - 1e-9))

    def set_online(self, c: int, servers: int) -> None:
        if self._flows_open and self.env.now < self.horizon:
            # latency flows re-admit on the new capacity (the step's routing kept)
            self._reflow(reroute=False)
        else:
            self._set_batch_capacity(c)

    def set_power_target(self, c: SupportsIndex, servers: SupportsIndex | None) -> None:
        """Keep ``servers`` real servers of cluster ``c`` powered (:meth:`EngineView.set_power_target`)."""
        self.power.set_target(index(c), None if servers is None else index(servers))

    def log_state(self, c: int) -> None:
        self.logs[c].mark(self.env.now)

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        env = self.env
        self.power.start()
        ArrivalFeed(env, iter(self._jobs_iter), self.horizon, self._new_job).start()
        self.fault_driver.start(list(self.scn.config.faults))
        env.process(self._fold_logs_daily())
        env.process(self._flow_steps())
        if self.progress is not None:
            env.process(self._tick())
        with paused_gc():  # reference counting frees the run's garbage (sim/engine/gcpause.py)
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
            self._flush_finished()
            collect_young()  # what a policy may have left in cycles today
            self.flows.drain()
            self.flow_sink.flush()

    # ------------------------------------------------------------------ latency flows
    def _flow_steps(self) -> Generator[Any, Any, None]:
        step = float(self.scn.config.engine.timestep_s)
        i = 0
        while True:
            if self.feed is not None:  # batch first: routed on the state route_flows then sees
                self.feed.step(self.env.now, min((i + 1) * step, self.horizon))
            self._reflow()
            i += 1
            t = i * step
            if t >= self.horizon:
                return
            yield self.env.timeout(t - self.env.now)

    def _reflow(self, reroute: bool = True) -> None:
        """Close the open flow segment; route (unless ``reroute`` is false) and admit the flows
        from now on, on the online servers."""
        now = self.env.now
        if self._flows_open:
            self.flows.close(now)
        online = np.asarray(self.power.online, dtype=np.int64)
        load = self.flows.open(now, online, self.up, self._rtt_array, reroute=reroute)
        self._flows_open = True
        self.latency_load[:] = load.tolist()
        self.latency_shed[:] = self.flows.shed
        online_c, lat = self.power.online, self.latency_load
        for c in range(len(self.pools)):
            # a cluster whose latency load and online servers are as when its batch capacity was
            # last set keeps it (and its log has nothing new to mark)
            if online_c[c] != self._cap_online[c] or lat[c] != self._cap_lat[c]:
                self._set_batch_capacity(c)
            self.power.changed(c)

    def _set_batch_capacity(self, c: int) -> None:
        """Batch servers of cluster ``c``: what the latency load leaves of the online ones."""
        online, lat = self.power.online[c], self.latency_load[c]
        free = max(0.0, online - lat)
        slots = free / self.scale[c]  # a fraction is a partial server (pools.FcfsPool)
        pool = self.pools[c]
        if slots != pool.size:
            pool.set_capacity(slots)
        self.logs[c].mark(self.env.now)
        self._cap_online[c], self._cap_lat[c] = online, lat

    def _flush_finished(self) -> None:
        live = self._live
        done = [j for j in live if j.fate != PENDING]
        if done:
            self._live = [j for j in live if j.fate == PENDING]
            self.sink.add(done)

    def _fold_logs(self, t_end: float) -> None:
        for c, log in enumerate(self.logs):
            log.integrate_into(self.bin_integrals[c], t_end, self.edges)

    def _enter(self, job: Job) -> None:
        """A new job: its due hour, its id, and the jobs the engine keeps."""
        d = self.deadline_h[job.k]
        if d is not None:
            job.due_h = math.ceil(job.arrival / 3600.0 + d)
        self._next_id += 1
        self._live.append(job)

    def _new_job(self, k: int, r: int, t: float, service_s: float, data_gb: float) -> None:
        hold = service_s * self.occupancy[k]
        job = Job(self._next_id, k, r, t, hold, service_s, data_gb, self.job_scale[k])
        self._enter(job)
        self._route(job)

    def _new_bundle(
        self, k: int, r: int, c: int, t: float, service_s: float, data_gb: float, scale: int
    ) -> None:
        """A bundle of ``scale`` real jobs the policy's shares sent to cluster ``c`` (-1: dropped)."""
        job = Job(self._next_id, k, r, t, service_s, service_s, data_gb, scale)
        self._enter(job)
        if c >= 0 and not self.up[c]:  # went down within the step: routed afresh
            c = self._ask_route(r, k)
        self._send_or_drop(job, c)

    # ------------------------------------------------------------------ job flow
    def _route(self, job: Job) -> None:
        k, r = job.k, job.r
        if not self.has_candidates[k][r]:
            job.fate = DROPPED
            return
        self._send_or_drop(job, self._ask_route(r, k))

    def _send_or_drop(self, job: Job, c: int) -> None:
        if c < 0 or not self.up[c]:
            job.fate = DROPPED
        else:
            self._send(job, c)

    def _ask_route(self, r: int, k: int) -> int:
        """The policy's cluster for a job of class ``k`` from region ``r`` now (any integer type)."""
        route: Callable[[int, int, float], SupportsIndex] = self.policy.route
        return index(route(r, k, self.env.now))

    def _send(self, job: Job, c: int) -> None:
        job.c = c
        if self.pooled:  # a bundle holds a server of this cluster for its real jobs' share of one
            job.hold = job.remaining = job.service * job.scale / self.scale[c]
        r = job.r
        one_way = self.half_rtt_s[r][c] * self.rtt_factor[r][c]
        job.net_out = one_way
        job.seg_start = self.env.now  # time the job left for the cluster
        if job.data_gb > 0.0:
            self.in_transfer[c] += 1
            self._mark(c)
            self.links[self.link_of[r][c]].add(job, job.data_gb * 8.0, float(job.scale))
        elif one_way > 0.0:
            call_later(self.env, one_way, self._arrive_ev, job)
        else:
            self._arrive(job)

    def _transfer_done(self, job: Job) -> None:
        c = job.c
        self.in_transfer[c] -= 1
        self._mark(c)
        one_way = job.net_out
        if one_way > 0.0:
            call_later(self.env, one_way, self._arrive_ev, job)
        else:
            self._arrive(job)

    def _arrive_ev(self, ev: Call) -> None:
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
        if self._holds:
            release_s: Callable[[Job, float], SupportsFloat] = self.policy.release_s
            release = float(release_s(job, now))
            if release > now:
                self.held += 1
                call_later(self.env, release - now, self._release_ev, job)
                return
        self.pools[c].arrive(job)
        self._mark(c)

    def _release_ev(self, ev: Call) -> None:
        job: Job = ev._value
        c = job.c
        if self.up[c]:
            self.pools[c].arrive(job)
            self._mark(c)
        else:
            self.faults.affected += 1
            self._displace(job, self.outage_mode[c])

    def waiting_jobs(self) -> list[Job]:
        """Jobs waiting in the clusters' queues now."""
        return [job for pool in self.pools for job in pool.queued_jobs()]

    def waiting_work(self) -> dict[tuple[int, int, int, int], float]:
        """Work waiting in the clusters' queues now: the jobs' remaining hold (simulated
        server-seconds) by (cluster, region, class, due hour), read from the pools' running sums."""
        return {(c, *key): w for c, pool in enumerate(self.pools) for key, w in pool.queued_work().items()}

    def _on_start(self, job: Job) -> None:
        if math.isnan(job.start):
            job.start = self.env.now

    def _on_finish(self, job: Job) -> None:
        # the pool logs its state once it has started the next job (Pool.settled)
        job.end = self.env.now
        job.fate = COMPLETED

    def _displace(self, job: Job, mode: str) -> None:
        """A job whose cluster is down: re-route it by the policy, or lose it."""
        if mode == "reroute":
            c = self._ask_route(job.r, job.k) if self.has_candidates[job.k][job.r] else -1
            if c >= 0 and self.up[c]:
                job.reroutes += 1
                job.remaining = job.hold  # work restarts on the new cluster
                self.faults.rerouted += 1
                self._send(job, c)
                return
        self.faults.lost += 1
        job.fate = LOST

    # ------------------------------------------------------------------ faults (FaultHost)
    def set_available(self, c: int, available: int, evict: bool, on_outage: str | None) -> None:
        """A fault began or ended at cluster ``c`` (:meth:`sim.engine.faults.FaultHost.set_available`)."""
        if on_outage is not None:
            self.outage_mode[c] = on_outage
        self.available[c] = available
        self.up[c] = available > 0
        self.power.capacity_changed(c)
        pool = self.pools[c]
        if evict or available == 0:
            displaced = pool.evict_all()
            pool.set_capacity(0)
            self._mark(c)
            mode = self.outage_mode[c]
            for job in displaced:
                self.faults.affected += 1
                self._displace(job, mode)
        if self._flows_open and self.env.now < self.horizon:
            self._reflow()  # latency flows re-route and re-admit on the new capacity
        else:
            self._set_batch_capacity(c)
            self.power.changed(c)

    def rtt_changed(self) -> None:
        """Some RTT factors changed (a link degraded or recovered): the flows see them now."""
        self._rtt_array = np.asarray(self.rtt_factor)
        if self._flows_open and self.env.now < self.horizon:
            self._reflow()

    # ------------------------------------------------------------------ end
    def _finish_run(self) -> None:
        if self._flows_open:
            self.flows.close(self.horizon)
            self._flows_open = False
        self.flows.drain()
        self.flow_sink.collect()
        for pool in self.pools:
            pool.close()
        # work still owed: what the jobs in the system have not yet received
        pending = [j for j in self._live if j.fate == PENDING]
        self.backlog_jobs = len(pending)
        per_k = [c.slot_servers for c in self.scn.classes]
        self.backlog_s = owed_server_s(pending, per_k, self.scale if self.pooled else None)
        self._fold_logs(self.horizon)
        self.sink.add(self._live)
        self._live = []
