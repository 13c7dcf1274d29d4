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
from typing import Any, ClassVar

import numpy as np

from models.errors import InputError
from sim.scenario import Scenario


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

    def route(self, region: int, klass: int, now_s: float) -> int:
        """Return the index of the cluster for a job (only called with candidates)."""
        raise NotImplementedError


def _static_table(scn: Scenario, key: np.ndarray) -> np.ndarray:
    """table[k, r] = the candidate with the smallest ``key`` (ties: lowest RTT)."""
    n_k, n_r = len(scn.classes), scn.topology.n_regions
    table = np.full((n_k, n_r), -1, dtype=np.int64)
    for k in range(n_k):
        for r in range(n_r):
            cand = scn.candidates[k][r]
            if cand.size:
                order = np.lexsort((scn.topology.rtt_ms[r, cand], key[cand]))
                table[k, r] = cand[order[0]]
    return table


class Nearest(Policy):
    """Lowest RTT among the candidates."""

    name = "nearest"

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        n_c = scenario.topology.n_clusters
        self._table = _static_table(scenario, np.zeros(n_c)).tolist()

    def route(self, region: int, klass: int, now_s: float) -> int:
        return int(self._table[klass][region])


class Cheapest(Policy):
    """Lowest electricity tariff of the current hour among the candidates."""

    name = "cheapest"

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        tariff = scenario.energy.tariff_cny_per_kwh
        self._tables = [_static_table(scenario, tariff[:, h]).tolist() for h in range(tariff.shape[1])]
        self._last = len(self._tables) - 1

    def route(self, region: int, klass: int, now_s: float) -> int:
        h = min(int(now_s // 3600.0), self._last)
        return int(self._tables[h][klass][region])


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
