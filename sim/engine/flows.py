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
2. **Admission.** All latency flows at a cluster share one FCFS M/G/c queue
   (mean service and cv^2 of the mix). The cluster admits flows loosest
   budget (SLO minus RTT) first while the ``engine.admission.quantile`` of the
   mix's wait stays within the budget of every admitted flow, and at most
   ``engine.admission.max_utilisation`` of its servers are loaded; the first
   flow that would break it is admitted in part (the largest share for which
   the mix, with that share, still meets its budget). Each flow's excess is offered to
   its next candidate cluster by RTT (``engine.admission.spill``), then
   rejected: it never queues for hours.
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
from functools import lru_cache

import numpy as np

from models.queueing import WaitTail, wait_tail
from sim.engine.flowrecords import FlowSink, Segment, SegmentLaw
from sim.engine.policy import Policy
from sim.scenario import Scenario

_ONE = 1.0 - 1e-12
_DETERMINISTIC_N = 1e15  # above this many expected requests, counts are rounded expectations
_LAW_CACHE = 64  # routing and admission results kept for reuse
_CLUSTER_CACHE = 4096  # one cluster's admission decisions kept for reuse


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
        adm = scn.config.engine.admission
        self.tail = 1.0 - adm.quantile
        self.max_util = adm.max_utilisation
        self.spill = adm.spill
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
        self.cur: _Segment | None = None
        self.load = np.zeros(n_c)  # latency erlangs served per cluster in the open segment
        self.shed = np.zeros(n_c)  # latency erlangs shed (rejected) at each cluster in the open segment
        self._laws_seen: dict[tuple[object, ...], SegmentLaw] = {}  # recent inputs -> their law
        self._laws = 0
        self._judged: dict[tuple[object, ...], np.ndarray] = {}  # one cluster's inputs -> its decision
        self._last: _Admission | None = None  # the last full admission (see _decide)
        self._shares: np.ndarray | None = None  # the policy's shares of the open step
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

    # ------------------------------------------------------------------ segments
    def open(
        self, t0: float, servers: np.ndarray, up: list[bool], rtt_factor: np.ndarray, reroute: bool = True
    ) -> np.ndarray:
        """Route and admit the flows from ``t0`` on; return the latency load per cluster (erlangs).

        Routing and admission depend only on the rates, the policy's shares,
        the servers, the clusters up and the RTT factors: when all of these are
        as in the previous segment (e.g. within an hour under ``nearest``), its
        result is reused. With ``reroute`` false (power-state changes within a
        step) the policy's shares of the open step are kept and only admission
        runs again, on the new servers.
        """
        n_f, n_c = self.n_f, self.n_c
        lam = self.rates(t0)
        if reroute or self._shares is None:
            shares = np.zeros((n_f, n_c))
            if n_f:
                routed = np.asarray(self.policy.route_flows(t0), dtype=float)[self.lat]  # (Kl, R, C)
                shares = np.where(np.isfinite(routed) & (routed > 0), routed, 0.0).reshape(n_f, n_c)
            self._shares = shares
        else:
            shares = self._shares
        key = (lam.tobytes(), shares.tobytes(), servers.tobytes(), tuple(up), rtt_factor.tobytes())
        law = self._laws_seen.get(key)
        if law is None:
            law = self._decide(lam, shares, servers, up, rtt_factor)
            if len(self._laws_seen) >= _LAW_CACHE:
                self._laws_seen.pop(next(iter(self._laws_seen)))
            self._laws_seen[key] = law
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
        accepted, rej_at, shed_any = self._admit(offered, usable, servers, shift)
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
        flows in every round of :meth:`_admit` (a subset of a set that fits
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
            if not self._fits(int(servers[c]), lam_c, float(acc @ self.mean_s), float(acc @ self.e2), budget):
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
            tails.append(_mix_tail(int(servers[c]), float(lam_c[c]), float(load[c]), sq))
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
        law.index(self.slo_s)
        return law

    def _admit(
        self, offered: np.ndarray, usable: np.ndarray, servers: np.ndarray, shift: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Admission control: (accepted, rejected at each cluster) rates per flow and cluster, and
        whether each cluster ever turned load away (spilled or rejected)."""
        off = offered.copy()
        rej_at = np.zeros_like(off)
        shed_any = np.zeros(off.shape[1], dtype=bool)
        tried = off > 0
        budget_fc = self.slo_s[:, None] - shift
        frac = np.ones_like(off)
        changed = off.sum(axis=0) > 0  # clusters whose offered flows changed since they were judged
        # every round that does not end the loop sends some excess to a (flow, cluster) pair not
        # tried before, so F x C + 1 rounds always suffice; a re-judged cluster may evict flows it
        # had admitted (tighter budgets first), so chains can be longer than the candidates of one flow
        for _ in range(off.size + 1):
            for c in np.flatnonzero(changed):
                frac[:, c] = self._judge(off[:, c], bool(usable[c]), int(servers[c]), budget_fc[:, c])
            if (frac >= _ONE).all():
                break
            excess = off * (1.0 - frac)
            shed_any |= (excess > 0).any(axis=0)
            off = off * frac
            frac[:] = 1.0  # what a cluster kept, it admits; it is judged again only if it receives more
            changed[:] = False
            for f, c in zip(*np.nonzero(excess > 0), strict=True):
                x = excess[f, c]
                nxt = -1
                if self.spill:
                    for cand in self.order[f]:
                        if not tried[f, cand] and usable[cand]:
                            nxt = cand
                            break
                if nxt >= 0:
                    tried[f, nxt] = True
                    off[f, nxt] += x
                    changed[nxt] = True
                else:
                    rej_at[f, c] += x
            if not changed.any():
                break
        else:
            # (unreachable by the bound above; kept as a guard) judge the last arrivals, reject the rest
            for c in np.flatnonzero(changed):
                keep = self._judge(off[:, c], bool(usable[c]), int(servers[c]), budget_fc[:, c])
                rej_at[:, c] += off[:, c] * (1.0 - keep)
                shed_any[c] |= bool((keep < _ONE).any())
                off[:, c] *= keep
        return off, rej_at, shed_any

    def _judge(self, lam_f: np.ndarray, usable: bool, servers: int, budget_f: np.ndarray) -> np.ndarray:
        """:meth:`_admit_cluster`, remembered: a cluster is judged on the same offer again and
        again (within an hour most steps offer most clusters what they were offered before; four
        in five judgements of the national baseline repeat one). Read-only result."""
        key = (lam_f.tobytes(), usable, servers, budget_f.tobytes())
        out = self._judged.get(key)
        if out is None:
            out = self._admit_cluster(lam_f, usable, servers, budget_f)
            out.setflags(write=False)
            if len(self._judged) >= _CLUSTER_CACHE:
                self._judged.pop(next(iter(self._judged)))
            self._judged[key] = out
        return out

    def _admit_cluster(
        self, lam_f: np.ndarray, usable: bool, servers: int, budget_f: np.ndarray
    ) -> np.ndarray:
        """Share of each offered flow a cluster admits.

        The flows share one queue, so a flow with a tight budget (far region,
        short SLO) needs a shorter wait than the others. Flows are admitted
        loosest budget first while the wait meets the budget of each admitted
        one; the first flow that would break it is admitted in part, the rest
        not at all (they spill).
        """
        out = np.zeros_like(lam_f)
        if not usable:
            return out
        present = np.flatnonzero(lam_f > 0)
        if present.size == 0:
            return out
        lam = lam_f[present]
        bud = budget_f[present]
        # whole set at the tightest budget: the common case
        tot_lam = float(lam.sum())
        tot_work = float(lam @ self.mean_s[present])
        tot_sq = float(lam @ self.e2[present])
        if self._fits(servers, tot_lam, tot_work, tot_sq, float(bud.min())):
            out[present] = 1.0
            return out
        order = present[np.argsort(-bud, kind="stable")]
        lam = lam_f[order]
        work = lam * self.mean_s[order]
        sq = lam * self.e2[order]
        cum_lam, cum_work, cum_sq = np.cumsum(lam), np.cumsum(work), np.cumsum(sq)
        prev = (0.0, 0.0, 0.0)  # requests/s, erlangs and second moments of the flows admitted so far
        for j, f in enumerate(order):
            budget = float(budget_f[f])
            if budget < 0.0:
                break
            if self._fits(servers, float(cum_lam[j]), float(cum_work[j]), float(cum_sq[j]), budget):
                out[f] = 1.0
                prev = (float(cum_lam[j]), float(cum_work[j]), float(cum_sq[j]))
                continue
            out[f] = self._admissible_share(
                servers, prev, (float(lam[j]), float(work[j]), float(sq[j])), budget
            )
            break
        return out

    def _admissible_share(
        self, servers: int, prev: tuple[float, float, float], flow: tuple[float, float, float], budget: float
    ) -> float:
        """Largest share x of ``flow`` such that ``prev + x flow`` meets ``budget`` (bisection to 1e-9).

        The mix's mean and variability move with x, so x is searched on the mix
        itself, not on the load a fixed mix would admit.
        """
        lo, hi = 0.0, 1.0
        while hi - lo > 1e-9:
            x = 0.5 * (lo + hi)
            mix = (prev[0] + x * flow[0], prev[1] + x * flow[1], prev[2] + x * flow[2])
            if self._fits(servers, mix[0], mix[1], mix[2], budget):
                lo = x
            else:
                hi = x
        return lo

    def _fits(self, servers: int, lam: float, load: float, sq: float, budget: float) -> bool:
        if budget < 0.0 or load >= servers or load > self.max_util * servers:
            return False
        if lam <= 0.0 or load <= 0.0 or load / lam <= 0.0:
            return True  # nothing (or too little to represent) to queue
        return _mix_tail(servers, lam, load, sq).exceed(budget) <= self.tail

    def close(self, t1: float) -> None:
        """End the open segment at ``t1``; its request counts are drawn by :meth:`drain`."""
        seg = self.cur
        if seg is None:
            return
        self.cur = None
        dt = t1 - seg.t0
        if dt <= 0.0 or self.n_f == 0:
            return
        self._ended.append((seg.step, seg.t0, dt, seg.law))

    def drain(self) -> None:
        """Draw the request counts of the segments ended since the last call, in time order, and
        hand them to the sink (the engine calls this once a simulated day and at the horizon).

        A Poisson total split multinomially over the outcomes is the same as an
        independent Poisson count per outcome (thinning): one vectorised draw for all
        the segments, element by element in time order, so the same counts as a draw
        per segment.
        """
        ended = self._ended
        if not ended:
            return
        self._ended = []
        mean = np.concatenate([law.e_rate * dt for _, _, dt, law in ended])
        big = mean > _DETERMINISTIC_N
        if big.any():
            counts = np.rint(mean).astype(np.int64)
            counts[~big] = self.rng.poisson(mean[~big])
        else:
            counts = self.rng.poisson(mean)
        self.sink.add_segments(ended, counts)


def _mix_tail(c: int, lam: float, load: float, sq: float) -> WaitTail:
    """The wait of a mix of flows on ``c`` servers: ``lam`` requests/s, ``load`` erlangs and
    ``sq`` = sum of lam x E[S^2] (its mean service and cv^2 follow)."""
    mean = load / lam
    return _tail(c, load, mean, sq / lam / mean**2 - 1.0)


def _tail(c: int, a: float, mean_s: float, cv2: float) -> WaitTail:
    """:func:`~models.queueing.wait_tail`, remembered for loads equal to 9 significant digits."""
    return _tail_cached(c, _round(a), _round(mean_s), _round(max(0.0, cv2)))


@lru_cache(maxsize=4096)
def _tail_cached(c: int, a: float, mean_s: float, cv2: float) -> WaitTail:
    return wait_tail(c, a, mean_s, cv2)


def _round(x: float) -> float:
    """``x`` to 9 significant digits (keys of the admission cache)."""
    if x == 0.0 or not math.isfinite(x):
        return x
    return round(x, 8 - math.floor(math.log10(abs(x))))
