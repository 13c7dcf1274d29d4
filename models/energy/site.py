"""Energy: server power, PUE, tariffs, grid carbon and green supply per site-hour.

:class:`SiteEnergy` holds, for each cluster and each hour of the run, the
inputs the accounting and the planner need. :func:`it_power_kw` and
:func:`account` are the accounting rules of DESIGN.md:

- IT power = servers x (idle + (peak - idle) x utilisation)
- facility power = IT power x marginal PUE + fixed facility power
  (:mod:`models.energy.pue`: the fixed part does not follow the load)
- cost = facility energy x tariff of the hour
- carbon = max(facility energy - green supply, 0) x grid factor, where the
  factor is the hour's average (residual mix where green power is contracted,
  :mod:`models.energy.carbon`) and, when given, also the marginal factor

:func:`build_site_energy` assembles the hourly arrays from per-site
parameters (:class:`SiteParams`) with the weather, PUE, tariff and
renewables models; :func:`site_params_from_reference` fills the parameters
from the ``seeds/`` reference data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from models.clock import HOURS_PER_YEAR, hour_index, reference_year
from models.energy.pue import PueModel, calibrate_pue
from models.energy.renewables import SolarParams, WindParams, green_supply_kw
from models.energy.tariffs import TouSeason, TouTariff, hourly_grid_kgco2_per_kwh
from models.energy.weather import temperature_on

if TYPE_CHECKING:
    from models.reference import Cluster, Reference

FloatArray = NDArray[np.float64]


def it_power_kw(
    powered: FloatArray | float,
    busy: FloatArray | float,
    idle_w: FloatArray | float,
    peak_w: FloatArray | float,
) -> FloatArray:
    """IT power (kW) of ``powered`` servers of which ``busy`` are busy: the one power law of edwc.

    Every powered server draws ``idle_w``; a busy one draws ``peak_w``, so
    power = powered x idle + busy x (peak - idle), i.e. per server
    idle + (peak - idle) x utilisation. Arrays broadcast. Linear in both
    arguments: ``it_power_kw(1, 0, ...)`` and ``it_power_kw(0, 1, ...)`` are the
    LP's per-server coefficients.
    """
    return np.asarray((np.asarray(powered) * idle_w + np.asarray(busy) * (peak_w - idle_w)) / 1000.0)


@dataclass(frozen=True)
class ServerPower:
    """Power draw of one real server (W) at idle and at full load."""

    idle_w: float = 200.0
    peak_w: float = 500.0

    def blend(self, other: ServerPower, share: float) -> ServerPower:
        """The average server of a fleet with ``share`` of ``other`` servers (e.g. GPU servers)."""
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be in [0, 1], got {share}")
        return ServerPower(
            idle_w=(1.0 - share) * self.idle_w + share * other.idle_w,
            peak_w=(1.0 - share) * self.peak_w + share * other.peak_w,
        )

    def it_kw(self, servers: FloatArray | float, busy: FloatArray | float) -> FloatArray:
        """IT power in kW of ``servers`` powered servers of which ``busy`` are busy (:func:`it_power_kw`)."""
        return it_power_kw(servers, busy, self.idle_w, self.peak_w)

    @property
    def busy_kw(self) -> float:
        """What one server adds to IT power when busy rather than idle (kW)."""
        return float(self.it_kw(0.0, 1.0))


@dataclass(frozen=True)
class SiteEnergy:
    """Hourly energy inputs, each an array of shape (clusters, hours).

    ``grid_kgco2_per_kwh`` is the factor that multiplies net grid draw in the
    average accounting (the residual mix on clusters with contracted green
    power); ``marginal_kgco2_per_kwh`` the marginal factor, or None when the
    scenario gives none.
    ``pue`` is the marginal PUE: facility kW per IT kW of load, the part that
    follows the servers. ``fixed_kw`` (default none) is the facility power
    paid whatever the load (part of the site's overhead at design load).
    """

    pue: FloatArray
    tariff_cny_per_kwh: FloatArray
    grid_kgco2_per_kwh: FloatArray
    green_kw: FloatArray
    marginal_kgco2_per_kwh: FloatArray | None = None
    fixed_kw: FloatArray | None = None

    def __post_init__(self) -> None:
        arrays = [self.pue, self.tariff_cny_per_kwh, self.grid_kgco2_per_kwh, self.green_kw]
        if self.marginal_kgco2_per_kwh is not None:
            arrays.append(self.marginal_kgco2_per_kwh)
        if self.fixed_kw is not None:
            arrays.append(self.fixed_kw)
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"SiteEnergy arrays disagree in shape: {shapes}")

    @property
    def fixed(self) -> FloatArray:
        """Fixed facility power (kW) per cluster and hour (zeros where none)."""
        return self.fixed_kw if self.fixed_kw is not None else np.zeros_like(self.pue)

    def effective_pue(self, it_kw: FloatArray, cluster: int, hours: FloatArray) -> FloatArray:
        """Facility / IT power of ``cluster`` at IT power ``it_kw`` in the given hours."""
        it = np.asarray(it_kw, dtype=float)
        fixed = self.fixed[cluster, hours]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(it > 0, self.pue[cluster, hours] + fixed / np.where(it > 0, it, 1.0), np.nan)
        return np.asarray(out, dtype=float)

    @property
    def n_hours(self) -> int:
        return int(self.pue.shape[1])

    def carbon_kgco2_per_kwh(self, signal: str = "average") -> FloatArray:
        """The (clusters, hours) factor of ``signal`` (``average`` or ``marginal``).

        Raises ValueError for ``marginal`` when the scenario gives no marginal factor.
        """
        if signal == "average":
            return self.grid_kgco2_per_kwh
        if signal == "marginal":
            if self.marginal_kgco2_per_kwh is None:
                raise ValueError("no marginal carbon factor is given")
            return self.marginal_kgco2_per_kwh
        raise ValueError(f"carbon signal must be 'average' or 'marginal', got {signal!r}")

    @classmethod
    def flat(
        cls,
        hours: int,
        pue: FloatArray,
        tariff: FloatArray,
        grid: FloatArray,
        green_kw: FloatArray | None = None,
    ) -> SiteEnergy:
        """Constant-in-time inputs (one value per cluster)."""

        def rep(x: FloatArray) -> FloatArray:
            return np.repeat(np.asarray(x, dtype=float)[:, None], hours, axis=1)

        g = green_kw if green_kw is not None else np.zeros(len(pue))
        return cls(
            pue=rep(pue), tariff_cny_per_kwh=rep(tariff), grid_kgco2_per_kwh=rep(grid), green_kw=rep(g)
        )


@dataclass(frozen=True)
class EnergyTotals:
    """Energy, cost and carbon of one accounting period."""

    it_kwh: FloatArray
    facility_kwh: FloatArray
    grid_kwh: FloatArray
    cost_cny: FloatArray
    tco2: FloatArray
    tco2_marginal: FloatArray | None = None


def account(
    it_kwh: FloatArray,
    pue: FloatArray,
    tariff: FloatArray,
    grid_factor: FloatArray,
    green_kwh: FloatArray,
    marginal_factor: FloatArray | None = None,
    fixed_kwh: FloatArray | float = 0.0,
) -> EnergyTotals:
    """Apply marginal PUE plus fixed facility energy, tariff and grid carbon to IT energy.

    All arrays broadcast: facility = IT x pue + fixed. Net grid draw times
    ``grid_factor`` gives ``tco2``; times ``marginal_factor`` (if given)
    ``tco2_marginal``.
    """
    facility = np.asarray(it_kwh * pue + fixed_kwh)
    grid = np.maximum(facility - green_kwh, 0.0)
    return EnergyTotals(
        it_kwh=np.asarray(it_kwh),
        facility_kwh=facility,
        grid_kwh=grid,
        cost_cny=np.asarray(facility * tariff),
        tco2=np.asarray(grid * grid_factor / 1000.0),
        tco2_marginal=None if marginal_factor is None else np.asarray(grid * marginal_factor / 1000.0),
    )


@dataclass(frozen=True)
class SiteParams:
    """Everything the hourly energy model needs about one cluster.

    ``temp_offset_c`` shifts the run's temperatures (not the calibration year).
    ``mean_it_kw`` is the expected mean IT load: the design load on which the
    fixed facility overhead is sized (:mod:`models.energy.pue`), and the size of the
    contracted green supply: ``green_share x mean_it_kw x pue_annual_mean x
    8760`` kWh a year, split ``solar_share_of_green`` : rest into solar and
    wind. ``grid_shape_24`` optionally shapes the grid factor over the day
    (rescaled to mean 1).
    """

    temp_monthly_c: tuple[float, ...]
    temp_diurnal_swing_c: float
    pue_annual_mean: float
    tariff: TouTariff
    grid_kgco2_per_kwh: float
    lon: float
    lat: float
    green_share: float = 0.0
    solar_share_of_green: float = 0.5
    solar_utilisation_hours: float = 0.0
    wind_utilisation_hours: float = 0.0
    mean_it_kw: float = 0.0
    grid_shape_24: tuple[float, ...] | None = None
    temp_offset_c: float = 0.0


def build_site_energy(
    sites: Sequence[SiteParams],
    start: datetime,
    hours: int,
    rng: np.random.Generator,
    *,
    pue_model: PueModel | None = None,
    solar: SolarParams | None = None,
    wind: WindParams | None = None,
    green_override_kw: FloatArray | None = None,
) -> SiteEnergy:
    """Hourly PUE, tariff, grid factor and green supply for ``sites`` over ``hours`` from ``start``.

    PUE follows the site's synthetic hourly temperature through a curve
    calibrated on the reference year to ``pue_annual_mean`` at the design load
    ``mean_it_kw`` (:func:`models.energy.pue.calibrate_pue`): ``pue`` holds the
    marginal PUE and ``fixed_kw`` the fixed overhead. Random draws:
    for each site in order, its solar clearness days then its wind normals
    (see :func:`models.energy.renewables.green_supply_kw`). Rows of
    ``green_override_kw`` (clusters, hours) that hold no NaN replace the
    synthetic green supply of that site (the draws are made regardless).
    """
    idx = hour_index(start, hours)
    ref_year = reference_year()
    n = len(sites)
    pue = np.empty((n, hours))
    tariff = np.empty((n, hours))
    grid = np.empty((n, hours))
    green = np.empty((n, hours))
    fixed = np.empty((n, hours))
    for i, s in enumerate(sites):
        curve = calibrate_pue(
            temperature_on(ref_year, s.temp_monthly_c, s.temp_diurnal_swing_c), s.pue_annual_mean, pue_model
        )
        # the curve is calibrated on the site's normal climate; an offset (a heat
        # wave, a warmer year) then raises PUE through the same curve
        pue[i] = curve.marginal(
            temperature_on(idx, s.temp_monthly_c, s.temp_diurnal_swing_c) + s.temp_offset_c
        )
        fixed[i] = curve.fixed_per_design_kw * s.mean_it_kw
        tariff[i] = s.tariff.on(idx)
        grid[i] = hourly_grid_kgco2_per_kwh(idx, s.grid_kgco2_per_kwh, s.grid_shape_24)
        green[i] = green_supply_kw(
            idx,
            lon_deg=s.lon,
            lat_deg=s.lat,
            green_share=s.green_share,
            solar_share_of_green=s.solar_share_of_green,
            annual_energy_kwh=s.mean_it_kw * s.pue_annual_mean * HOURS_PER_YEAR,
            solar_utilisation_hours=s.solar_utilisation_hours,
            wind_utilisation_hours=s.wind_utilisation_hours,
            rng=rng,
            solar=solar,
            wind=wind,
        )
    if green_override_kw is not None:
        over = np.asarray(green_override_kw, dtype=float)
        if over.shape != (n, hours):
            raise ValueError(f"green override has shape {over.shape}, expected {(n, hours)}")
        given = ~np.isnan(over).any(axis=1)
        green[given] = over[given]
    return SiteEnergy(
        pue=pue, tariff_cny_per_kwh=tariff, grid_kgco2_per_kwh=grid, green_kw=green, fixed_kw=fixed
    )


def site_params_from_reference(
    ref: Reference,
    cluster: str | Cluster,
    mean_it_kw: float | None = None,
    *,
    power: ServerPower | None = None,
    use_dc_tariff: bool = False,
) -> SiteParams:
    """:class:`SiteParams` of a reference cluster (by id or object).

    ``mean_it_kw`` defaults to the cluster's servers at its utilisation target
    drawing ``power`` (default :class:`ServerPower`). With ``use_dc_tariff`` and
    a province data-centre price, all three TOU prices are scaled by
    ``dc_flat / flat``.
    """
    sites = [*ref.clusters, *ref.metro_dcs]
    c = next(x for x in sites if x.id == cluster) if isinstance(cluster, str) else cluster
    pr = ref.provinces[c.province]
    if mean_it_kw is None:
        servers = float(c.occupied_servers)
        mean_it_kw = float((power or ServerPower()).it_kw(servers, servers * c.utilisation_target.scalar))
    flat = pr.tariff_flat_cny_per_kwh.scalar
    scale = 1.0
    if use_dc_tariff and pr.dc_tariff_flat_cny_per_kwh is not None:
        scale = pr.dc_tariff_flat_cny_per_kwh.scalar / flat
    tariff = TouTariff(
        flat_cny_per_kwh=flat * scale,
        peak_cny_per_kwh=pr.tariff_peak_cny_per_kwh.scalar * scale,
        valley_cny_per_kwh=pr.tariff_valley_cny_per_kwh.scalar * scale,
        peak_hours=tuple(int(h) for h in pr.tou_peak_hours.values),
        valley_hours=tuple(int(h) for h in pr.tou_valley_hours.values),
        seasons=tuple(
            TouSeason(tuple(ss.months), tuple(ss.peak_hours), tuple(ss.valley_hours)) for ss in pr.tou_seasons
        ),
    )
    return SiteParams(
        temp_monthly_c=tuple(c.temp_monthly_c.values),
        temp_diurnal_swing_c=c.temp_diurnal_swing_c.scalar,
        pue_annual_mean=c.pue_annual_mean.scalar,
        tariff=tariff,
        grid_kgco2_per_kwh=pr.grid_kgco2_per_kwh.scalar,
        lon=c.lon.scalar,
        lat=c.lat.scalar,
        green_share=c.green_share.scalar,
        solar_share_of_green=c.solar_share_of_green.scalar,
        solar_utilisation_hours=pr.solar_utilisation_hours.scalar,
        wind_utilisation_hours=pr.wind_utilisation_hours.scalar,
        mean_it_kw=mean_it_kw,
    )
