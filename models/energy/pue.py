"""PUE from cooling physics: a climate-driven cooling term plus fixed and proportional overhead.

Facility power of a site at IT load ``P`` (kW) and outdoor temperature ``T``::

    facility_kw = P * (1 + (1 - f) * e + s * cooling(T)) + f * e * P_design

- ``cooling(T)`` (:class:`CoolingModel`, the same physics at every site) is
  the cooling energy per unit of IT energy: fans and pumps ``aux`` always,
  plus mechanical cooling ``(1 - economiser(T)) / COP(T)``. The economiser
  (free cooling) carries the whole load at or below ``free_full_c`` and none
  above ``free_none_c`` (linear between); the chillers' COP falls linearly
  with outdoor temperature. Dry-bulb temperature is used (no humidity data).
- ``e`` is the site's non-cooling overhead at its design load (UPS and
  transformer losses, lighting, base fans), of which the share ``f`` is
  fixed (paid at any load, sized on the design IT load ``P_design``) and the
  rest proportional to IT power.
- ``s`` scales the cooling term; it is 1 (the generic design) unless the
  site's annual mean is too low to be reached with the generic cooling and
  the minimum overhead, when the site is taken to have better cooling.

:func:`calibrate_pue` solves ``e`` (and ``s`` if needed) so that the PUE at
design load, averaged over the site's reference year, equals the site's
annual mean. Because the climate enters only through ``cooling(T)``, which
never falls as ``T`` rises, two sites with the same design (``e``, ``s``)
are ordered by temperature: the colder one never has the higher PUE. At
partial load the fixed overhead is spread over less IT power, so PUE rises:
powering servers down saves their IT power and its proportional overhead,
never the fixed part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.clock import FloatArray

PUE_MIN = 1.0
PUE_MAX = 2.0


@dataclass(frozen=True)
class CoolingModel:
    """Generic cooling physics (engineering estimates, not sourced figures).

    Defaults describe a chilled-water plant with water-side economiser:
    full free cooling up to 10 degC outdoors, none above 18 degC; chiller COP
    6.0 at 20 degC falling 0.2 per degC, ~3 % per degC (floor 2.0); fans and pumps 0.04 kW
    per kW of IT.
    """

    aux: float = 0.04
    free_full_c: float = 10.0
    free_none_c: float = 18.0
    cop_ref: float = 6.0
    cop_ref_c: float = 20.0
    cop_slope_per_c: float = 0.2
    cop_min: float = 2.0

    def __post_init__(self) -> None:
        if not self.free_none_c > self.free_full_c:
            raise ValueError("free_none_c must be above free_full_c")
        if self.aux < 0 or self.cop_min <= 0 or self.cop_ref < self.cop_min or self.cop_slope_per_c < 0:
            raise ValueError("cooling parameters must be non-negative, with cop_ref >= cop_min > 0")

    def economiser(self, temp_c: FloatArray) -> FloatArray:
        """Share of the heat removed by free cooling (1 when cold, 0 when hot)."""
        t = np.asarray(temp_c, dtype=float)
        share = (self.free_none_c - t) / (self.free_none_c - self.free_full_c)
        return np.asarray(np.clip(share, 0.0, 1.0), dtype=float)

    def cop(self, temp_c: FloatArray) -> FloatArray:
        """Chiller coefficient of performance at outdoor temperature ``temp_c``."""
        t = np.asarray(temp_c, dtype=float)
        cop = self.cop_ref - self.cop_slope_per_c * (t - self.cop_ref_c)
        return np.asarray(np.clip(cop, self.cop_min, None), dtype=float)

    def cooling(self, temp_c: FloatArray) -> FloatArray:
        """Cooling energy per unit of IT energy: never decreasing in temperature."""
        mech = (1.0 - self.economiser(temp_c)) / self.cop(temp_c)
        return np.asarray(self.aux + mech, dtype=float)


@dataclass(frozen=True)
class PueModel:
    """Site-independent settings of the calibration (estimates).

    ``fixed_fraction``: share of the non-cooling overhead that is fixed.
    ``min_overhead``: the least non-cooling overhead a site can have.
    """

    cooling: CoolingModel = field(default_factory=CoolingModel)
    fixed_fraction: float = 0.5
    min_overhead: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 <= self.fixed_fraction <= 1.0:
            raise ValueError("fixed_fraction must be in [0, 1]")
        if self.min_overhead < 0:
            raise ValueError("min_overhead must be >= 0")


@dataclass(frozen=True)
class PueCurve:
    """A calibrated site: overhead ``e`` at design load, cooling scale ``s``, fixed share ``f``."""

    overhead: float
    cooling_scale: float
    fixed_fraction: float
    cooling: CoolingModel = field(default_factory=CoolingModel)

    def marginal(self, temp_c: FloatArray) -> FloatArray:
        """Facility kW per extra IT kW (the proportional part): what routing changes."""
        prop = 1.0 + (1.0 - self.fixed_fraction) * self.overhead
        return np.asarray(prop + self.cooling_scale * self.cooling.cooling(temp_c), dtype=float)

    @property
    def fixed_per_design_kw(self) -> float:
        """Fixed facility kW per kW of design IT load."""
        return self.fixed_fraction * self.overhead

    def pue(self, temp_c: FloatArray, load: FloatArray | float = 1.0) -> FloatArray:
        """PUE at ``temp_c`` and IT load ``load`` (a fraction of the design load, > 0)."""
        ld = np.asarray(load, dtype=float)
        if np.any(ld <= 0):
            raise ValueError("load must be positive")
        return np.asarray(self.marginal(temp_c) + self.fixed_per_design_kw / ld, dtype=float)


def calibrate_pue(year_temp_c: FloatArray, target_mean: float, model: PueModel | None = None) -> PueCurve:
    """The site curve whose mean design-load PUE over ``year_temp_c`` is ``target_mean``.

    The overhead is what the target leaves above the generic cooling; where
    that is below ``model.min_overhead``, the overhead is the minimum and the
    cooling is scaled down to fit. Raise ValueError if the target is outside
    [1.0, 2.0].
    """
    m = model or PueModel()
    if not PUE_MIN <= target_mean <= PUE_MAX:
        raise ValueError(f"target annual PUE {target_mean} outside [{PUE_MIN}, {PUE_MAX}]")
    mean_cool = float(m.cooling.cooling(np.asarray(year_temp_c, dtype=float)).mean())
    room = target_mean - 1.0
    overhead, scale = room - mean_cool, 1.0
    if overhead < m.min_overhead:
        overhead = min(m.min_overhead, room)
        scale = (room - overhead) / mean_cool if mean_cool > 0 else 0.0
    return PueCurve(
        overhead=overhead, cooling_scale=scale, fixed_fraction=m.fixed_fraction, cooling=m.cooling
    )
