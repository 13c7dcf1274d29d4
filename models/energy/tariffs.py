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


@dataclass(frozen=True)
class TouTariff:
    """Peak / flat / valley prices (CNY/kWh) and the peak and valley clock hours."""

    flat_cny_per_kwh: float
    peak_cny_per_kwh: float
    valley_cny_per_kwh: float
    peak_hours: tuple[int, ...] = ()
    valley_hours: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name, hrs in (("peak_hours", self.peak_hours), ("valley_hours", self.valley_hours)):
            if any(int(h) != h or not 0 <= h <= 23 for h in hrs):
                raise ValueError(f"{name} must be whole clock hours 0..23 (got {list(hrs)})")
        if set(self.peak_hours) & set(self.valley_hours):
            raise ValueError("peak and valley hours overlap")

    def by_clock_hour(self) -> FloatArray:
        """The price of each clock hour 0..23."""
        day = np.full(24, self.flat_cny_per_kwh, dtype=float)
        day[np.asarray(self.peak_hours, dtype=int)] = self.peak_cny_per_kwh
        day[np.asarray(self.valley_hours, dtype=int)] = self.valley_cny_per_kwh
        return day

    def on(self, idx: HourIndex) -> FloatArray:
        """Hourly prices on a given hour index."""
        return self.by_clock_hour()[idx.local_hour]


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
