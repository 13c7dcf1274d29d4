"""The policy interface and helpers shared by the built-in policies.

A policy is a class with a ``name``, the ``params`` it accepts (with their
defaults), and a :meth:`Policy.route` method the engine calls once per job.
Policies only ever choose among the job's *candidates*: the clusters whose
RTT meets the class's SLO (latency work) or every cluster (batch work). A job
with no candidate is dropped by the engine before the policy is asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.engine import Engine
    from sim.job import Job


class Policy:
    """Base class of routing policies.

    Subclasses set ``name``, declare ``params`` (name -> default) and
    implement :meth:`route`; they may override :meth:`check_params` to
    validate values (raise ``ValueError`` with what was expected).
    """

    name: ClassVar[str] = ""
    params: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        self.scenario = scenario
        self.rng = rng
        self.p: dict[str, Any] = {**self.params, **params}
        self.up: list[bool] = [True] * scenario.topology.n_clusters
        self.engine: Engine | None = None

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Validate parameter values; raise ValueError naming the problem."""

    def bind(self, engine: Engine) -> None:
        """Called once by the engine before the run, giving access to its live state.

        ``engine.up[c]`` is False while cluster ``c`` is down and
        ``engine.utilisation(c)`` is its busy share now.
        """
        self.engine = engine
        self.up = engine.up

    def route(self, region: int, klass: int, now_s: float) -> int:
        """Return the index of the cluster for a job, or -1 to drop it.

        Only called when the job has at least one candidate; must return a
        candidate that is up (``self.up``), or -1.
        """
        raise NotImplementedError

    def release_s(self, job: Job, now_s: float) -> float:
        """Earliest time a job that reached its cluster may join the queue (default: at once).

        A policy that shifts work in time (``lp``) holds jobs until then.
        """
        return 0.0

    def first_up(self, ranked: list[int]) -> int:
        """The first cluster of ``ranked`` that is up, or -1."""
        up = self.up
        for c in ranked:
            if up[c]:
                return c
        return -1

    def utilisation(self, c: int) -> float:
        return self.engine.utilisation(c) if self.engine is not None else 0.0


def ranked_candidates(scn: Scenario, key: np.ndarray) -> list[list[list[int]]]:
    """ranked[k][r] = the candidates of class k from region r by ``key``, then RTT."""
    out: list[list[list[int]]] = []
    for k in range(len(scn.classes)):
        row = []
        for r in range(scn.topology.n_regions):
            cand = scn.candidates[k][r]
            order = np.lexsort((scn.topology.rtt_ms[r, cand], key[cand]))
            row.append([int(c) for c in cand[order]])
        out.append(row)
    return out


def hourly_rankings(scn: Scenario, key_ch: np.ndarray) -> tuple[list[int], list[list[list[list[int]]]]]:
    """Rankings by an hourly key (clusters x hours), computed once per distinct hour pattern.

    Returns ``(by_hour, rankings)`` with ``rankings[by_hour[h]][k][r]`` the
    ranked candidates in hour ``h``.
    """
    seen: dict[bytes, int] = {}
    rankings: list[list[list[list[int]]]] = []
    by_hour: list[int] = []
    for h in range(key_ch.shape[1]):
        col = np.ascontiguousarray(key_ch[:, h])
        sig = np.argsort(col, kind="stable").tobytes() + (col[:, None] == col[None, :]).tobytes()
        if sig not in seen:
            seen[sig] = len(rankings)
            rankings.append(ranked_candidates(scn, col))
        by_hour.append(seen[sig])
    return by_hour, rankings
