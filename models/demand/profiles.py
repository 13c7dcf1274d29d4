"""Demand shapes: diurnal profiles, weekday/weekend factor, bursts, forecasts.

A *rate profile* is one multiplier per hour of the run applied to a class's
mean rate ``rate_per_h``. The diurnal shapes average to 1 over a day and the
weekday/weekend factors average to 1 over a week, so ``rate_per_h`` stays the
long-run mean rate; bursts multiply on top and add load. All shapes are
engineering estimates, not sourced figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from models.clock import FloatArray, HourIndex, hour_index

if TYPE_CHECKING:
    from models.demand.workload import ClassSpec

DIURNAL_KINDS = ("daytime", "evening", "night", "flat")

# (base, [(peak clock hour, width h, height), ...]) of each shape before normalisation.
_SHAPES: dict[str, tuple[float, list[tuple[float, float, float]]]] = {
    "daytime": (0.25, [(10.5, 1.8, 1.0), (15.0, 1.8, 0.9)]),
    "evening": (0.35, [(20.5, 2.0, 1.0)]),
    "night": (0.30, [(1.5, 1.8, 1.0)]),
    "flat": (1.0, []),
}


def diurnal_profile(kind: str) -> FloatArray:
    """24 multipliers (clock hours 0..23, mean 1) for a diurnal ``kind``.

    Shapes are a base plus periodic Gaussian bumps evaluated at each hour's
    midpoint: daytime peaks ~10-11 h and ~15 h, evening ~20-21 h, night ~0-3 h.
    """
    if kind not in _SHAPES:
        raise ValueError(f"unknown diurnal profile {kind!r}; expected one of {DIURNAL_KINDS}")
    base, bumps = _SHAPES[kind]
    h = np.arange(24) + 0.5
    y = np.full(24, base)
    for peak, width, height in bumps:
        d = (h - peak + 12.0) % 24.0 - 12.0
        y += height * np.exp(-0.5 * (d / width) ** 2)
    return np.asarray(y / y.mean(), dtype=float)


@dataclass(frozen=True)
class Burst:
    """Rate x ``multiplier`` for ``duration_h`` hours from hour ``start_h`` of the run."""

    start_h: float
    duration_h: float
    multiplier: float


def week_factors(weekend_factor: float) -> tuple[float, float]:
    """(weekday, weekend) multipliers with weekend/weekday = ``weekend_factor`` and weekly mean 1."""
    if weekend_factor < 0:
        raise ValueError("weekend factor must be >= 0")
    weekday = 7.0 / (5.0 + 2.0 * weekend_factor)
    return weekday, weekend_factor * weekday


def profile_on(
    idx: HourIndex,
    diurnal: str | Sequence[float] | FloatArray = "flat",
    weekend_factor: float = 1.0,
    bursts: Sequence[Burst] = (),
) -> FloatArray:
    """Rate multipliers for each hour of ``idx``.

    ``diurnal`` is a kind name or 24 multipliers (rescaled to mean 1). A burst
    covering part of an hour scales that hour by the time-weighted multiplier.
    """
    shape = diurnal_profile(diurnal) if isinstance(diurnal, str) else np.asarray(diurnal, dtype=float)
    if shape.shape != (24,) or np.any(shape < 0) or shape.sum() <= 0:
        raise ValueError("a diurnal profile needs 24 non-negative multipliers, not all zero")
    shape = shape / shape.mean()
    wd, we = week_factors(weekend_factor)
    out = shape[idx.local_hour] * np.where(idx.weekday >= 5, we, wd)
    h0 = np.arange(idx.hours, dtype=float)
    for b in bursts:
        if b.duration_h < 0 or b.multiplier < 0:
            raise ValueError("a burst needs duration_h >= 0 and multiplier >= 0")
        cover = np.clip(np.minimum(h0 + 1.0, b.start_h + b.duration_h) - np.maximum(h0, b.start_h), 0.0, 1.0)
        out = out * (1.0 + cover * (b.multiplier - 1.0))
    return np.asarray(out, dtype=float)


def rate_profile(
    start: datetime,
    hours: int,
    diurnal: str | Sequence[float] | FloatArray = "flat",
    weekend_factor: float = 1.0,
    bursts: Sequence[Burst] = (),
) -> FloatArray:
    """Rate multipliers for ``hours`` hours from ``start`` (see :func:`profile_on`)."""
    return profile_on(hour_index(start, hours), diurnal, weekend_factor, bursts)


def forecast_work(
    classes: Sequence[ClassSpec],
    hours: int,
    *,
    start_h: int = 0,
    error_sigma: float = 0.0,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """Expected demand, shape (regions, classes, hours), in real server-hours per hour.

    Entry [r, k, h] for run hour ``start_h + h`` is ``rate_per_h x job_scale x
    profile[h] x region_weight[r] x service_mean_s / 3600`` (``rate_per_h`` is in
    simulated jobs, each ``job_scale`` real jobs of ``service_mean_s`` real
    server-seconds). With ``error_sigma > 0`` every entry is multiplied by an
    independent mean-1 lognormal factor ``exp(sigma Z - sigma^2 / 2)`` drawn
    from ``rng`` (one standard-normal array of the output's shape).
    """
    if not classes:
        raise ValueError("no classes to forecast")
    n_regions = int(classes[0].region_weight.shape[0])
    out = np.empty((n_regions, len(classes), hours))
    for k, c in enumerate(classes):
        if c.region_weight.shape[0] != n_regions:
            raise ValueError("classes disagree on the number of regions")
        if c.rate_profile is None:
            prof = np.ones(hours)
        else:
            prof = np.asarray(c.rate_profile, dtype=float)[start_h : start_h + hours]
            if prof.shape[0] < hours:
                raise ValueError(f"class {c.name!r}: rate profile ends before hour {start_h + hours}")
        per_h = c.rate_per_h * c.job_scale * c.service_mean_s / 3600.0
        out[:, k, :] = per_h * c.region_weight[:, None] * prof[None, :]
    if error_sigma > 0:
        if rng is None:
            raise ValueError("a forecast error needs an rng")
        out *= forecast_error_factor(out.shape, error_sigma, rng)
    return out


def forecast_error_factor(shape: tuple[int, ...], sigma: float, rng: np.random.Generator) -> FloatArray:
    """The forecast model's error: independent mean-1 lognormal factors ``exp(sigma Z - sigma^2 / 2)``.

    Draws one standard-normal array of ``shape`` from ``rng``. Demand
    forecasts (:func:`forecast_work`) and carbon-signal forecasts
    (:func:`models.energy.signal_forecast.forecast_signal`) share it.
    """
    if sigma < 0:
        raise ValueError(f"forecast error sigma must be >= 0, got {sigma}")
    z = rng.standard_normal(shape)
    return np.asarray(np.exp(sigma * z - 0.5 * sigma**2), dtype=float)
