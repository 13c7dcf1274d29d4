"""The built-in routing policies (one class each)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sim.engine.policy import EngineView
from sim.policies.base import Policy, hourly_rankings, ranked_candidates
from sim.policies.params import SpillWestParams
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


class SpillWest(Policy):
    """The programme's rule of thumb: serve in the home hub until it is busy, then go west.

    A region's home hub is the hub that serves it in the reference data (else
    the hub of its nearest cluster). While the home hub's utilisation is below
    ``threshold``, a job goes to the nearest home-hub candidate below the
    threshold (else the least utilised home candidate). Above it,
    batch work, and latency work that can still meet its SLO, goes to the
    nearest western candidate whose utilisation is below ``threshold`` (else
    the least utilised western candidate); with no western candidate it stays
    at home. With ``home: balanced`` (the default) the home-hub site is the
    least utilised one instead, so a hub's cluster and its metro data centres
    share the load; ``home: nearest`` keeps the nearest-first rule. Latency
    flows (:meth:`route_flows`) follow the same rule. With server types, a
    class's hub utilisation is that of the hub's pools of its own type (a GPU
    job spills when the hub's GPU servers are busy, whatever its CPU servers do).
    """

    name = "spill_west"
    params: ClassVar[Mapping[str, Any]] = SpillWestParams.defaults()

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        SpillWestParams.parse(params)

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        topo = scenario.topology
        self.cfg = SpillWestParams.parse(params)
        self.threshold = self.cfg.threshold
        self._balanced = self.cfg.home == "balanced"
        rtt = topo.rtt_ms
        self._home: list[list[int]] = []  # home-hub clusters per region
        for r in range(topo.n_regions):
            hub = topo.region_hub[r]
            if hub is None or hub not in topo.cluster_hub:
                hub = topo.cluster_hub[int(np.argmin(rtt[r]))]
            self._home.append([c for c in range(topo.n_clusters) if topo.cluster_hub[c] == hub])
        # the hub's load a class weighs is that of its own server type's pools
        types = sorted(set(topo.types))
        self._type_of = [
            types.index(spec.server_type) if spec.server_type in types else 0 for spec in scenario.classes
        ]
        self._home_typed = [
            [[c for c in home if topo.types[c] == t] for home in self._home] for t in types
        ]  # [type][region] -> home-hub clusters of that type
        # the distinct ones (regions share hubs): route_flows reads each hub's load once
        self._hub_lists: list[list[int]] = []
        self._hub_of: list[list[int]] = []  # [type][region] -> index into _hub_lists
        for typed in self._home_typed:
            row = []
            for clusters in typed:
                if clusters not in self._hub_lists:
                    self._hub_lists.append(clusters)
                row.append(self._hub_lists.index(clusters))
            self._hub_of.append(row)
        ranked = ranked_candidates(scenario, np.zeros(topo.n_clusters))
        west = topo.cluster_west
        self._home_ranked = [
            [[c for c in ranked[k][r] if c in self._home[r]] for r in range(topo.n_regions)]
            for k in range(len(scenario.classes))
        ]
        self._west_ranked = [
            [[c for c in ranked[k][r] if west[c]] for r in range(topo.n_regions)]
            for k in range(len(scenario.classes))
        ]
        self._ranked = ranked
        self._util: Callable[[int], float] = self.utilisation
        # the flow tables of route_flows (latency), and of route_batch (both: bundling: pool)
        self._latency_rows = self._rows(latency=True)
        self._all_rows = _concat(self._latency_rows, self._rows(latency=False), topo.n_clusters)
        self._pending: tuple[float, np.ndarray] | None = None  # route_batch's shares, for route_flows

    def _rows(self, latency: bool) -> _FlowRows:
        """A row per flow (latency or batch class, region) with candidates."""
        scn = self.scenario
        flows = [
            (k, r)
            for k, spec in enumerate(scn.classes)
            if spec.is_latency == latency
            for r in range(scn.topology.n_regions)
            if scn.candidates[k][r].size > 0
        ]
        n_c = scn.topology.n_clusters
        return _FlowRows(
            k=np.array([k for k, _ in flows], dtype=np.int64),
            r=np.array([r for _, r in flows], dtype=np.int64),
            hub=np.array([self._hub_of[self._type_of[k]][r] for k, r in flows], dtype=np.int64),
            home=_padded([self._home_ranked[k][r] for k, r in flows], n_c),
            west=_padded([self._west_ranked[k][r] for k, r in flows], n_c),
            ranked=_padded([self._ranked[k][r] for k, r in flows], n_c),
        )

    def bind(self, engine: EngineView) -> None:
        super().bind(engine)
        # called per job: read the engine's own measure unless a subclass redefines it
        if type(self).utilisation is Policy.utilisation:
            self._util = engine.utilisation

    def _hub_utilisation(self, clusters: list[int]) -> float:
        eng = self.engine
        if eng is None:
            return 0.0
        busy_servers, avail = eng.busy_servers, eng.available
        busy = sum([busy_servers(c) for c in clusters])
        cap = sum([avail[c] for c in clusters])
        return busy / cap if cap > 0 else 1.0

    def route(self, region: int, klass: int, now_s: float) -> int:
        up = self.up
        home = [c for c in self._home_ranked[klass][region] if up[c]]
        home_c = min(home, key=self._util) if self._balanced and home else self._below_threshold(home)
        hub = self._home_typed[self._type_of[klass]][region]
        if home_c >= 0 and self._hub_utilisation(hub) < self.threshold:
            return home_c
        west = [c for c in self._west_ranked[klass][region] if up[c]]
        if west:
            return self._below_threshold(west)
        return home_c if home_c >= 0 else self.first_up(self._ranked[klass][region])

    def route_flows(self, now_s: float) -> np.ndarray:
        """The rule of :meth:`route` for every latency flow at once, utilisations read once.

        With ``home: balanced`` a flow that stays home is split over the up
        home-hub sites in proportion to their online servers: equal utilisation,
        the fixed point of sending each request to the least utilised site.
        (Sending the whole flow to the least utilised site, as :meth:`route`
        does for one job, would swing a hub's latency load between its sites
        from step to step.)
        """
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == now_s:
            return pending[1]  # decided by route_batch just before, on the same state
        return self._shares(self._latency_rows)

    def route_batch(self, now_s: float) -> np.ndarray:
        """The rule of :meth:`route_flows` for the batch classes' arrivals (``engine.bundling: pool``).

        The engine asks at the start of a step, just before :meth:`route_flows`, on the
        same state: the latency flows' shares are decided in the same pass and kept for it.
        """
        out = self._shares(self._all_rows)
        self._pending = (now_s, out)
        return out

    def _shares(self, rows: _FlowRows) -> np.ndarray:
        """The rule of :meth:`route` for every flow of ``rows`` at once, utilisations read once."""
        scn = self.scenario
        n_c = scn.topology.n_clusters
        out = np.zeros((len(scn.classes), scn.topology.n_regions, n_c))
        if rows.k.size == 0:
            return out
        thr = self.threshold
        eng = self.engine
        # one more cluster, never up: the padding of the flow tables
        util = np.array([self.utilisation(c) for c in range(n_c)] + [math.inf])
        up = np.array([*self.up, False])
        online = np.array(
            [float(eng.online(c)) if eng is not None else float(scn.servers[c]) for c in range(n_c)] + [0.0]
        )
        below = np.array([self._hub_utilisation(hub) < thr for hub in self._hub_lists])[rows.hub]
        home = rows.home
        home_up = up[home]
        c = _pick(home, home_up, util, thr)
        split = np.zeros(c.size, dtype=bool)
        if self._balanced:
            on = np.where(home_up, online[home], 0.0)
            cap = np.cumsum(on, axis=1)[:, -1]  # summed in rank order, as a loop sums
            split = home_up.any(axis=1) & below & (cap > 0)
            at, cols = np.nonzero(home_up & split[:, None])
            sites = home[at, cols]
            out[rows.k[at], rows.r[at], sites] = online[sites] / cap[at]
        west_bound = ~split & ~((c >= 0) & below)
        west_up = up[rows.west]
        has_west = west_up.any(axis=1)
        c = np.where(west_bound & has_west, _pick(rows.west, west_up, util, thr), c)
        stranded = west_bound & ~has_west & (c < 0)
        if stranded.any():  # no west, no home: the first candidate up
            ranked_up = up[rows.ranked]
            first = rows.ranked[np.arange(c.size), ranked_up.argmax(axis=1)]
            c = np.where(stranded, np.where(ranked_up.any(axis=1), first, -1), c)
        one = ~split & (c >= 0)
        out[rows.k[one], rows.r[one], c[one]] = 1.0
        return out

    def _below_threshold(self, ranked: list[int]) -> int:
        """The first of ``ranked`` under the threshold, else the least utilised; -1 if empty."""
        util, threshold = self._util, self.threshold
        for c in ranked:
            if util(c) < threshold:
                return c
        return min(ranked, key=util) if ranked else -1


@dataclass(frozen=True)
class _FlowRows:
    """:class:`SpillWest`'s tables of flows: a row per (class, region) with candidates, its
    clusters (home hub's, western, all; ranked) padded with n_clusters, read as never up."""

    k: np.ndarray
    r: np.ndarray
    hub: np.ndarray  # index into SpillWest._hub_lists
    home: np.ndarray
    west: np.ndarray
    ranked: np.ndarray


def _concat(a: _FlowRows, b: _FlowRows, pad: int) -> _FlowRows:
    """The rows of ``a``, then those of ``b`` (clusters padded with ``pad``)."""

    def stack(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.full((x.shape[0] + y.shape[0], max(x.shape[1], y.shape[1])), pad, dtype=np.int64)
        out[: x.shape[0], : x.shape[1]] = x
        out[x.shape[0] :, : y.shape[1]] = y
        return out

    return _FlowRows(
        k=np.concatenate([a.k, b.k]),
        r=np.concatenate([a.r, b.r]),
        hub=np.concatenate([a.hub, b.hub]),
        home=stack(a.home, b.home),
        west=stack(a.west, b.west),
        ranked=stack(a.ranked, b.ranked),
    )


def _padded(rows: list[list[int]], pad: int) -> np.ndarray:
    """Lists of clusters as the rows of one array, padded with ``pad`` (at least one column)."""
    out = np.full((len(rows), max([1, *map(len, rows)])), pad, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def _pick(clusters: np.ndarray, up: np.ndarray, util: np.ndarray, threshold: float) -> np.ndarray:
    """Per row of ``clusters`` (ranked): the first up one under ``threshold``, else the least
    utilised up one (the first of equals), else -1: :meth:`SpillWest._below_threshold` per row."""
    u = np.where(up, util[clusters], math.inf)
    under = u < threshold
    rows = np.arange(clusters.shape[0])
    at = np.where(under.any(axis=1), under.argmax(axis=1), u.argmin(axis=1))
    out: np.ndarray = np.where(up.any(axis=1), clusters[rows, at], -1)
    return out
