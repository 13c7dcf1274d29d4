"""Admission control of latency flows: the share of each flow a cluster serves within its budget.

All latency flows at a cluster share one FCFS M/G/c queue (the mean service
and cv^2 of the mix). A cluster admits flows loosest budget (SLO minus RTT)
first while the ``engine.admission.quantile`` of the mix's wait stays within
the budget of every admitted flow and at most
``engine.admission.max_utilisation`` of its servers are loaded; the first
flow that would break it is admitted in part (the largest share for which the
mix, with that share, still meets its budget). Each flow's excess is offered
to its next candidate cluster by RTT (``engine.admission.spill``), then
rejected. The mix's wait is ``P(W > t) = C(c, a) exp(-(c - a) t / (mean_s f))``
(Erlang C, Allen–Cunneen ``f = (1 + cv^2) / 2``; :func:`models.queueing.wait_tail`).

:class:`~sim.engine.flows.FlowModel` routes the flows and asks an
:class:`AdmissionRule` what each cluster admits.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from models.queueing import WaitTail, wait_tail
from sim.engine.bounded import remember

_ONE = 1.0 - 1e-12
_CLUSTER_CACHE = 4096  # one cluster's admission decisions kept for reuse
_BRACKET_EVALS = 12  # queueing evaluations spent on bracketing a share admitted in part
_BRACKET_WIDTH = 2e-9  # a bracket this narrow leaves the bisection one or two evaluations


class AdmissionRule:
    """The admission rule of one run, over its latency flows ``f`` and clusters ``c``.

    Parameters
    ----------
    mean_s, e2, slo_s
        Each flow's mean service time (s), second moment of service (s^2) and SLO (s).
    order
        Each flow's candidate clusters, nearest (by RTT) first: where its excess spills.
    quantile
        The wait quantile that must meet a flow's budget (``engine.admission.quantile``).
    max_utilisation
        The largest share of a cluster's servers latency work may load.
    spill
        Whether excess goes to the next candidate before it is rejected.
    """

    def __init__(
        self,
        mean_s: np.ndarray,
        e2: np.ndarray,
        slo_s: np.ndarray,
        order: list[list[int]],
        quantile: float,
        max_utilisation: float,
        spill: bool,
    ) -> None:
        self.mean_s = mean_s
        self.e2 = e2
        self.slo_s = slo_s
        self.order = order
        self.tail = 1.0 - quantile  # the largest P(W > budget) admitted
        self.max_util = max_utilisation
        self.spill = spill
        self._judged: dict[tuple[object, ...], np.ndarray] = {}  # one cluster's inputs -> its decision

    def admit(
        self, offered: np.ndarray, usable: np.ndarray, servers: np.ndarray, shift: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Admit the ``offered`` requests/s of each flow at each cluster.

        Parameters
        ----------
        offered
            (F, C) requests/s each flow offers each cluster (the policy's shares of its rate).
        usable
            (C,) whether each cluster is up with servers online.
        servers
            (C,) each cluster's servers available to latency work.
        shift
            (F, C) each flow's network delay (s) to each cluster (RTT times its factor): its
            budget there is its SLO minus this.

        Returns
        -------
        accepted, rejected_at, shed_any
            (F, C) requests/s accepted at each cluster, (F, C) requests/s rejected where they
            were last offered, and (C,) whether each cluster turned any load away.
        """
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
                frac[:, c] = self.judge(off[:, c], bool(usable[c]), int(servers[c]), budget_fc[:, c])
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
                keep = self.judge(off[:, c], bool(usable[c]), int(servers[c]), budget_fc[:, c])
                rej_at[:, c] += off[:, c] * (1.0 - keep)
                shed_any[c] |= bool((keep < _ONE).any())
                off[:, c] *= keep
        return off, rej_at, shed_any

    def judge(self, lam_f: np.ndarray, usable: bool, servers: int, budget_f: np.ndarray) -> np.ndarray:
        """:meth:`admit_cluster`, remembered: a cluster is judged on the same offer again and
        again (within an hour most steps offer most clusters what they were offered before; four
        in five judgements of the national baseline repeat one). Read-only result."""
        key = (lam_f.tobytes(), usable, servers, budget_f.tobytes())
        out = self._judged.get(key)
        if out is None:
            out = self.admit_cluster(lam_f, usable, servers, budget_f)
            out.setflags(write=False)
            remember(self._judged, key, out, _CLUSTER_CACHE)
        return out

    def admit_cluster(
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
        if self.fits(servers, tot_lam, tot_work, tot_sq, float(bud.min())):
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
            if self.fits(servers, float(cum_lam[j]), float(cum_work[j]), float(cum_sq[j]), budget):
                out[f] = 1.0
                prev = (float(cum_lam[j]), float(cum_work[j]), float(cum_sq[j]))
                continue
            out[f] = self.admissible_share(
                servers, prev, (float(lam[j]), float(work[j]), float(sq[j])), budget
            )
            break
        return out

    def admissible_share(
        self, servers: int, prev: tuple[float, float, float], flow: tuple[float, float, float], budget: float
    ) -> float:
        """Largest share x of ``flow`` such that ``prev + x flow`` meets ``budget`` (bisection to 1e-9).

        The mix's mean and variability move with x, so x is searched on the mix
        itself, not on the load a fixed mix would admit. The search is a bisection
        of [0, 1] (halve the interval while it is wider than 1e-9, keep the half
        whose lower end fits), but its midpoints are judged without a queueing
        evaluation where a bracket (``a`` fits, ``b`` does not), found first by
        regula falsi on the log of the wait's tail, decides them: ~15 evaluations
        instead of 30. Where meeting the budget is monotone in x the result is the
        plain bisection's, bit for bit; the waits are remembered for inputs rounded
        to 9 digits (:func:`_tail`), which can break monotonicity within ~1e-7 of
        the boundary, and there the result may differ from it by as much. It always
        fits: a midpoint kept without an evaluation is checked, and if it does not
        fit, the plain bisection decides.
        """
        a, b = self._bracket(servers, prev, flow, budget)
        lo, hi = 0.0, 1.0
        lo_judged = True  # lo fits by an evaluation (0: by definition, as in the plain bisection)
        while hi - lo > 1e-9:
            x = 0.5 * (lo + hi)
            judged = False
            if x <= a:
                fits = True
            elif x >= b:
                fits = False
            else:
                fits, judged = self._judge_share(servers, prev, flow, budget, x)[0], True
                if fits:
                    a = x
                else:
                    b = x
            if fits:
                lo, lo_judged = x, judged
            else:
                hi = x
        if not lo_judged and not self._judge_share(servers, prev, flow, budget, lo)[0]:
            return self._bisect_share(servers, prev, flow, budget)
        return lo

    def _bisect_share(
        self, servers: int, prev: tuple[float, float, float], flow: tuple[float, float, float], budget: float
    ) -> float:
        """The plain bisection of :meth:`admissible_share`, every midpoint judged."""
        lo, hi = 0.0, 1.0
        while hi - lo > 1e-9:
            x = 0.5 * (lo + hi)
            if self._judge_share(servers, prev, flow, budget, x)[0]:
                lo = x
            else:
                hi = x
        return lo

    def _bracket(
        self, servers: int, prev: tuple[float, float, float], flow: tuple[float, float, float], budget: float
    ) -> tuple[float, float]:
        """``(a, b)`` with ``0 <= a < b <= 1``, the mix fitting at ``a`` (or ``a = 0``) and not at
        ``b`` (or ``b = 1``), narrowed by regula falsi (Anderson-Bjorck) on the log excess of the
        wait's tail over the admitted one (the load limits, linear in x, bound it first)."""
        a, b = 0.0, 1.0
        fa = fb = math.nan  # log excess at a and b (nan: not evaluated or not finite)
        side = 0  # which end moved last (an end kept twice has its value scaled down)
        for _ in range(_BRACKET_EVALS):
            if b - a <= _BRACKET_WIDTH:
                break
            if math.isfinite(fa) and math.isfinite(fb) and fb > fa:
                x = b - fb * (b - a) / (fb - fa)
            else:
                x = 0.5 * (a + b)
                if flow[1] > 0.0:  # the load limits: a proposal just inside them
                    cap = (min(float(servers), self.max_util * servers) - prev[1]) / flow[1]
                    if a < cap * (1.0 - 1e-9) < b:
                        x = cap * (1.0 - 1e-9)
            if not a < x < b:
                x = 0.5 * (a + b)
            fits, score = self._judge_share(servers, prev, flow, budget, x)
            # Anderson-Bjorck: an end kept twice has its value scaled down, so the next
            # point falls on its side of the root
            if fits:
                if side == -1 and math.isfinite(fb) and math.isfinite(fa) and math.isfinite(score):
                    m = 1.0 - score / fa if fa != 0.0 else 0.5
                    fb *= m if m > 0.0 else 0.5
                a, fa = x, score
                side = -1
            else:
                if side == 1 and math.isfinite(fa) and math.isfinite(fb) and math.isfinite(score):
                    m = 1.0 - score / fb if fb != 0.0 else 0.5
                    fa *= m if m > 0.0 else 0.5
                b, fb = x, score
                side = 1
        return a, b

    def _judge_share(
        self,
        servers: int,
        prev: tuple[float, float, float],
        flow: tuple[float, float, float],
        budget: float,
        x: float,
    ) -> tuple[bool, float]:
        """Whether ``prev + x flow`` meets ``budget`` (:meth:`fits`), and the log of its wait's
        tail at the budget over the admitted tail (``+-inf`` where a limit decides)."""
        p = self._excess(servers, prev[0] + x * flow[0], prev[1] + x * flow[1], prev[2] + x * flow[2], budget)
        score = math.log(p / self.tail) if p > 0.0 else -math.inf  # inf where a limit refuses
        return p <= self.tail, score

    def fits(self, servers: int, lam: float, load: float, sq: float, budget: float) -> bool:
        """Whether a mix (``lam`` requests/s, ``load`` erlangs, ``sq`` = sum of lam x E[S^2]) on
        ``servers`` meets ``budget`` at the admission quantile and the utilisation limit."""
        return self._excess(servers, lam, load, sq, budget) <= self.tail

    def _excess(self, servers: int, lam: float, load: float, sq: float, budget: float) -> float:
        """P(W > budget) of the mix: inf where a limit refuses it, 0 where nothing queues."""
        if budget < 0.0 or load >= servers or load > self.max_util * servers:
            return math.inf
        if lam <= 0.0 or load <= 0.0 or load / lam <= 0.0:
            return 0.0  # nothing (or too little to represent) to queue
        return mix_tail(servers, lam, load, sq).exceed(budget)


def mix_tail(c: int, lam: float, load: float, sq: float) -> WaitTail:
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
