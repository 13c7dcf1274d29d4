"""Synthetic hourly outdoor temperature from monthly means and a diurnal swing.

The seasonal curve is a periodic trigonometric polynomial (constant, harmonics
1-5, cosine of harmonic 6: twelve terms) fitted so that its *average over each
calendar month* equals that month's mean: it is smooth, periodic over the year
and exactly mean-preserving, so the annual mean is the day-weighted mean of the
twelve monthly means. On top sits a diurnal cycle of amplitude ``swing / 2``
made of two half-cosines: rising from the minimum at 05:00 to the maximum at
15:00 local time, falling back over the next 14 hours; it averages to zero
over a day. Values are evaluated at each hour's midpoint (see
:mod:`models.clock`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from models.clock import FloatArray, HourIndex, hour_index

MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
_EDGES = np.concatenate([[0.0], np.cumsum(MONTH_DAYS)]) / 365.0  # month boundaries, year fraction
T_MIN_H = 5.0
T_MAX_H = 15.0


def _basis_terms() -> list[tuple[int, str]]:
    return [(0, "c")] + [(k, f) for k in range(1, 6) for f in ("c", "s")] + [(6, "c")]


def seasonal_coefficients(monthly_c: Sequence[float]) -> FloatArray:
    """Coefficients of the mean-preserving periodic fit to 12 monthly means."""
    m = np.asarray(monthly_c, dtype=float)
    if m.shape != (12,) or not np.all(np.isfinite(m)):
        raise ValueError("expected 12 finite monthly means")
    a, b = 2 * np.pi * _EDGES[:-1], 2 * np.pi * _EDGES[1:]
    cols = []
    for k, f in _basis_terms():
        if k == 0:
            cols.append(np.ones(12))
        elif f == "c":
            cols.append((np.sin(k * b) - np.sin(k * a)) / (k * (b - a)))
        else:
            cols.append((np.cos(k * a) - np.cos(k * b)) / (k * (b - a)))
    return np.asarray(np.linalg.solve(np.column_stack(cols), m), dtype=float)


def seasonal_c(coef: FloatArray, year_frac: FloatArray) -> FloatArray:
    """The seasonal curve (degC) at year fractions ``year_frac`` (0-1, periodic)."""
    th = 2 * np.pi * np.asarray(year_frac, dtype=float)
    out = np.zeros_like(th)
    for c, (k, f) in zip(coef, _basis_terms(), strict=True):
        out += c * (np.cos(k * th) if f == "c" else np.sin(k * th))
    return out


def diurnal_c(local_hour: FloatArray, swing_c: float) -> FloatArray:
    """Diurnal deviation (degC): min ``-swing/2`` at 05:00, max ``+swing/2`` at 15:00."""
    h = np.asarray(local_hour, dtype=float) % 24.0
    rise = T_MAX_H - T_MIN_H
    since_min = (h - T_MIN_H) % 24.0
    shape = np.where(
        since_min <= rise,
        -np.cos(np.pi * since_min / rise),
        np.cos(np.pi * (since_min - rise) / (24.0 - rise)),
    )
    return np.asarray(0.5 * swing_c * shape, dtype=float)


def temperature_on(idx: HourIndex, monthly_c: Sequence[float], swing_c: float) -> FloatArray:
    """Hourly temperature (degC) on a given hour index."""
    coef = seasonal_coefficients(monthly_c)
    return seasonal_c(coef, idx.year_frac_mid) + diurnal_c(idx.local_hour_mid, swing_c)


def hourly_temperature_c(
    start: datetime, hours: int, monthly_c: Sequence[float], swing_c: float
) -> FloatArray:
    """Hourly outdoor temperature (degC) for ``hours`` hours from ``start`` (synthetic)."""
    return temperature_on(hour_index(start, hours), monthly_c, swing_c)
