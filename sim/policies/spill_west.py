"""``spill_west``: the programme's rule of thumb (serve at home until the hub is busy, then go west)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sim.engine.bounded import remember
from sim.engine.policy import EngineView
from sim.policies.base import Policy, ranked_candidates
from sim.policies.params import SpillWestParams
from sim.scenario import Scenario

__all__ = ["SpillWest"]


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
        # the home and west candidate lists of every flow, each distinct list once: a step
        # picks a cluster from each (route's rule) and every flow reads its two picks
        self._lists: list[list[int]] = []
        # the flow tables of route_flows (latency), and of route_batch (both: bundling: pool)
        self._latency_rows = self._rows(latency=True)
        self._all_rows = self._rows(latency=None)
        self._pending: tuple[float, np.ndarray] | None = None  # route_batch's shares, for route_flows
        # the shares decided on each recent state (see _shares), the most recently used last
        self._memo: dict[tuple[object, ...], np.ndarray] = {}
        self._splits: dict[tuple[object, ...], _Split] = {}  # home splits by clusters up and online
        self._up_lists: dict[tuple[object, ...], list[list[int]]] = {}  # _picks' lists by clusters up

    def _rows(self, latency: bool | None) -> _FlowRows:
        """A row per flow (latency or batch class, region; None: latency, then batch) with candidates."""
        scn = self.scenario
        kinds = [True, False] if latency is None else [latency]
        flows = [
            (k, r)
            for kind in kinds
            for k, spec in enumerate(scn.classes)
            if spec.is_latency == kind
            for r in range(scn.topology.n_regions)
            if scn.candidates[k][r].size > 0
        ]
        n_c = scn.topology.n_clusters
        home = [self._list_id(self._home_ranked[k][r]) for k, r in flows]
        west = [self._list_id(self._west_ranked[k][r]) for k, r in flows]
        used = sorted(set(home) | set(west))
        pos = {i: p for p, i in enumerate(used)}
        return _FlowRows(
            k=np.array([k for k, _ in flows], dtype=np.int64),
            r=np.array([r for _, r in flows], dtype=np.int64),
            hub=np.array([self._hub_of[self._type_of[k]][r] for k, r in flows], dtype=np.int64),
            home=_padded([self._home_ranked[k][r] for k, r in flows], n_c),
            ranked=_padded([self._ranked[k][r] for k, r in flows], n_c),
            lists=tuple(used),
            home_at=np.array([pos[i] for i in home], dtype=np.int64),
            west_at=np.array([pos[i] for i in west], dtype=np.int64),
            latency_only=latency is True,
        )

    def _list_id(self, clusters: list[int]) -> int:
        if clusters not in self._lists:
            self._lists.append(clusters)
        return self._lists.index(clusters)

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

    def _picks(self, util: list[float], rows: _FlowRows, up: tuple[bool, ...]) -> list[int]:
        """Route's pick (:func:`_first_under`) from the clusters ``up`` of each of ``rows.lists``
        (ids into ``_lists``; kept per clusters up), at the utilisations ``util``; -1 where none
        is up."""
        key = (rows.latency_only, up)
        lists = self._up_lists.get(key)
        if lists is None:
            lists = remember(
                self._up_lists, key, [[c for c in self._lists[i] if up[c]] for i in rows.lists], _MEMO
            )
        u, thr = util.__getitem__, self.threshold
        # (most lists' first cluster is under the threshold: that is the pick, without a call)
        return [c if lst and util[c := lst[0]] < thr else _first_under(lst, u, thr) for lst in lists]

    def _shares(self, rows: _FlowRows) -> np.ndarray:
        """The rule of :meth:`route` for every flow of ``rows`` at once, utilisations read once.

        A flow's shares follow from its home and west picks (:meth:`_picks`), whether its
        hub is under the threshold, the clusters up and the home sites' online servers:
        when all of these are as in a recent step, that step's shares are returned
        (the same read-only array), without deciding again.
        """
        util, online, hubs = self._state()
        up, on = tuple(self.up), tuple(online)
        picks = self._picks(util, rows, up)
        below = [h < self.threshold for h in hubs]
        key = (rows.latency_only, up, on, tuple(below), tuple(picks))
        out = self._memo.pop(key, None)  # put back last: the most recently used
        if out is None:
            split = self._home_split(rows, up, on)
            out = self._decide(rows, np.array(picks, dtype=np.int64), split, below)
            out.flags.writeable = False
        return remember(self._memo, key, out, _MEMO)

    def _home_split(self, rows: _FlowRows, up: tuple[bool, ...], online: tuple[float, ...]) -> _Split:
        """How each flow of ``rows`` that stays home splits over its hub's sites (``home:
        balanced``: by online servers), for clusters ``up`` and ``online`` as now (kept)."""
        key = (rows.latency_only, up, online)
        split = self._splits.get(key)
        if split is None:
            up_a = np.array([*up, False])  # one more cluster, never up: the padding of the tables
            on_a = np.array([*online, 0.0])
            home = rows.home
            home_up = up_a[home]
            on = np.where(home_up, on_a[home], 0.0)
            cap = np.cumsum(on, axis=1)[:, -1]  # summed in rank order, as a loop sums
            can = home_up.any(axis=1) & (cap > 0) & self._balanced
            at, cols = np.nonzero(home_up & can[:, None])
            sites = home[at, cols]
            split = remember(
                self._splits,
                key,
                _Split(can=can, at=at, sites=sites, share=on_a[sites] / cap[at], up=up_a),
                _MEMO,
            )
        return split

    def _decide(self, rows: _FlowRows, picks: np.ndarray, home: _Split, below_hub: list[bool]) -> np.ndarray:
        """:meth:`_shares` decided afresh from the picks of ``rows.lists``, the home splits
        and which hubs are under the threshold."""
        scn = self.scenario
        out = np.zeros((len(scn.classes), scn.topology.n_regions, scn.topology.n_clusters))
        if rows.k.size == 0:
            return out
        below = np.array(below_hub, dtype=bool)[rows.hub]
        c = picks[rows.home_at]
        split = home.can & below  # a flow that stays home splits over its hub's sites
        mine = split[home.at]
        at = home.at[mine]
        out[rows.k[at], rows.r[at], home.sites[mine]] = home.share[mine]
        west_bound = ~split & ~((c >= 0) & below)
        west = picks[rows.west_at]
        c = np.where(west_bound & (west >= 0), west, c)
        stranded = west_bound & (west < 0) & (c < 0)
        if stranded.any():  # no west, no home: the first candidate up
            ranked_up = home.up[rows.ranked]
            first = rows.ranked[np.arange(c.size), ranked_up.argmax(axis=1)]
            c = np.where(stranded, np.where(ranked_up.any(axis=1), first, -1), c)
        one = ~split & (c >= 0)
        out[rows.k[one], rows.r[one], c[one]] = 1.0
        return out

    def _below_threshold(self, ranked: list[int]) -> int:
        """The first of ``ranked`` under the threshold, else the least utilised; -1 if empty."""
        return _first_under(ranked, self._util, self.threshold)


def _first_under(ranked: list[int], util: Callable[[int], float], threshold: float) -> int:
    """The first of ``ranked`` whose utilisation is under ``threshold``, else the least utilised
    (the first of equals); -1 if ``ranked`` is empty. Each utilisation is read at most once."""
    best, low = -1, math.inf
    for c in ranked:
        u = util(c)
        if u < threshold:
            return c
        if best < 0 or u < low:
            best, low = c, u
    return best


_MEMO = 256  # the shares of this many recent states are kept


@dataclass(frozen=True)
class _FlowRows:
    """:class:`SpillWest`'s tables of flows: a row per (class, region) with candidates."""

    k: np.ndarray
    r: np.ndarray
    hub: np.ndarray  # index into SpillWest._hub_lists
    home: np.ndarray  # home-hub candidates, ranked, padded with n_clusters (read as never up)
    ranked: np.ndarray  # all candidates, ranked, padded likewise
    lists: tuple[int, ...]  # the candidate lists (ids into SpillWest._lists) the rows use
    home_at: np.ndarray  # each row's home list, as a position in ``lists``
    west_at: np.ndarray  # ... and its west list
    latency_only: bool  # the latency flows' table (else every flow's)


@dataclass(frozen=True)
class _Split:
    """How the flows of a table that stay home split over their hub's sites (``home: balanced``)."""

    can: np.ndarray  # (rows,) whether the row can split (some home site up, with servers)
    at: np.ndarray  # the rows of the (row, site) pairs
    sites: np.ndarray  # ... their sites
    share: np.ndarray  # ... their shares (the site's online servers over the home's)
    up: np.ndarray  # the clusters up (with the padding cluster, never up)


def _padded(rows: list[list[int]], pad: int) -> np.ndarray:
    """Lists of clusters as the rows of one array, padded with ``pad`` (at least one column)."""
    out = np.full((len(rows), max([1, *map(len, rows)])), pad, dtype=np.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out
