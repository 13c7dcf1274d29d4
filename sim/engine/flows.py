"""Latency classes as request flows: routing shares, admission control and M/G/c waits per step.

A latency class is not simulated request by request. For every engine time
step (``engine.timestep_s``; a *segment* of it when the servers available
change mid-step, e.g. at a fault) and every region ``r`` it is a Poisson flow
of rate ``lambda_kr`` (the class's hourly rate x its region weight). The
policy splits each flow over clusters as shares (:meth:`Policy.route_flows`),
once per step and again at a fault or link degradation; a power-state change
keeps the step's shares and re-runs admission on the new servers.
Then, per cluster:

1. **Servers.** Latency work has priority over batch work (it preempts
   batch jobs), so it sees every server available to the cluster now: the real
   count after faults and power state (:meth:`Engine.online`).
2. **Admission** (:mod:`sim.engine.admission`). All latency flows at a
   cluster share one FCFS M/G/c queue. The cluster admits flows loosest
   budget (SLO minus RTT) first while the ``engine.admission.quantile`` of the
   mix's wait meets every admitted flow's budget; the first flow that would
   break it is admitted in part, and each flow's excess spills to its next
   candidate cluster by RTT, then is rejected: it never queues for hours.
3. **Waiting.** The admitted load ``a`` on ``c`` servers waits as
   ``P(W > t) = C(c, a) exp(-(c - a) t / (mean_s f))`` (Erlang C, Allen–Cunneen
   ``f = (1 + cv^2) / 2``; :func:`models.queueing.wait_tail`).

The served load ``a`` is what the cluster's servers carry for latency work in
the segment; batch jobs get the rest (:class:`~sim.engine.kernel.Engine`).
Request counts are drawn for each segment (a Poisson count per flow and
outcome: served or rejected at each cluster) from the run's ``flows`` stream,
a simulated day's segments at a time; the waits follow from the rates, so they
are exact at any scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from models.queueing import WaitTail
from sim.engine.admission import AdmissionRule, mix_tail
from sim.engine.bounded import remember
from sim.engine.flowrecords import FlowSink, Segment, SegmentLaw
from sim.engine.policy import Policy
from sim.scenario import Scenario

# routing and admission results kept for reuse, the least recently used dropped first: the
# national baseline's flows see the same inputs again day after day (a 30-day run decides 503
# distinct laws; 3,517 times when 64 were kept, first in first out). ~75 KB each.
_LAW_CACHE = 512


def service_cv2(dist: str, cv: float, alpha: float | None) -> float:
    """Squared coefficient of variation of a service-time distribution (see ``draw_sizes``)."""
    if dist == "exponential":
        return 1.0
    if dist == "fixed":
        return 0.0
    if dist == "pareto" and alpha is not None:
        # infinite variance for alpha <= 2: the M/G/c approximation is capped at cv = 10
        return 1.0 / (alpha * (alpha - 2.0)) if alpha > 2.0 else 100.0
    return float(cv) ** 2


@dataclass
class _Segment:
    t0: float
    step: int
    law: SegmentLaw


@dataclass(frozen=True)
class _Admission:
    """The inputs and outcome of the last full admission (reused when only servers change)."""

    lam: np.ndarray
    shares: np.ndarray
    up: list[bool]
    rtt_factor: np.ndarray
    servers: np.ndarray
    accepted: np.ndarray
    rej_at: np.ndarray
    shed_any: np.ndarray

    def same_but_servers(self, lam: np.ndarray, shares: np.ndarray, up: list[bool], rtt: np.ndarray) -> bool:
        return (
            up == self.up
            and np.array_equal(lam, self.lam)
            and np.array_equal(shares, self.shares)
            and np.array_equal(rtt, self.rtt_factor)
        )


class FlowModel:
    """The latency flows of one run (see the module docstring)."""

    def __init__(self, scn: Scenario, policy: Policy, rng: np.random.Generator, sink: FlowSink) -> None:
        self.scn = scn
        self.policy = policy
        self.rng = rng
        self.sink = sink
        topo = scn.topology
        self.step_s = float(scn.config.engine.timestep_s)
        self.lat = [k for k, c in enumerate(scn.classes) if c.is_latency]
        n_r, n_c = topo.n_regions, topo.n_clusters
        self.n_r, self.n_c = n_r, n_c
        kl = len(self.lat)
        self.n_f = kl * n_r
        # per flow f = i * R + r (i: index among latency classes)
        specs = [scn.classes[k] for k in self.lat]
        self.mean_s = np.repeat([c.service_mean_s for c in specs], n_r).astype(float)
        cv2 = [service_cv2(c.service_dist, c.service_cv, c.service_alpha) for c in specs]
        self.e2 = self.mean_s**2 * (1.0 + np.repeat(cv2, n_r))
        self.slo_s = np.repeat([c.slo_ms / 1000.0 for c in specs], n_r).astype(float)
        self.region_of = np.tile(np.arange(n_r), kl)
        self.class_of = np.repeat(np.arange(kl), n_r)
        self.rate_base = (
            np.concatenate([c.rate_per_h / 3600.0 * c.region_weight for c in specs]) if kl else (np.zeros(0))
        )
        self.profiles = [
            np.asarray(c.rate_profile, dtype=float) if c.rate_profile is not None else None for c in specs
        ]
        self.traced = [scn.latency_trace.get(k) for k in self.lat]
        self.rtt_s = topo.rtt_ms / 1000.0
        # spill order: each flow's candidates by RTT
        self.order: list[list[int]] = []
        for k in self.lat:
            for r in range(n_r):
                cand = scn.candidates[k][r]
                self.order.append([int(c) for c in cand[np.argsort(topo.rtt_ms[r, cand], kind="stable")]])
        self.has_cand = np.array([len(o) > 0 for o in self.order], dtype=bool)
        adm = scn.config.engine.admission
        self.admission = AdmissionRule(
            self.mean_s, self.e2, self.slo_s, self.order, adm.quantile, adm.max_utilisation, adm.spill
        )
        self.cur: _Segment | None = None
        self.load = np.zeros(n_c)  # latency erlangs served per cluster in the open segment
        self.shed = np.zeros(n_c)  # latency erlangs shed (rejected) at each cluster in the open segment
        self._laws_seen: dict[tuple[object, ...], SegmentLaw] = {}  # recent inputs -> their law
        self._laws = 0
        self._last: _Admission | None = None  # the last full admission (see _decide)
        self._shares: np.ndarray | None = None  # the policy's shares of the open step
        self._shares_bytes = b""  # ... as a key
        self._traced_any = any(tr is not None for tr in self.traced)
        self._rates_for = (-1, -1)  # the (hour, step or -1) of the rates kept
        self._lam = np.zeros(0)
        self._lam_bytes = b""
        self._rtt_seen: object = None  # the RTT factors of the last open, and their bytes
        self._rtt_bytes = b""
        self._ended: list[Segment] = []  # segments ended, their counts not yet drawn (drain)

    # ------------------------------------------------------------------ rates
    def rates(self, t0: float) -> np.ndarray:
        """Requests per second of every flow in the step holding ``t0``."""
        h = int(t0 // 3600.0)
        step = int(t0 // self.step_s)
        lam = self.rate_base.copy()
        n_r = self.n_r
        for i in range(len(self.lat)):
            block = slice(i * n_r, (i + 1) * n_r)
            tr = self.traced[i]
            if tr is not None:
                lam[block] = tr[min(step, tr.shape[0] - 1)] / self.step_s
                continue
            prof = self.profiles[i]
            if prof is not None:
                lam[block] *= float(prof[min(h, prof.shape[0] - 1)])
        return lam

    def _rates_at(self, t0: float) -> tuple[np.ndarray, bytes]:
        """:meth:`rates` (read-only) and its bytes, computed once an hour (a step with traces)."""
        at = (int(t0 // 3600.0), int(t0 // self.step_s) if self._traced_any else -1)
        if at != self._rates_for:
            lam = self.rates(t0)
            lam.flags.writeable = False
            self._rates_for, self._lam, self._lam_bytes = at, lam, lam.tobytes()
        return self._lam, self._lam_bytes

    # ------------------------------------------------------------------ segments
    def open(
        self, t0: float, servers: np.ndarray, up: list[bool], rtt_factor: np.ndarray, reroute: bool = True
    ) -> np.ndarray:
        """Route and admit the flows from ``t0`` on; return the latency load per cluster (erlangs).

        Routing and admission depend only on the rates, the policy's shares,
        the servers, the clusters up and the RTT factors: when all of these are
        as in a segment seen before (e.g. within an hour under ``nearest``, or at
        the same hour of an earlier day), its result is reused (the last
        ``_LAW_CACHE`` distinct ones are kept). With ``reroute`` false
        (power-state changes within a step) the policy's shares of the open step
        are kept and only admission runs again, on the new servers.
        """
        n_f, n_c = self.n_f, self.n_c
        lam, lam_bytes = self._rates_at(t0)
        if rtt_factor is not self._rtt_seen:  # the engine hands over a new array when RTTs change
            self._rtt_seen, self._rtt_bytes = rtt_factor, rtt_factor.tobytes()
        shares = self._shares
        if reroute or shares is None:
            if n_f:
                routed = np.asarray(self.policy.route_flows(t0), dtype=float)[self.lat]  # (Kl, R, C)
                shares = np.where(np.isfinite(routed) & (routed > 0), routed, 0.0).reshape(n_f, n_c)
            else:
                shares = np.zeros((n_f, n_c))
            self._shares, self._shares_bytes = shares, shares.tobytes()
        key = (lam_bytes, self._shares_bytes, servers.tobytes(), tuple(up), self._rtt_bytes)
        law = self._laws_seen.pop(key, None)  # put back last: the most recently used
        if law is None:
            law = self._decide(lam, shares, servers, up, rtt_factor)
        remember(self._laws_seen, key, law, _LAW_CACHE)
        self.cur = _Segment(t0, int(t0 // self.step_s), law)
        self.load = law.load
        self.shed = law.shed
        return law.load

    def _decide(
        self, lam: np.ndarray, shares: np.ndarray, servers: np.ndarray, up: list[bool], rtt_factor: np.ndarray
    ) -> SegmentLaw:
        n_f, n_c = self.n_f, self.n_c
        shift = self.rtt_s[self.region_of] * rtt_factor[self.region_of]  # (F, C)
        usable = np.array([up[c] and servers[c] > 0 for c in range(n_c)], dtype=bool)
        prev = self._last
        if prev is not None and prev.same_but_servers(lam, shares, up, rtt_factor):
            reuse = self._still_admits(prev, servers, usable, shift)
            if reuse:
                self._last = replace(prev, servers=servers.copy())
                return self._law(lam, prev.accepted, prev.rej_at, shift, servers)
        tot = shares.sum(axis=1)
        live = (tot > 0) & self.has_cand & (lam > 0)
        offered = np.zeros((n_f, n_c))
        offered[live] = lam[live, None] * shares[live] / tot[live, None]
        accepted, rej_at, shed_any = self.admission.admit(offered, usable, servers, shift)
        self._last = _Admission(
            lam.copy(), shares.copy(), list(up), rtt_factor.copy(), servers.copy(), accepted, rej_at, shed_any
        )
        return self._law(lam, accepted, rej_at, shift, servers)

    def _still_admits(
        self, prev: _Admission, servers: np.ndarray, usable: np.ndarray, shift: np.ndarray
    ) -> bool:
        """Whether admission on ``servers`` would decide exactly as ``prev`` did.

        True when every cluster whose servers changed turned nothing away before
        and can still hold all it accepted: then each cluster admits the same
        flows in every round of :meth:`AdmissionRule.admit` (a subset of a set that fits
        fits), and the outcome is the same.
        """
        changed = np.flatnonzero(servers != prev.servers)
        for c in changed:
            if prev.shed_any[c] or not usable[c]:
                return False
            acc = prev.accepted[:, c]
            present = acc > 0
            if not present.any():
                continue
            lam_c = float(acc.sum())
            budget = float((self.slo_s - shift[:, c])[present].min())
            work, sq = float(acc @ self.mean_s), float(acc @ self.e2)
            if not self.admission.fits(int(servers[c]), lam_c, work, sq, budget):
                return False
        return True

    def _law(
        self,
        lam: np.ndarray,
        accepted: np.ndarray,
        rej_at: np.ndarray,
        shift: np.ndarray,
        servers: np.ndarray,
    ) -> SegmentLaw:
        """The segment's law from the admission's outcome: each cluster's wait on its servers."""
        n_c = self.n_c
        rej_none = np.where(lam > 0, lam - accepted.sum(axis=1) - rej_at.sum(axis=1), 0.0)
        load: np.ndarray = (accepted * self.mean_s[:, None]).sum(axis=0)
        lam_c = accepted.sum(axis=0)
        tails = []
        for c in range(n_c):
            if lam_c[c] <= 0:
                tails.append(WaitTail(0.0, math.inf))
                continue
            sq = float((accepted[:, c] * self.e2).sum())
            tails.append(mix_tail(int(servers[c]), float(lam_c[c]), float(load[c]), sq))
        with np.errstate(invalid="ignore", divide="ignore"):
            p_out = np.concatenate([accepted, rej_at, np.maximum(rej_none, 0.0)[:, None]], axis=1)
            p_out = np.where(lam[:, None] > 0, p_out / lam[:, None], 0.0)
        self._laws += 1
        law = SegmentLaw(
            law_id=self._laws,
            lam=lam,
            p_out=p_out,
            tails=tails,
            shift_s=shift,
            load=load,
            shed=(rej_at * self.mean_s[:, None]).sum(axis=0),
            p_wait=np.array([t.p_wait for t in tails]),
            decay=np.array([t.decay_per_s for t in tails]),
            mean_w=np.array([t.mean_s for t in tails]),
            p95_w=np.array([t.quantile(0.95) for t in tails]),
        )
        law.index(self.slo_s, self.class_of)
        return law

    def close(self, t1: float) -> None:
        """End the open segment at ``t1``; its request counts are drawn by :meth:`drain`."""
        seg = self.cur
        if seg is None:
            return
        self.cur = None
        dt = t1 - seg.t0
        if dt <= 0.0 or self.n_f == 0:
            return
        rec = seg.law.record
        assert rec is not None  # made by _law
        self._ended.append((seg.step, seg.t0, dt, rec))

    def drain(self) -> None:
        """Hand the segments ended since the last call to the sink, which draws their request
        counts from the run's ``flows`` stream (:meth:`FlowSink.add_ended`); the engine calls
        this once a simulated day and at the horizon."""
        ended = self._ended
        if ended:
            self._ended = []
            self.sink.add_ended(ended, self.rng)
