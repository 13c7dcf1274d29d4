"""The simple built-in routing policies, one class each (``spill_west``, ``carbon_aware`` and ``lp``
have modules of their own)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.policies.base import Policy, hourly_rankings, ranked_candidates
from sim.scenario import Scenario


class Nearest(Policy):
    """Lowest RTT among the candidates that are up."""

    name = "nearest"

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        self._ranked = ranked_candidates(scenario, np.zeros(scenario.topology.n_clusters))

    def route(self, region: int, klass: int, now_s: float) -> int:
        ranked = self._ranked[klass][region]
        c = ranked[0]
        return c if self.up[c] else self.first_up(ranked)


class _HourlyKey(Policy):
    """Lowest value of an hourly per-cluster key (ties: lowest RTT)."""

    def _key(self) -> np.ndarray:
        raise NotImplementedError

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        self._by_hour, self._rankings = hourly_rankings(scenario, self._key())
        self._last = len(self._by_hour) - 1

    def route(self, region: int, klass: int, now_s: float) -> int:
        h = min(int(now_s // 3600.0), self._last)
        return self.first_up(self._rankings[self._by_hour[h]][klass][region])


class Cheapest(_HourlyKey):
    """Lowest electricity tariff of the current hour among the candidates."""

    name = "cheapest"

    def _key(self) -> np.ndarray:
        return self.scenario.energy.tariff_cny_per_kwh


class Greenest(Policy):
    """Lowest marginal carbon now: 0 where green supply still exceeds the cluster's draw,
    else the hour's grid factor of ``energy.carbon_signal`` (average or marginal; ties: lowest RTT)."""

    name = "greenest"

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        e = scenario.energy
        self._grid = e.carbon_kgco2_per_kwh(scenario.config.energy.carbon_signal)
        self._green = e.green_kw
        self._pue = e.pue
        self._last = e.n_hours - 1
        # the power law (models.energy.site.it_power_kw) is linear: idle of every server + busy ones
        n = scenario.topology.n_clusters
        servers = scenario.servers.astype(float)
        # each cluster's own server (its CPU/GPU blend)
        self._idle_kw = np.array([float(scenario.power_of(c).it_kw(servers[c], 0.0)) for c in range(n)])
        self._dyn_kw = np.array([float(scenario.power_of(c).it_kw(0.0, 1.0)) for c in range(n)])
        self._cand = [[list(map(int, c)) for c in per_class] for per_class in scenario.candidates]
        self._rtt = scenario.topology.rtt_ms

    def route(self, region: int, klass: int, now_s: float) -> int:
        h = min(int(now_s // 3600.0), self._last)
        best, best_key = -1, (0.0, 0.0)
        engine = self.engine
        for c in self._cand[klass][region]:
            if not self.up[c]:
                continue
            busy = engine.busy_servers(c) if engine is not None else 0.0
            draw_kw = (self._idle_kw[c] + busy * self._dyn_kw[c]) * self._pue[c, h]
            marginal = 0.0 if self._green[c, h] > draw_kw else float(self._grid[c, h])
            key = (marginal, float(self._rtt[region, c]))
            if best < 0 or key < best_key:
                best, best_key = c, key
        return best


class RoundRobin(Policy):
    """Each (class, region) cycles through its candidates in turn, skipping clusters that are down."""

    name = "round_robin"

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        self._cand = [[list(map(int, c)) for c in per_class] for per_class in scenario.candidates]
        self._next = [[0] * scenario.topology.n_regions for _ in scenario.classes]

    def route(self, region: int, klass: int, now_s: float) -> int:
        cand = self._cand[klass][region]
        n = len(cand)
        i = self._next[klass][region]
        for step in range(n):
            c = cand[(i + step) % n]
            if self.up[c]:
                self._next[klass][region] = (i + step + 1) % n
                return c
        return -1


class RandomChoice(Policy):
    """A candidate chosen uniformly at random (from the run's policy stream)."""

    name = "random"

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        self._cand = [[list(map(int, c)) for c in per_class] for per_class in scenario.candidates]

    def route(self, region: int, klass: int, now_s: float) -> int:
        up = [c for c in self._cand[klass][region] if self.up[c]]
        if not up:
            return -1
        return up[int(self.rng.integers(len(up)))]
