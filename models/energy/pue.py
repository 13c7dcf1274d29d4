"""PUE as a function of outdoor temperature, calibrated to an annual mean.

Model: ``PUE(T) = clip(floor + slope * max(T - threshold, 0), 1.0, 2.0)``:
free cooling keeps PUE at its floor up to the threshold, above which chillers
add overhead linearly. The floor and threshold are generic engineering
estimates (parameters of :class:`PueModel`); the slope is solved per site by
bisection so that the mean PUE over the site's synthetic reference year
(:func:`models.clock.reference_year`) equals its target annual mean. Where the
target is at or below the floor, or the site is never above the threshold,
the slope is 0 and the floor is set to the target instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.clock import FloatArray

PUE_MIN = 1.0
PUE_MAX = 2.0


@dataclass(frozen=True)
class PueModel:
    """Generic free-cooling PUE curve (estimates, not sourced figures)."""

    floor: float = 1.10
    threshold_c: float = 10.0
    max_slope_per_c: float = 1.0


@dataclass(frozen=True)
class PueCurve:
    """A calibrated curve for one site: floor, threshold and slope per degC."""

    floor: float
    threshold_c: float
    slope_per_c: float

    def pue(self, temp_c: FloatArray) -> FloatArray:
        """Hourly PUE for temperatures ``temp_c``."""
        excess = np.maximum(np.asarray(temp_c, dtype=float) - self.threshold_c, 0.0)
        return np.clip(self.floor + self.slope_per_c * excess, PUE_MIN, PUE_MAX)


def calibrate_pue(
    year_temp_c: FloatArray, target_mean: float, model: PueModel | None = None, tol: float = 1e-10
) -> PueCurve:
    """Solve the slope so that the mean PUE over ``year_temp_c`` equals ``target_mean``.

    Raise ValueError if the target is outside [1.0, 2.0] or cannot be reached
    even with ``model.max_slope_per_c``.
    """
    m = model or PueModel()
    if not PUE_MIN <= target_mean <= PUE_MAX:
        raise ValueError(f"target annual PUE {target_mean} outside [{PUE_MIN}, {PUE_MAX}]")
    temps = np.asarray(year_temp_c, dtype=float)
    floor = min(m.floor, PUE_MAX)
    if target_mean <= floor or not np.any(temps > m.threshold_c):
        return PueCurve(floor=target_mean, threshold_c=m.threshold_c, slope_per_c=0.0)

    def mean_at(slope: float) -> float:
        return float(PueCurve(floor, m.threshold_c, slope).pue(temps).mean())

    lo, hi = 0.0, m.max_slope_per_c
    if mean_at(hi) < target_mean:
        raise ValueError(
            f"annual PUE {target_mean} unreachable: at most {mean_at(hi):.4f} with the floor {floor} "
            f"and slope {hi}/degC"
        )
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if mean_at(mid) < target_mean:
            lo = mid
        else:
            hi = mid
    return PueCurve(floor=floor, threshold_c=m.threshold_c, slope_per_c=0.5 * (lo + hi))
