"""Routing policies: which cluster serves a job.

A policy is a class with a ``name``, the ``params`` it accepts, and a
:meth:`Policy.route` method the engine calls once per job. Policies only
ever choose among the job's *candidates*: the clusters whose RTT meets the
class's SLO (latency work) or every cluster (batch work). A job with no
candidate is dropped by the engine before the policy is asked.

Configs name policies from the registry (:func:`register_policy`); they never
name import paths, so a config cannot make edwc run arbitrary code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from models.errors import InputError
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.engine import Engine


class Policy:
    """Base class. Subclasses set ``name`` and implement :meth:`route`.

    ``params`` maps each accepted parameter to its default; unknown
    parameters in the config are errors.
    """

    name: ClassVar[str] = ""
    params: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        self.scenario = scenario
        self.rng = rng
        self.p = {**self.params, **params}
        self.up: list[bool] = [True] * scenario.topology.n_clusters

    def bind(self, engine: Engine) -> None:
        """Called once by the engine before the run: gives access to its live state.

        ``engine.up[c]`` is False while cluster ``c`` is down;
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

    def first_up(self, ranked: list[int]) -> int:
        """The first cluster of ``ranked`` that is up, or -1."""
        up = self.up
        for c in ranked:
            if up[c]:
                return c
        return -1


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


class Nearest(Policy):
    """Lowest RTT among the candidates."""

    name = "nearest"

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        self._ranked = ranked_candidates(scenario, np.zeros(scenario.topology.n_clusters))

    def route(self, region: int, klass: int, now_s: float) -> int:
        ranked = self._ranked[klass][region]
        c = ranked[0]
        return c if self.up[c] else self.first_up(ranked)


class Cheapest(Policy):
    """Lowest electricity tariff of the current hour among the candidates."""

    name = "cheapest"

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        self._by_hour, self._rankings = hourly_rankings(scenario, scenario.energy.tariff_cny_per_kwh)
        self._last = len(self._by_hour) - 1

    def route(self, region: int, klass: int, now_s: float) -> int:
        h = min(int(now_s // 3600.0), self._last)
        return self.first_up(self._rankings[self._by_hour[h]][klass][region])


_REGISTRY: dict[str, type[Policy]] = {}


def register_policy(cls: type[Policy]) -> type[Policy]:
    """Register a policy class under its ``name`` (usable as a decorator)."""
    if not cls.name:
        raise ValueError("a policy class needs a non-empty 'name'")
    _REGISTRY[cls.name] = cls
    return cls


for _cls in (Nearest, Cheapest):
    register_policy(_cls)


def policy_names() -> list[str]:
    return sorted(_REGISTRY)


def make_policy(scenario: Scenario, rng: np.random.Generator) -> Policy:
    """Instantiate the config's policy, checking its name and parameters."""
    pc = scenario.config.policy
    cls = _REGISTRY.get(pc.name)
    if cls is None:
        raise InputError(
            scenario.source, "policy.name", f"unknown policy '{pc.name}'; expected one of {policy_names()}"
        )
    unknown = sorted(set(pc.params) - set(cls.params))
    if unknown:
        allowed = sorted(cls.params) or "none"
        raise InputError(
            scenario.source,
            f"policy.params.{unknown[0]}",
            f"policy '{pc.name}' has no such parameter (accepts: {allowed})",
        )
    return cls(scenario, pc.params, rng)
