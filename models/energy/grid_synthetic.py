"""A synthetic hourly grid carbon intensity: a daily solar dip plus noise, calibrated to an annual factor.

No public hourly carbon-intensity series for Chinese provinces with a clear
licence is available offline, so edwc ships a documented synthetic one. For
a site at (lon, lat) with an annual average factor F (kgCO2/kWh)::

    f(t) = k x (1 - dip x s(t)) x exp(sigma x z(t) - sigma^2 / 2)

- ``s(t)`` is the clear-sky irradiance at the site (the same NOAA + Haurwitz
  model as the solar supply, :mod:`models.energy.renewables`) over its maximum
  in the reference year: 0 at night, 1 at the sunniest noon. Solar output
  displaces thermal generation at midday, so intensity dips then.
- ``dip`` is the relative intensity drop at the sunniest noon (an engineering
  estimate, not a sourced figure).
- ``z(t)`` is an hourly AR(1) unit Gaussian (``persistence``): weather and
  dispatch noise that lasts for hours; ``exp(sigma z - sigma^2/2)`` has mean 1.
- ``k = F / mean(1 - dip x s)`` over the non-leap reference year, so the
  *expected* annual mean is exactly F.

Realised means over a finite run scatter around F (the noise, and the season:
summer days have a deeper, longer dip).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from models.clock import FloatArray, HourIndex, reference_year
from models.energy.renewables import clear_sky_ghi_w_m2, utc_days


@dataclass(frozen=True)
class SyntheticGridParams:
    """Shape of the synthetic series (engineering estimates)."""

    solar_dip: float = 0.35
    noise_sigma: float = 0.08
    persistence: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 <= self.solar_dip < 1.0:
            raise ValueError(f"solar_dip must be in [0, 1), got {self.solar_dip}")
        if not 0.0 <= self.noise_sigma <= 2.0:
            raise ValueError(f"noise_sigma must be in [0, 2], got {self.noise_sigma}")
        if not 0.0 <= self.persistence < 1.0:
            raise ValueError(f"persistence must be in [0, 1), got {self.persistence}")


def _solar_shape(idx: HourIndex, lon: float, lat: float) -> tuple[FloatArray, float]:
    """Clear-sky irradiance on ``idx`` over the reference-year maximum, and its reference-year mean."""
    ref = clear_sky_ghi_w_m2(utc_days(reference_year()), lon, lat)
    top = float(ref.max())
    if top <= 0:
        return np.zeros(idx.hours), 0.0
    return np.asarray(clear_sky_ghi_w_m2(utc_days(idx), lon, lat) / top, dtype=float), float(ref.mean() / top)


def synthetic_grid_kgco2_per_kwh(
    idx: HourIndex,
    annual_kgco2_per_kwh: float,
    lon: float,
    lat: float,
    rng: np.random.Generator,
    params: SyntheticGridParams | None = None,
) -> FloatArray:
    """The synthetic hourly average factor (kgCO2/kWh) on ``idx`` (see the module doc).

    Draws ``idx.hours`` standard normals from ``rng`` (also when the noise is 0,
    so that other sites' draws do not depend on it).
    """
    p = params or SyntheticGridParams()
    if not annual_kgco2_per_kwh >= 0:
        raise ValueError(f"annual factor must be >= 0, got {annual_kgco2_per_kwh}")
    shape, ref_mean = _solar_shape(idx, lon, lat)
    base = 1.0 - p.solar_dip * shape
    k = annual_kgco2_per_kwh / (1.0 - p.solar_dip * ref_mean)
    eps = rng.standard_normal(idx.hours)
    z = np.empty(idx.hours)
    phi = p.persistence
    innov = math.sqrt(1.0 - phi * phi)
    prev = 0.0
    for t in range(idx.hours):
        prev = eps[t] if t == 0 else phi * prev + innov * eps[t]
        z[t] = prev
    sigma = p.noise_sigma
    return np.asarray(k * base * np.exp(sigma * z - 0.5 * sigma**2), dtype=float)
