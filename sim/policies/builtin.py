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
        self._own_util = type(self).utilisation is not Policy.utilisation  # a subclass's measure
        # the flow tables of route_flows (latency), and of route_batch (both: bundling: pool)
        self._latency_rows = self._rows(latency=True)
        self._all_rows = _concat(self._latency_rows, self._rows(latency=False), topo.n_clusters)
        self._pending: tuple[float, np.ndarray] | None = None  # route_batch's shares, for route_flows
        # the shares decided on each recent state (see _shares), the most recently used last
        self._memo: dict[tuple[object, ...], np.ndarray] = {}

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
        return _flow_rows(
            np.array([k for k, _ in flows], dtype=np.int64),
            np.array([r for _, r in flows], dtype=np.int64),
            np.array([self._hub_of[self._type_of[k]][r] for k, r in flows], dtype=np.int64),
            _padded([self._home_ranked[k][r] for k, r in flows], n_c),
            _padded([self._west_ranked[k][r] for k, r in flows], n_c),
            _padded([self._ranked[k][r] for k, r in flows], n_c),
            n_c,
            latency,
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

    def _state(self) -> tuple[list[float], list[float], list[float]]:
        """Each cluster's utilisation and online servers, and each hub's utilisation: the
        engine read once, in two calls."""
        scn = self.scenario
        n_c = scn.topology.n_clusters
        eng = self.engine
        if eng is None:
            busy, avail = [0.0] * n_c, [int(x) for x in scn.servers]
            online = [float(x) for x in scn.servers]
        else:
            busy, avail, online = eng.busy_all(), eng.available, [float(x) for x in eng.online_all()]
        if self._own_util or eng is None:
            util = [self.utilisation(c) for c in range(n_c)]
        else:  # the engine's utilisation(c) of each cluster, from the same figures
            util = [b / a if a > 0 else 1.0 for b, a in zip(busy, avail, strict=True)]
        hubs = []
        for hub in self._hub_lists:  # _hub_utilisation of each, from the same figures
            cap = sum([avail[c] for c in hub])
            hubs.append(sum([busy[c] for c in hub]) / cap if cap > 0 else 1.0)
        return util, online, hubs

    def _signature(self, util: list[float], online: list[float], hubs: list[float]) -> tuple[object, ...]:
        """All of the state that :meth:`_decide` reads: the clusters up, their online servers,
        which clusters and hubs are under the threshold, and the order of those at or over it
        (ties marked), which decides a row's least utilised cluster when none is under."""
        thr = self.threshold
        over = sorted([(u, c) for c, u in enumerate(util) if not u < thr])
        return (
            tuple(self.up),
            tuple(online),
            tuple([h < thr for h in hubs]),
            tuple([u < thr for u in util]),
            tuple([c for _, c in over]),
            tuple([over[i][0] == over[i - 1][0] for i in range(1, len(over))]),
        )

    def _shares(self, rows: _FlowRows) -> np.ndarray:
        """The rule of :meth:`route` for every flow of ``rows`` at once, utilisations read once.

        The shares depend on the utilisations only through which clusters and hubs are
        under the threshold and how those over it are ordered: a state with the same
        :meth:`_signature` as a recent one gets that one's shares (exactly; an array
        made read-only), without deciding again.
        """
        util, online, hubs = self._state()
        key = (rows.latency_only, *self._signature(util, online, hubs))
        out = self._memo.pop(key, None)  # put back last: the most recently used
        if out is None:
            out = self._decide(rows, np.array([*util, math.inf]), np.array([*online, 0.0]), hubs)
            out.flags.writeable = False
            if len(self._memo) >= _MEMO:
                self._memo.pop(next(iter(self._memo)))
        self._memo[key] = out
        return out

    def _decide(self, rows: _FlowRows, util: np.ndarray, online: np.ndarray, hubs: list[float]) -> np.ndarray:
        """:meth:`_shares` decided afresh. ``util`` and ``online`` have one more cluster, never
        up (utilisation inf, no servers): the padding of the flow tables."""
        scn = self.scenario
        n_c = scn.topology.n_clusters
        out = np.zeros((len(scn.classes), scn.topology.n_regions, n_c))
        n = rows.k.size
        if n == 0:
            return out
        thr = self.threshold
        up = np.array([*self.up, False])
        below = (np.array(hubs) < thr)[rows.hub]
        both_up = up[rows.both]
        picked = _pick(rows.both, both_up, util, thr)  # home rows, then west rows
        c = picked[:n]
        home = rows.home
        home_up = both_up[:n, : home.shape[1]]
        split = np.zeros(n, dtype=bool)
        if self._balanced:
            on = np.where(home_up, online[home], 0.0)
            cap = np.cumsum(on, axis=1)[:, -1]  # summed in rank order, as a loop sums
            split = home_up.any(axis=1) & below & (cap > 0)
            at, cols = np.nonzero(home_up & split[:, None])
            sites = home[at, cols]
            out[rows.k[at], rows.r[at], sites] = online[sites] / cap[at]
        west_bound = ~split & ~((c >= 0) & below)
        west = picked[n:]
        c = np.where(west_bound & (west >= 0), west, c)
        stranded = west_bound & (west < 0) & (c < 0)
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


_MEMO = 256  # SpillWest: the shares of this many recent states are kept


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
    both: np.ndarray  # home's rows, then west's (one pick for both)
    latency_only: bool  # the latency flows' table (else every flow's)


def _concat(a: _FlowRows, b: _FlowRows, pad: int) -> _FlowRows:
    """The rows of ``a``, then those of ``b`` (clusters padded with ``pad``)."""
    return _flow_rows(
        np.concatenate([a.k, b.k]),
        np.concatenate([a.r, b.r]),
        np.concatenate([a.hub, b.hub]),
        _stack(a.home, b.home, pad),
        _stack(a.west, b.west, pad),
        _stack(a.ranked, b.ranked, pad),
        pad,
        a.latency_only and b.latency_only,
    )


def _flow_rows(
    k: np.ndarray,
    r: np.ndarray,
    hub: np.ndarray,
    home: np.ndarray,
    west: np.ndarray,
    ranked: np.ndarray,
    pad: int,
    latency_only: bool,
) -> _FlowRows:
    both = _stack(home, west, pad)
    return _FlowRows(
        k=k, r=r, hub=hub, home=home, west=west, ranked=ranked, both=both, latency_only=latency_only
    )


def _stack(x: np.ndarray, y: np.ndarray, pad: int) -> np.ndarray:
    """The rows of ``x``, then those of ``y``, padded with ``pad`` to the wider of the two."""
    out = np.full((x.shape[0] + y.shape[0], max(x.shape[1], y.shape[1])), pad, dtype=np.int64)
    out[: x.shape[0], : x.shape[1]] = x
    out[x.shape[0] :, : y.shape[1]] = y
    return out


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
