"""Which grid factor multiplies a cluster's grid draw: average, residual mix or marginal.

edwc accounts carbon on *net* grid draw: facility energy minus the green
supply contracted or generated on site (:func:`models.energy.site.account`).

- The **average** (location-based) factor of a province already contains the
  province's renewables. A cluster that contracts green power and then
  multiplies its remaining draw by the average counts that green power twice.
  The **residual mix** is the grid net of market-traded green power: MEE/NBS
  publish a national residual factor (0.5856 kgCO2/kWh in 2022, against the
  0.5366 average; ``seeds/grid_carbon.yaml``). :func:`residual_factor` scales
  the average of clusters with contracted green power by the ratio of the two
  (the provincial residual is an estimate: only the national one is published).
- The **marginal** factor is the emission rate of the plants that answer a
  change in demand. It is given by the user (a profile or a constant) and is
  not adjusted for contracted green power.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from models.clock import FloatArray

CarbonSignal = Literal["average", "marginal"]
SIGNALS: tuple[CarbonSignal, ...] = ("average", "marginal")


def contracted_green(green_kw: FloatArray) -> NDArray[np.bool_]:
    """(clusters,) True where a cluster has any green supply over the run."""
    g = np.asarray(green_kw, dtype=float)
    return np.asarray((g > 0).any(axis=1), dtype=bool)


def residual_factor(average: FloatArray, contracted: NDArray[np.bool_], ratio: float) -> FloatArray:
    """The factor for net grid draw: ``average`` x ``ratio`` on the rows of contracted clusters.

    ``average`` is (clusters, hours); ``ratio`` is the residual over the average
    factor (>= 1; 1 leaves the average unchanged).
    """
    if not ratio >= 0 or not np.isfinite(ratio):
        raise ValueError(f"residual ratio must be a finite number >= 0, got {ratio}")
    out = np.array(average, dtype=float, copy=True)
    if ratio != 1.0:
        out[np.asarray(contracted, dtype=bool)] *= ratio
    return out
