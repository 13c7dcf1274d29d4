"""Sites and the network between them: demand regions, clusters, hubs, RTT.

A :class:`Topology` is the array form every other part of edwc works on:
``R`` demand regions and ``C`` clusters, with an ``R x C`` round-trip-time
matrix in milliseconds. It is built from the reference data
(:func:`national_topology`) or from any user-supplied set of sites
(:func:`custom_topology`), so edwc works for any geography.

Latency model (DESIGN.md): great-circle distance x route factor over fibre,
both ways, plus a fixed per-path overhead::

    rtt_ms = 2 * d_km * route_factor * fibre_us_per_km / 1000 + overhead_ms

In the national topology the route factor depends on the path type
(:meth:`LatencyModel.rtt_by_path`): a city of a hub reaches the national
clusters over the programme's direct links (``route_factor``, the 2025 goal of
<= 1.5 x theoretical latency); every other path (cities without a hub, the
metro data centres) is an internet path (``internet_route_factor``), and every
city -> site path pays the metro access overhead ``access_ms`` on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from models.reference import Cluster, Reference

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def haversine_km(
    lon1: FloatArray | float, lat1: FloatArray | float, lon2: FloatArray | float, lat2: FloatArray | float
) -> FloatArray:
    """Great-circle distance in km between points given in decimal degrees (broadcasts)."""
    lon1r, lat1r, lon2r, lat2r = (np.radians(np.asarray(x, dtype=float)) for x in (lon1, lat1, lon2, lat2))
    dlat = lat2r - lat1r
    dlon = lon2r - lon1r
    a = np.sin(dlat / 2) ** 2 + np.cos(lat1r) * np.cos(lat2r) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=float)


def rtt_ms_from_km(
    distance_km: FloatArray, route_factor: float, fibre_us_per_km: float, overhead_ms: float
) -> FloatArray:
    """Round-trip time for a path of great-circle length ``distance_km``."""
    return np.asarray(2.0 * distance_km * route_factor * fibre_us_per_km / 1000.0 + overhead_ms)


@dataclass(frozen=True)
class LatencyModel:
    """Parameters of the distance-based RTT model.

    ``route_factor`` applies to direct links; ``internet_route_factor`` (None:
    the same) to internet paths; ``access_ms`` is added to every path of
    :meth:`rtt_by_path` (metro access network), not to :meth:`rtt_ms`.
    """

    route_factor: float = 1.5
    fibre_us_per_km: float = 4.9
    overhead_ms: float = 2.0
    internet_route_factor: float | None = None
    access_ms: float = 0.0

    def rtt_ms(self, lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray) -> FloatArray:
        """RTT matrix between points 1 (rows) and points 2 (columns), all on direct links."""
        d = haversine_km(lon1[:, None], lat1[:, None], lon2[None, :], lat2[None, :])
        return rtt_ms_from_km(d, self.route_factor, self.fibre_us_per_km, self.overhead_ms)

    def rtt_by_path(
        self,
        lon1: FloatArray,
        lat1: FloatArray,
        lon2: FloatArray,
        lat2: FloatArray,
        direct: NDArray[np.bool_],
    ) -> FloatArray:
        """RTT matrix where ``direct`` (rows x columns) marks direct links, the rest internet paths."""
        d = haversine_km(lon1[:, None], lat1[:, None], lon2[None, :], lat2[None, :])
        internet = self.internet_route_factor if self.internet_route_factor is not None else self.route_factor
        rf = np.where(direct, self.route_factor, internet)
        return np.asarray(
            2.0 * d * rf * self.fibre_us_per_km / 1000.0 + self.overhead_ms + self.access_ms, dtype=float
        )


@dataclass(frozen=True)
class Topology:
    """Regions x clusters, as arrays indexed by position.

    Attributes ending in ``_ids`` give the identifiers; every other array is
    aligned with them. ``cluster_west`` is True for clusters of western hubs.

    Capacity states: ``cluster_servers`` are the *occupied* (上架) servers, the
    ceiling of what a run can power and use; ``cluster_built_servers`` the built
    capacity (None: same as occupied). ``cluster_kind`` is ``"cluster"`` for a
    national cluster and ``"metro"`` for an existing eastern metro data-centre
    area; ``cluster_occupancy_target`` the 上架率 target (NaN: none).

    Server types (:mod:`models.servers`): each column is one pool of servers
    of one type (``cluster_type``: ``"cpu"`` or ``"gpu"``; empty: all CPU) at
    one physical site (``cluster_site``: the site's id; empty: the column's own
    id). Columns of one site share its location, hub, climate and prices.
    """

    region_ids: tuple[str, ...]
    region_lon: FloatArray
    region_lat: FloatArray
    region_weight: FloatArray  # demand weights, sum to 1
    region_hub: tuple[str | None, ...]
    cluster_ids: tuple[str, ...]
    cluster_lon: FloatArray
    cluster_lat: FloatArray
    cluster_hub: tuple[str, ...]
    cluster_west: NDArray[np.bool_]
    cluster_servers: IntArray  # occupied real servers: the ceiling of powered and used servers
    rtt_ms: FloatArray  # (R, C)
    region_names: tuple[str, ...] = field(default=())
    cluster_names: tuple[str, ...] = field(default=())
    cluster_built_servers: IntArray | None = None
    cluster_kind: tuple[str, ...] = field(default=())
    cluster_occupancy_target: FloatArray | None = None
    cluster_type: tuple[str, ...] = field(default=())
    cluster_site: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        r, c = len(self.region_ids), len(self.cluster_ids)
        if self.rtt_ms.shape != (r, c):
            raise ValueError(f"rtt_ms has shape {self.rtt_ms.shape}, expected ({r}, {c})")
        if not np.isclose(self.region_weight.sum(), 1.0):
            raise ValueError("region weights must sum to 1")

    @property
    def n_regions(self) -> int:
        return len(self.region_ids)

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_ids)

    def region_index(self, region_id: str) -> int:
        return self.region_ids.index(region_id)

    def cluster_index(self, cluster_id: str) -> int:
        return self.cluster_ids.index(cluster_id)

    def site_indices(self, site_id: str) -> list[int]:
        """Columns of the physical site ``site_id`` (one per server type); empty if unknown."""
        return [c for c, s in enumerate(self.sites) if s == site_id]

    @property
    def types(self) -> tuple[str, ...]:
        """Server type of each column (``"cpu"`` where none is given)."""
        return self.cluster_type if self.cluster_type else ("cpu",) * self.n_clusters

    @property
    def sites(self) -> tuple[str, ...]:
        """Physical site id of each column (the column's id where none is given)."""
        return self.cluster_site if self.cluster_site else self.cluster_ids

    def side(self, cluster: int) -> str:
        return "west" if self.cluster_west[cluster] else "east"

    @property
    def built_servers(self) -> IntArray:
        """Built servers per cluster (the occupied ones where no built figure is known)."""
        return self.cluster_built_servers if self.cluster_built_servers is not None else self.cluster_servers

    @property
    def occupancy(self) -> FloatArray:
        """Occupied / built servers per cluster (上架率)."""
        return np.asarray(self.cluster_servers / np.maximum(self.built_servers, 1), dtype=float)

    @property
    def kinds(self) -> tuple[str, ...]:
        """``"cluster"`` or ``"metro"`` per cluster."""
        return self.cluster_kind if self.cluster_kind else ("cluster",) * self.n_clusters

    @property
    def occupancy_target(self) -> FloatArray:
        """The 上架率 target per cluster (NaN where there is none)."""
        if self.cluster_occupancy_target is None:
            return np.full(self.n_clusters, np.nan)
        return self.cluster_occupancy_target

    def select_clusters(self, idx: IntArray) -> Topology:
        """The same topology with only the clusters at positions ``idx``."""
        return replace(
            self,
            cluster_ids=tuple(self.cluster_ids[i] for i in idx),
            cluster_lon=self.cluster_lon[idx],
            cluster_lat=self.cluster_lat[idx],
            cluster_hub=tuple(self.cluster_hub[i] for i in idx),
            cluster_west=self.cluster_west[idx],
            cluster_servers=self.cluster_servers[idx],
            rtt_ms=self.rtt_ms[:, idx],
            cluster_names=tuple(self.cluster_names[i] for i in idx) if self.cluster_names else (),
            cluster_built_servers=(
                self.cluster_built_servers[idx] if self.cluster_built_servers is not None else None
            ),
            cluster_kind=tuple(self.cluster_kind[i] for i in idx) if self.cluster_kind else (),
            cluster_occupancy_target=(
                self.cluster_occupancy_target[idx] if self.cluster_occupancy_target is not None else None
            ),
            cluster_type=tuple(self.cluster_type[i] for i in idx) if self.cluster_type else (),
            cluster_site=tuple(self.cluster_site[i] for i in idx) if self.cluster_site else (),
        )


def latency_model_from_reference(ref: Reference) -> LatencyModel:
    lat = ref.latency
    return LatencyModel(
        route_factor=lat.route_factor.scalar,
        fibre_us_per_km=lat.fibre_us_per_km.scalar,
        overhead_ms=lat.overhead_ms.scalar,
        internet_route_factor=(
            lat.internet_route_factor.scalar if lat.internet_route_factor is not None else None
        ),
        access_ms=lat.access_ms.scalar if lat.access_ms is not None else 0.0,
    )


def national_topology(ref: Reference, latency: LatencyModel | None = None, *, metro: bool = True) -> Topology:
    """The demand cities and the 10 national clusters of the reference data,
    plus (``metro``, the default) the existing eastern metro data-centre areas.

    Region demand weights are each city's share of the cities' total GDP
    (GDP is a proxy for compute demand). With ``metro``, hub totals are then
    rescaled to where demand is served today (:func:`rack_share_weights`).
    Each site's usable servers are its occupied servers (built x occupancy).
    """
    lm = latency or latency_model_from_reference(ref)
    sites = [*ref.clusters, *(ref.metro_dcs if metro else [])]
    rlon = np.array([r.lon.scalar for r in ref.regions])
    rlat = np.array([r.lat.scalar for r in ref.regions])
    gdp = np.array([r.gdp_100m_cny.scalar for r in ref.regions])
    clon = np.array([c.lon.scalar for c in sites])
    clat = np.array([c.lat.scalar for c in sites])
    n_clusters = len(ref.clusters)
    return Topology(
        region_ids=tuple(r.id for r in ref.regions),
        region_lon=rlon,
        region_lat=rlat,
        region_weight=rack_share_weights(ref, gdp) if metro and ref.rack_shares else gdp / gdp.sum(),
        region_hub=tuple(r.served_by for r in ref.regions),
        cluster_ids=tuple(c.id for c in sites),
        cluster_lon=clon,
        cluster_lat=clat,
        cluster_hub=tuple(c.hub for c in sites),
        cluster_west=np.array([ref.cluster_side(c) == "west" for c in sites]),
        cluster_servers=np.array([c.occupied_servers for c in sites], dtype=np.int64),
        rtt_ms=lm.rtt_by_path(rlon, rlat, clon, clat, direct_paths(ref, sites)),
        region_names=tuple(r.name_en for r in ref.regions),
        cluster_names=tuple(c.name_en for c in sites),
        cluster_built_servers=np.array([round(c.servers.scalar) for c in sites], dtype=np.int64),
        cluster_kind=tuple("cluster" if i < n_clusters else "metro" for i in range(len(sites))),
        cluster_occupancy_target=np.array([c.utilisation_target.scalar for c in sites]),
    )


def direct_paths(ref: Reference, sites: Sequence[Cluster]) -> NDArray[np.bool_]:
    """Regions x sites: True where a city of a hub reaches a national cluster over a direct link."""
    cluster_ids = {c.id for c in ref.clusters}
    has_hub = np.array([r.served_by is not None for r in ref.regions])
    is_cluster = np.array([c.id in cluster_ids for c in sites])
    return np.asarray(has_hub[:, None] & is_cluster[None, :], dtype=bool)


def rack_share_weights(ref: Reference, gdp: FloatArray) -> FloatArray:
    """City demand weights whose hub totals follow the reference's rack shares.

    Cities are grouped by serving hub (``central``: no hub). A listed group's
    total is its rack share, scaled so that the listed groups fill what the
    unlisted groups (kept at their GDP share) leave; inside a group the
    cities keep their GDP proportions.
    """
    w = np.asarray(gdp, dtype=float) / float(np.sum(gdp))
    group = [r.served_by or "central" for r in ref.regions]
    listed = {g for g in group if g in ref.rack_shares}
    if not listed:
        return w
    free = 1.0 - sum(w[i] for i, g in enumerate(group) if g not in listed)
    total_share = sum(ref.rack_shares[g].scalar for g in listed)
    out = w.copy()
    for g in listed:
        members = [i for i, x in enumerate(group) if x == g]
        gdp_g = w[members].sum()
        out[members] = w[members] / gdp_g * ref.rack_shares[g].scalar / total_share * free
    return np.asarray(out / out.sum(), dtype=float)


def custom_topology(
    region_ids: Sequence[str],
    region_weight: Sequence[float],
    cluster_ids: Sequence[str],
    cluster_servers: Sequence[int],
    cluster_west: Sequence[bool],
    rtt_ms: FloatArray,
    region_lonlat: Sequence[tuple[float, float]] | None = None,
    cluster_lonlat: Sequence[tuple[float, float]] | None = None,
    cluster_hub: Sequence[str] | None = None,
    region_hub: Sequence[str | None] | None = None,
) -> Topology:
    """A topology for any set of sites (coordinates optional when RTT is given)."""
    w = np.asarray(region_weight, dtype=float)
    nan_r = [(float("nan"), float("nan"))] * len(region_ids)
    nan_c = [(float("nan"), float("nan"))] * len(cluster_ids)
    rl = np.array(region_lonlat if region_lonlat is not None else nan_r, dtype=float).reshape(-1, 2)
    cl = np.array(cluster_lonlat if cluster_lonlat is not None else nan_c, dtype=float).reshape(-1, 2)
    return Topology(
        region_ids=tuple(region_ids),
        region_lon=rl[:, 0],
        region_lat=rl[:, 1],
        region_weight=w / w.sum(),
        region_hub=tuple(region_hub) if region_hub is not None else (None,) * len(region_ids),
        cluster_ids=tuple(cluster_ids),
        cluster_lon=cl[:, 0],
        cluster_lat=cl[:, 1],
        cluster_hub=tuple(cluster_hub) if cluster_hub is not None else tuple(cluster_ids),
        cluster_west=np.asarray(cluster_west, dtype=bool),
        cluster_servers=np.asarray(cluster_servers, dtype=np.int64),
        rtt_ms=np.asarray(rtt_ms, dtype=float),
        region_names=tuple(region_ids),
        cluster_names=tuple(cluster_ids),
    )
