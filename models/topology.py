"""Sites and the network between them: demand regions, clusters, hubs, RTT.

A :class:`Topology` is the array form every other part of edwc works on:
``R`` demand regions and ``C`` clusters, with an ``R x C`` round-trip-time
matrix in milliseconds. It is built from the reference data
(:func:`national_topology`) or from any user-supplied set of sites
(:func:`custom_topology`), so edwc works for any geography.

Latency model (DESIGN.md): great-circle distance x route factor over fibre,
both ways, plus a fixed per-path overhead::

    rtt_ms = 2 * d_km * route_factor * fibre_us_per_km / 1000 + overhead_ms
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from models.reference import Reference

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
    """Parameters of the distance-based RTT model."""

    route_factor: float = 1.5
    fibre_us_per_km: float = 4.9
    overhead_ms: float = 2.0

    def rtt_ms(self, lon1: FloatArray, lat1: FloatArray, lon2: FloatArray, lat2: FloatArray) -> FloatArray:
        """RTT matrix between points 1 (rows) and points 2 (columns)."""
        d = haversine_km(lon1[:, None], lat1[:, None], lon2[None, :], lat2[None, :])
        return rtt_ms_from_km(d, self.route_factor, self.fibre_us_per_km, self.overhead_ms)


@dataclass(frozen=True)
class Topology:
    """Regions x clusters, as arrays indexed by position.

    Attributes ending in ``_ids`` give the identifiers; every other array is
    aligned with them. ``cluster_west`` is True for clusters of western hubs.
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
    cluster_servers: IntArray  # real servers
    rtt_ms: FloatArray  # (R, C)
    region_names: tuple[str, ...] = field(default=())
    cluster_names: tuple[str, ...] = field(default=())

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

    def side(self, cluster: int) -> str:
        return "west" if self.cluster_west[cluster] else "east"


def latency_model_from_reference(ref: Reference) -> LatencyModel:
    lat = ref.latency
    return LatencyModel(
        route_factor=lat.route_factor.scalar,
        fibre_us_per_km=lat.fibre_us_per_km.scalar,
        overhead_ms=lat.overhead_ms.scalar,
    )


def national_topology(ref: Reference, latency: LatencyModel | None = None) -> Topology:
    """The 23 demand cities and 10 national clusters of the reference data.

    Region demand weights are each city's share of the cities' total GDP
    (the reference data's default rule; GDP is a proxy for compute demand).
    """
    lm = latency or latency_model_from_reference(ref)
    rlon = np.array([r.lon.scalar for r in ref.regions])
    rlat = np.array([r.lat.scalar for r in ref.regions])
    gdp = np.array([r.gdp_100m_cny.scalar for r in ref.regions])
    clon = np.array([c.lon.scalar for c in ref.clusters])
    clat = np.array([c.lat.scalar for c in ref.clusters])
    return Topology(
        region_ids=tuple(r.id for r in ref.regions),
        region_lon=rlon,
        region_lat=rlat,
        region_weight=gdp / gdp.sum(),
        region_hub=tuple(r.served_by for r in ref.regions),
        cluster_ids=tuple(c.id for c in ref.clusters),
        cluster_lon=clon,
        cluster_lat=clat,
        cluster_hub=tuple(c.hub for c in ref.clusters),
        cluster_west=np.array([ref.cluster_side(c) == "west" for c in ref.clusters]),
        cluster_servers=np.array([round(c.servers.scalar) for c in ref.clusters], dtype=np.int64),
        rtt_ms=lm.rtt_ms(rlon, rlat, clon, clat),
        region_names=tuple(r.name_en for r in ref.regions),
        cluster_names=tuple(c.name_en for c in ref.clusters),
    )


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
