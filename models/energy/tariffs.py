"""Hourly time-of-use electricity prices (CNY/kWh) and grid carbon factors.

A province lists its peak and valley clock hours (hour ``h`` means
``[h:00, h+1:00)`` local time); every other hour is flat. Each run hour takes
the price of the local clock hour in which it starts (:mod:`models.clock`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from models.clock import FloatArray, HourIndex, hour_index


def _check_hours(peak: tuple[int, ...], valley: tuple[int, ...], where: str) -> None:
    for name, hrs in (("peak_hours", peak), ("valley_hours", valley)):
        if any(int(h) != h or not 0 <= h <= 23 for h in hrs):
            raise ValueError(f"{where}{name} must be whole clock hours 0..23 (got {list(hrs)})")
    if set(peak) & set(valley):
        raise ValueError(f"{where}peak and valley hours overlap")


@dataclass(frozen=True)
class TouSeason:
    """The peak and valley clock hours that apply in some calendar months (1-12)."""

    months: tuple[int, ...]
    peak_hours: tuple[int, ...]
    valley_hours: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.months or any(not 1 <= m <= 12 for m in self.months):
            raise ValueError(f"season months must be 1..12 (got {list(self.months)})")
        _check_hours(self.peak_hours, self.valley_hours, "season ")


@dataclass(frozen=True)
class TouTariff:
    """Peak / flat / valley prices (CNY/kWh) and the peak and valley clock hours.

    ``seasons`` (optional) replace the default hours in their months: the
    provincial rules that move the peak with the season (summer, winter).
    """

    flat_cny_per_kwh: float
    peak_cny_per_kwh: float
    valley_cny_per_kwh: float
    peak_hours: tuple[int, ...] = ()
    valley_hours: tuple[int, ...] = ()
    seasons: tuple[TouSeason, ...] = ()

    def __post_init__(self) -> None:
        _check_hours(self.peak_hours, self.valley_hours, "")
        months = [m for s in self.seasons for m in s.months]
        if len(months) != len(set(months)):
            raise ValueError("TOU seasons overlap in their months")

    def by_clock_hour(self, month: int | None = None) -> FloatArray:
        """The price of each clock hour 0..23 (in ``month``, if seasons apply)."""
        peak, valley = self.peak_hours, self.valley_hours
        for s in self.seasons:
            if month in s.months:
                peak, valley = s.peak_hours, s.valley_hours
        day = np.full(24, self.flat_cny_per_kwh, dtype=float)
        day[np.asarray(peak, dtype=int)] = self.peak_cny_per_kwh
        day[np.asarray(valley, dtype=int)] = self.valley_cny_per_kwh
        return day

    def on(self, idx: HourIndex) -> FloatArray:
        """Hourly prices on a given hour index (seasonal hours by the hour's month)."""
        if not self.seasons or idx.month is None:
            return self.by_clock_hour()[idx.local_hour]
        table = np.stack([self.by_clock_hour(m) for m in range(1, 13)])
        return np.asarray(table[idx.month - 1, idx.local_hour], dtype=float)


def hourly_tariff_cny_per_kwh(start: datetime, hours: int, tariff: TouTariff) -> FloatArray:
    """Hourly TOU price (CNY/kWh) for ``hours`` hours from ``start``."""
    return tariff.on(hour_index(start, hours))


def hourly_grid_kgco2_per_kwh(
    idx: HourIndex, factor_kgco2_per_kwh: float, shape_24: Sequence[float] | FloatArray | None = None
) -> FloatArray:
    """Grid emission factor per hour: constant, or times a 24-hour shape rescaled to mean 1."""
    if shape_24 is None:
        return np.full(idx.hours, float(factor_kgco2_per_kwh))
    shape = np.asarray(shape_24, dtype=float)
    if shape.shape != (24,) or np.any(shape < 0) or shape.sum() <= 0:
        raise ValueError("grid carbon shape must be 24 non-negative multipliers, not all zero")
    return np.asarray(factor_kgco2_per_kwh * (shape / shape.mean())[idx.local_hour], dtype=float)
