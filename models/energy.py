"""Energy: server power, PUE, tariffs, grid carbon and green supply per site-hour.

:class:`SiteEnergy` holds, for each cluster and each hour of the run, the
inputs the accounting and the planner need. :func:`it_power_kw` and
:func:`account` are the accounting rules of DESIGN.md:

- IT power = servers x (idle + (peak - idle) x utilisation)
- facility power = IT power x PUE
- cost = facility energy x tariff of the hour
- carbon = max(facility energy - green supply, 0) x grid factor
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ServerPower:
    """Power draw of one real server (W) at idle and at full load."""

    idle_w: float = 200.0
    peak_w: float = 500.0

    def it_kw(self, servers: FloatArray | float, busy: FloatArray | float) -> FloatArray:
        """IT power in kW of ``servers`` powered servers of which ``busy`` are busy."""
        return np.asarray(
            (np.asarray(servers) * self.idle_w + np.asarray(busy) * (self.peak_w - self.idle_w)) / 1000.0
        )


@dataclass(frozen=True)
class SiteEnergy:
    """Hourly energy inputs, each an array of shape (clusters, hours)."""

    pue: FloatArray
    tariff_cny_per_kwh: FloatArray
    grid_kgco2_per_kwh: FloatArray
    green_kw: FloatArray

    def __post_init__(self) -> None:
        shapes = {
            a.shape for a in (self.pue, self.tariff_cny_per_kwh, self.grid_kgco2_per_kwh, self.green_kw)
        }
        if len(shapes) != 1:
            raise ValueError(f"SiteEnergy arrays disagree in shape: {shapes}")

    @property
    def n_hours(self) -> int:
        return int(self.pue.shape[1])

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


def account(
    it_kwh: FloatArray, pue: FloatArray, tariff: FloatArray, grid_factor: FloatArray, green_kwh: FloatArray
) -> EnergyTotals:
    """Apply PUE, tariff and grid carbon to IT energy (all arrays broadcast)."""
    facility = np.asarray(it_kwh * pue)
    grid = np.maximum(facility - green_kwh, 0.0)
    return EnergyTotals(
        it_kwh=np.asarray(it_kwh),
        facility_kwh=facility,
        grid_kwh=grid,
        cost_cny=np.asarray(facility * tariff),
        tco2=np.asarray(grid * grid_factor / 1000.0),
    )
