"""Synthetic hourly solar and wind supply, and user-supplied green profiles.

Both generators are *synthetic*: they reproduce a site's daily solar geometry
and a province's annual full-load (utilisation) hours, not any real year.

- Solar: clear-sky GHI from the NOAA solar-position equations and the
  Haurwitz model, times a daily clearness index drawn from a Beta
  distribution, scaled so that the *expected* annual output per kW equals the
  province's ``solar_utilisation_hours`` (on the non-leap reference year).
- Wind: hourly speeds with a Weibull marginal and hourly persistence. Two
  independent AR(1) unit Gaussians X, Y give ``E = (X^2 + Y^2) / 2``, which is
  exactly Exp(1) at every hour; ``v = c * E**(1/k)`` is then Weibull(k, c). The
  scale ``c`` is solved so that the *expected* capacity factor through the
  power curve (cut-in 3, rated 12, cut-out 25 m/s, cubic between cut-in and
  rated) equals ``wind_utilisation_hours / 8760``.

Realised output over a finite run scatters around these expectations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from models.clock import HOURS_PER_YEAR, UTC_OFFSET_H, FloatArray, HourIndex, reference_year
from models.errors import InputError
from models.tables import check_rows, id_column, numeric_column, read_table, require_columns, seconds_since

HAURWITZ_A_W_M2 = 1098.0
HAURWITZ_B = 0.057


@dataclass(frozen=True)
class SolarParams:
    """Daily clearness index ~ Beta with this mean and concentration (a + b); estimates."""

    clearness_mean: float = 0.65
    clearness_concentration: float = 4.7


@dataclass(frozen=True)
class WindParams:
    """Weibull shape, hourly persistence of the Gaussian components and the power curve (m/s)."""

    weibull_shape: float = 2.0
    persistence: float = 0.97
    cut_in_ms: float = 3.0
    rated_ms: float = 12.0
    cut_out_ms: float = 25.0


# --------------------------------------------------------------------------- solar


def cos_zenith(t_utc_days: FloatArray, lon_deg: float, lat_deg: float) -> FloatArray:
    """Cosine of the solar zenith angle (NOAA general solar position equations).

    ``t_utc_days``: days since Jan 1 00:00 UTC of the year (fractional; periodic).
    """
    t = np.asarray(t_utc_days, dtype=float)
    g = 2.0 * np.pi / 365.0 * (t - 0.5)
    eqtime_min = 229.18 * (
        0.000075
        + 0.001868 * np.cos(g)
        - 0.032077 * np.sin(g)
        - 0.014615 * np.cos(2 * g)
        - 0.040849 * np.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * np.cos(g)
        + 0.070257 * np.sin(g)
        - 0.006758 * np.cos(2 * g)
        + 0.000907 * np.sin(2 * g)
        - 0.002697 * np.cos(3 * g)
        + 0.00148 * np.sin(3 * g)
    )
    utc_min = (t % 1.0) * 1440.0
    true_solar_min = utc_min + eqtime_min + 4.0 * lon_deg
    ha = np.radians(true_solar_min / 4.0 - 180.0)
    lat = math.radians(lat_deg)
    return np.asarray(math.sin(lat) * np.sin(decl) + math.cos(lat) * np.cos(decl) * np.cos(ha), dtype=float)


def clear_sky_ghi_w_m2(t_utc_days: FloatArray, lon_deg: float, lat_deg: float) -> FloatArray:
    """Haurwitz clear-sky global horizontal irradiance (W/m2); 0 when the sun is down."""
    cz = cos_zenith(t_utc_days, lon_deg, lat_deg)
    safe = np.where(cz > 0, cz, 1.0)
    return np.where(cz > 0, HAURWITZ_A_W_M2 * cz * np.exp(-HAURWITZ_B / safe), 0.0)


def utc_days(idx: HourIndex) -> FloatArray:
    """Each hour's midpoint as days since Jan 1 00:00 UTC of its (local) year."""
    return np.asarray(idx.doy_mid - 1.0 - UTC_OFFSET_H / 24.0, dtype=float)


def solar_kw_per_kw(
    idx: HourIndex,
    lon_deg: float,
    lat_deg: float,
    utilisation_hours: float,
    rng: np.random.Generator,
    params: SolarParams | None = None,
) -> FloatArray:
    """Synthetic solar output per kW of capacity; expected annual sum = ``utilisation_hours``.

    Draws one Beta clearness index per local day of the run (``idx.day``).
    """
    p = params or SolarParams()
    m, kappa = p.clearness_mean, p.clearness_concentration
    if not 0.0 < m < 1.0 or kappa <= 0:
        raise ValueError("clearness mean must be in (0, 1) and concentration > 0")
    n_days = int(idx.day.max()) + 1 if idx.hours else 0
    k_day = rng.beta(m * kappa, (1.0 - m) * kappa, n_days)
    ref_kwh_m2 = float(clear_sky_ghi_w_m2(utc_days(reference_year()), lon_deg, lat_deg).sum()) / 1000.0
    if utilisation_hours <= 0 or ref_kwh_m2 <= 0:
        return np.zeros(idx.hours)
    scale = utilisation_hours / (m * ref_kwh_m2)
    ghi_kw_m2 = clear_sky_ghi_w_m2(utc_days(idx), lon_deg, lat_deg) / 1000.0
    return np.asarray(scale * ghi_kw_m2 * k_day[idx.day], dtype=float)


# --------------------------------------------------------------------------- wind


def _ramp(v: FloatArray, w: WindParams) -> FloatArray:
    """The power curve between cut-in and rated speed: output grows with the cube of the speed."""
    return np.asarray((v**3 - w.cut_in_ms**3) / (w.rated_ms**3 - w.cut_in_ms**3), dtype=float)


def power_curve(speed_ms: FloatArray, p: WindParams | None = None) -> FloatArray:
    """Turbine output as a fraction of rated power at wind speed ``speed_ms``."""
    w = p or WindParams()
    v = np.asarray(speed_ms, dtype=float)
    out = np.where(v < w.cut_in_ms, 0.0, np.where(v < w.rated_ms, _ramp(v, w), 1.0))
    return np.asarray(np.where(v >= w.cut_out_ms, 0.0, out), dtype=float)


_U = (np.arange(20_000) + 0.5) / 20_000  # midpoint quadrature nodes on (0, 1)


@cache
def _unit_weibull(shape: float) -> FloatArray:
    """Weibull(shape, 1) quantiles at the quadrature nodes (read-only)."""
    q = (-np.log1p(-_U)) ** (1.0 / shape)
    q.setflags(write=False)
    return q


def expected_wind_cf(scale_ms: float, p: WindParams | None = None) -> float:
    """Expected capacity factor for Weibull(shape, ``scale_ms``) speeds (quadrature).

    The mean of :func:`power_curve` over the quadrature speeds. They are sorted, so the
    curve's pieces (zero, ramp, rated, zero) are slices: the ramp is computed on its own
    slice only, which gives the very array (and mean) the curve gives, at a third of the
    cost (the wind scale's bisection calls this 120 times per capacity factor).
    """
    w = p or WindParams()
    v = scale_ms * _unit_weibull(w.weibull_shape)
    if not (scale_ms > 0.0 and w.cut_in_ms <= w.rated_ms <= w.cut_out_ms):
        return float(power_curve(v, w).mean())
    i_in, i_rated, i_out = np.searchsorted(v, [w.cut_in_ms, w.rated_ms, w.cut_out_ms], side="left")
    out = np.zeros(v.size)
    out[i_in:i_rated] = _ramp(v[i_in:i_rated], w)
    out[i_rated:i_out] = 1.0
    return float(out.mean())


def weibull_scale_for(capacity_factor: float, p: WindParams | None = None) -> float:
    """Weibull scale (m/s) whose expected capacity factor is ``capacity_factor`` (bisection)."""
    return _weibull_scale_for(float(capacity_factor), p or WindParams())


@cache
def _weibull_scale_for(capacity_factor: float, w: WindParams) -> float:
    grid = np.linspace(0.5, 30.0, 60)
    cfs = np.array([expected_wind_cf(c, w) for c in grid])
    top = int(np.argmax(cfs))
    if not 0.0 < capacity_factor <= cfs[top]:
        raise ValueError(f"wind capacity factor {capacity_factor:.3f} outside (0, {cfs[top]:.3f}]")
    lo, hi = 0.01, float(grid[top])
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if expected_wind_cf(mid, w) < capacity_factor else (lo, mid)
    return 0.5 * (lo + hi)


def wind_speed_ms(
    hours: int, scale_ms: float, rng: np.random.Generator, p: WindParams | None = None
) -> FloatArray:
    """Hourly Weibull(shape, ``scale_ms``) speeds with AR(1) persistence; draws 2 x hours normals."""
    w = p or WindParams()
    phi = w.persistence
    if not 0.0 <= phi < 1.0:
        raise ValueError("wind persistence must be in [0, 1)")
    eps = rng.standard_normal((2, hours))
    z = np.empty((2, hours))
    innov = math.sqrt(1.0 - phi * phi)
    prev = eps[:, 0] if hours else np.zeros(2)
    for t in range(hours):
        prev = eps[:, t] if t == 0 else phi * prev + innov * eps[:, t]
        z[:, t] = prev
    expo = 0.5 * (z[0] ** 2 + z[1] ** 2)
    return np.asarray(scale_ms * expo ** (1.0 / w.weibull_shape), dtype=float)


def wind_kw_per_kw(
    hours: int, utilisation_hours: float, rng: np.random.Generator, params: WindParams | None = None
) -> FloatArray:
    """Synthetic wind output per kW of capacity; expected annual sum = ``utilisation_hours``."""
    w = params or WindParams()
    if utilisation_hours <= 0:
        rng.standard_normal((2, hours))  # keep the draw count independent of the figure
        return np.zeros(hours)
    scale = weibull_scale_for(utilisation_hours / HOURS_PER_YEAR, w)
    return power_curve(wind_speed_ms(hours, scale, rng, w), w)


# --------------------------------------------------------------------------- a site's green supply


def green_supply_kw(
    idx: HourIndex,
    *,
    lon_deg: float,
    lat_deg: float,
    green_share: float,
    solar_share_of_green: float,
    annual_energy_kwh: float,
    solar_utilisation_hours: float,
    wind_utilisation_hours: float,
    rng: np.random.Generator,
    solar: SolarParams | None = None,
    wind: WindParams | None = None,
) -> FloatArray:
    """Contracted green supply (kW): ``green_share x annual_energy_kwh`` a year, in expectation.

    Split into solar (``solar_share_of_green``) and wind; each technology's
    capacity is sized from its utilisation hours. Always draws the solar
    clearness days, then the wind normals, so other sites' draws do not
    depend on this site's shares.
    """
    s_kw = solar_kw_per_kw(idx, lon_deg, lat_deg, solar_utilisation_hours, rng, solar)
    w_kw = wind_kw_per_kw(idx.hours, wind_utilisation_hours, rng, wind)
    green_kwh = green_share * annual_energy_kwh
    out = np.zeros(idx.hours)
    for share, flh, prof, name in (
        (solar_share_of_green, solar_utilisation_hours, s_kw, "solar"),
        (1.0 - solar_share_of_green, wind_utilisation_hours, w_kw, "wind"),
    ):
        if share * green_kwh <= 0:
            continue
        if flh <= 0:
            raise ValueError(f"{name} share of green supply is {share:g} but its utilisation hours are 0")
        out += share * green_kwh / flh * prof
    return out


# --------------------------------------------------------------------------- user profiles


def load_green_profiles(path: str | Path, cluster_ids: list[str], start: datetime, hours: int) -> FloatArray:
    """Read user hourly green supply (columns ``hour`` or ``time``, ``cluster``, ``green_kw``).

    ``hour`` counts hours from ``start``; ``time`` is an ISO time (naive means
    Asia/Shanghai) on a whole hour of the run. Returns (clusters, hours) kW;
    clusters absent from the file are NaN (callers keep their synthetic
    supply). Rows outside the run are ignored; a listed cluster must cover
    every hour exactly once. Bad rows raise InputError naming them.
    """
    df = read_table(path, str_columns=("cluster",))
    time_col = "hour" if "hour" in df.columns else "time"
    require_columns(df, path, [time_col, "cluster", "green_kw"])
    h = numeric_column(df, "hour") if time_col == "hour" else seconds_since(df, "time", start) / 3600.0
    check_rows(path, ~np.isfinite(h), f"'{time_col}' is missing or not a time")
    check_rows(path, h != np.floor(h), "time is not on a whole hour of the run")
    kw = numeric_column(df, "green_kw")
    check_rows(path, ~np.isfinite(kw) | (kw < 0), "'green_kw' must be a number >= 0")
    c = id_column(df, path, "cluster", cluster_ids)
    out = np.full((len(cluster_ids), hours), np.nan)
    inside = (h >= 0) & (h < hours)
    hi = h.astype(np.int64)
    dup = np.asarray(pd.DataFrame({"c": c, "h": np.where(inside, hi, -1)}).duplicated()) & inside
    check_rows(path, dup, "duplicate (cluster, hour)")
    out[c[inside], hi[inside]] = kw[inside]
    listed = np.unique(c)
    gaps = [cluster_ids[i] for i in listed if np.isnan(out[i]).any()]
    if gaps:
        raise InputError(
            str(path), "", f"cluster(s) {gaps} do not cover every hour 0..{hours - 1} of the run"
        )
    return cast(FloatArray, out)
