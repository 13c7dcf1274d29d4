"""The schema of the reference data set in ``seeds/``: pydantic models (loading: :mod:`models.reference`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Side = Literal["east", "west"]
Grade = Literal["A", "B", "C", "D", "E"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """A document a figure comes from."""

    id: str
    title: str
    publisher: str | None = None
    year: int | None = None
    grade: Grade
    url: str | None = None
    url_note: str | None = None
    note: str | None = None


class Figure(_Strict):
    """One sourced number (or list of numbers)."""

    value: float | list[float]
    unit: str
    year: int | None = None
    source: str
    estimate: bool = False
    note: str | None = None
    qualifier: str | None = None

    @property
    def scalar(self) -> float:
        if isinstance(self.value, list):
            raise TypeError("figure holds a list, not a scalar")
        return float(self.value)

    @property
    def values(self) -> list[float]:
        if not isinstance(self.value, list):
            raise TypeError("figure holds a scalar, not a list")
        return [float(v) for v in self.value]


class Hub(_Strict):
    id: str
    name_zh: str
    name_en: str
    side: Side
    provinces: list[str]
    role: str | None = None
    source: str


class Cluster(_Strict):
    """A data-centre site: a national cluster (``clusters.yaml``) or an existing
    eastern metro area (``metro_dcs.yaml``).

    ``servers`` is the built capacity, ``occupancy`` the 上架率 (share of built
    servers that is occupied); :attr:`occupied_servers` is what a run can use.
    """

    id: str
    name_zh: str
    name_en: str
    hub: str
    province: str
    lon: Figure
    lat: Figure
    pue_max: Figure
    utilisation_target: Figure
    servers: Figure
    occupancy: Figure
    pue_annual_mean: Figure
    gpu_share: Figure | None = None
    temp_monthly_c: Figure
    temp_diurnal_swing_c: Figure
    green_share: Figure
    solar_share_of_green: Figure
    note: str | None = None

    @property
    def occupied_servers(self) -> int:
        """Built servers x occupancy, rounded: the servers a run can power and use."""
        return round(self.servers.scalar * self.occupancy.scalar)


class TouSeasonSeed(_Strict):
    """Peak and valley clock hours of a provincial TOU rule in some months (1-12)."""

    months: list[int]
    peak_hours: list[int]
    valley_hours: list[int]
    year: int | None = None
    source: str
    estimate: bool = False
    note: str | None = None


class Province(_Strict):
    id: str
    name_zh: str
    name_en: str | None = None
    grid_region: Literal[
        "north_china", "northeast", "east_china", "central_china", "northwest", "south", "southwest"
    ]
    grid_kgco2_per_kwh: Figure
    tariff_flat_cny_per_kwh: Figure
    tariff_peak_cny_per_kwh: Figure
    tariff_valley_cny_per_kwh: Figure
    tou_peak_hours: Figure
    tou_valley_hours: Figure
    solar_utilisation_hours: Figure
    wind_utilisation_hours: Figure
    tariff_grid_area: str | None = None
    tou_seasons: list[TouSeasonSeed] = Field(default_factory=list)
    dc_tariff_flat_cny_per_kwh: Figure | None = None
    note: str | None = None


class Region(_Strict):
    id: str
    name_zh: str
    name_en: str
    province: str
    lon: Figure
    lat: Figure
    gdp_100m_cny: Figure
    served_by: str | None = None
    note: str | None = None


class LatencyCheck(_Strict):
    region: str
    cluster: str
    value_ms: float
    kind: Literal["rtt", "one_way"]
    source: str
    note: str | None = None
    qualifier: str | None = None


class LatencyParams(_Strict):
    route_factor: Figure
    fibre_us_per_km: Figure
    overhead_ms: Figure
    bandwidth_cny_per_gb: Figure | None = None
    internet_route_factor: Figure | None = None
    access_ms: Figure | None = None
    checks: list[LatencyCheck] = Field(default_factory=list)


class WorkloadDefault(_Strict):
    name: str
    kind: Literal["latency", "batch"]
    name_zh: str | None = None
    description: str | None = None
    slo_ms: Figure | None = None
    deadline_h: Figure | None = None
    data_gb_mean: Figure | None = None
    service_s_mean: Figure
    share_of_load: Figure
    diurnal: Literal["daytime", "evening", "night", "flat"] = "flat"
    server_type: Literal["cpu", "gpu"] = "cpu"
    note: str | None = None


class GridCarbon(_Strict):
    """National grid CO2 factors: the average and the residual mix (net of market-traded green power)."""

    average_kgco2_per_kwh: Figure
    residual_kgco2_per_kwh: Figure

    @property
    def residual_ratio(self) -> float:
        """Residual over average factor (> 1: contracted green power leaves a dirtier rest)."""
        return self.residual_kgco2_per_kwh.scalar / self.average_kgco2_per_kwh.scalar


class Reference(_Strict):
    """The whole validated reference data set."""

    sources: dict[str, Source]
    hubs: list[Hub]
    clusters: list[Cluster]
    provinces: dict[str, Province]
    regions: list[Region]
    latency: LatencyParams
    workloads: list[WorkloadDefault]
    grid_carbon: GridCarbon
    directory: str
    metro_dcs: list[Cluster] = Field(default_factory=list)
    rack_shares: dict[str, Figure] = Field(default_factory=dict)
    national_targets: dict[str, Figure] = Field(default_factory=dict)

    def hub(self, hub_id: str) -> Hub:
        return next(h for h in self.hubs if h.id == hub_id)

    def cluster_side(self, cluster: Cluster) -> Side:
        return self.hub(cluster.hub).side

    def source_of(self, fig: Figure) -> Source:
        return self.sources[fig.source]
