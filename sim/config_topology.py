"""The topology part of the scenario config: inline sites, overrides, added sites.

Re-exported by :mod:`sim.config` (``from sim.config import InlineTopology`` keeps working).
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from sim.config_base import Fraction, Ident, NonNegFloat, PosFloat
from sim.config_base import Strict as _Strict

__all__ = [
    "ClusterOverride",
    "InlineCluster",
    "InlineRegion",
    "InlineTopology",
    "NewSite",
    "Overrides",
    "RegionOverride",
    "Servers",
]

# a cluster of more than 100 M servers is a typo (the 10 national clusters hold ~7 M together)
Servers = Annotated[int, Field(gt=0, le=100_000_000)]


# --------------------------------------------------------------------------- topology


class _Site(_Strict):
    id: Ident
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)


class InlineRegion(_Site):
    """A demand region of an inline topology."""

    weight: PosFloat = 1.0
    hub: Ident | None = None


class InlineCluster(_Site):
    """A cluster of an inline topology, with flat energy parameters.

    ``servers`` is the built capacity; ``occupancy`` (上架率, default 1) the
    share of it that is occupied and can be powered and used.
    """

    servers: Servers
    occupancy: Annotated[float, Field(gt=0, le=1)] = 1.0
    side: Literal["east", "west"] = "east"
    hub: Ident | None = None
    pue: Annotated[float, Field(ge=1.0, le=3.0)] = 1.3
    tariff_cny_per_kwh: NonNegFloat = 0.6
    grid_kgco2_per_kwh: Annotated[float, Field(ge=0, le=2)] = 0.55
    marginal_kgco2_per_kwh: Annotated[float, Field(ge=0, le=2)] | None = None
    green_share: Fraction = 0.0
    capex_cny_per_server_year: NonNegFloat | None = None  # expansion: annualised cost of a new server
    max_new_servers: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None  # expansion limit
    gpu_share: Fraction = 0.0


class InlineTopology(_Strict):
    """Any set of sites: regions, clusters and optionally a measured RTT matrix.

    ``latency_ms`` maps region id -> cluster id -> RTT in ms and must cover
    every pair; without it every site needs ``lon`` and ``lat``.
    """

    regions: Annotated[list[InlineRegion], Field(min_length=1)]
    clusters: Annotated[list[InlineCluster], Field(min_length=1)]
    latency_ms: dict[str, dict[str, NonNegFloat]] | None = None
    route_factor: Annotated[float, Field(ge=1, le=5)] = 1.5
    fibre_us_per_km: Annotated[float, Field(ge=3, le=6)] = 4.9
    overhead_ms: NonNegFloat = 2.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        sites: tuple[tuple[str, list[_Site]], ...] = (
            ("regions", list(self.regions)),
            ("clusters", list(self.clusters)),
        )
        for what, items in sites:
            ids = [x.id for x in items]
            dup = sorted({x for x in ids if ids.count(x) > 1})
            if dup:
                raise ValueError(f"duplicate {what} ids: {dup}")
        if self.latency_ms is None:
            missing = [x.id for x in [*self.regions, *self.clusters] if x.lon is None or x.lat is None]
            if missing:
                raise ValueError(
                    f"sites {missing[:5]} have no lon/lat; give coordinates or a latency_ms matrix"
                )
        else:
            r_ids = [r.id for r in self.regions]
            c_ids = {c.id for c in self.clusters}
            for rid in self.latency_ms:
                if rid not in r_ids:
                    raise ValueError(f"latency_ms names unknown region '{rid}'")
            for rid in r_ids:
                row = self.latency_ms.get(rid)
                if row is None:
                    raise ValueError(f"latency_ms has no row for region '{rid}'")
                unknown = set(row) - c_ids
                if unknown:
                    raise ValueError(f"latency_ms['{rid}'] names unknown clusters {sorted(unknown)}")
                absent = c_ids - set(row)
                if absent:
                    raise ValueError(f"latency_ms['{rid}'] lacks clusters {sorted(absent)}")
        return self


class ClusterOverride(_Strict):
    """Changes to one cluster of the topology.

    ``servers`` replaces the built capacity and ``occupancy`` the 上架率 (share
    of built servers that is occupied): the run can power and use
    ``round(servers x occupancy)`` servers.
    """

    enabled: bool = True
    servers: Servers | None = None
    occupancy: Annotated[float, Field(gt=0, le=1)] | None = None
    gpu_share: Fraction | None = None
    pue: Annotated[float, Field(ge=1.0, le=3.0)] | None = None
    tariff_cny_per_kwh: NonNegFloat | None = None
    grid_kgco2_per_kwh: Annotated[float, Field(ge=0, le=2)] | None = None
    marginal_kgco2_per_kwh: Annotated[float, Field(ge=0, le=2)] | None = None
    green_share: Fraction | None = None
    temp_offset_c: Annotated[float, Field(ge=-30, le=30)] | None = None


class NewSite(_Strict):
    """A site added to the topology: like an existing one, at its own place.

    It copies the ``like`` site's hub, side, climate (PUE), tariff, grid factor,
    green and GPU shares; ``lon``/``lat`` (default: the ``like`` site's) set its
    RTTs (an inline topology with a ``latency_ms`` matrix copies the ``like``
    column instead); ``servers`` is its built capacity, ``occupancy`` its 上架率
    (default 1: a new site is built to be used). ``overrides.clusters`` may
    change it further by its id.
    """

    like: Ident
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    servers: Servers
    occupancy: Annotated[float, Field(gt=0, le=1)] = 1.0


class RegionOverride(_Strict):
    """Changes to one demand region."""

    weight: NonNegFloat | None = None


class Overrides(_Strict):
    """Per-cluster and per-region changes; ``demand_scale`` multiplies every workload's rate.

    ``new_sites`` adds sites to the topology (:class:`NewSite`), before ``clusters``
    changes apply.
    """

    new_sites: dict[Ident, NewSite] = Field(default_factory=dict)
    clusters: dict[str, ClusterOverride] = Field(default_factory=dict)
    regions: dict[str, RegionOverride] = Field(default_factory=dict)
    demand_scale: Annotated[float, Field(ge=0, le=1000)] = 1.0
