"""A representative year: 365 days of hourly profiles clustered into k typical days with weights.

The profiles (demand per class, PUE, tariff, grid factor and green supply per cluster)
are clustered *jointly*, day by day, with ``tsam`` (the time-series aggregation package
of PyPSA-Eur and ETHOS.FINE; its 2.3 API, whose releases do not cap numpy, pandas and
highspy as tsam 3-4 do): hierarchical clustering, each typical day the medoid (a real
day) of its cluster, rescaled so every series keeps its annual mean. The day of peak
total demand is appended as a typical day of its own (weight 1) so capacity is sized
for it. ``k=None`` (or k >= the number of days) is the full year: every day its own
typical day, weight 1, no error.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["HOURS_PER_DAY", "TypicalDays", "typical_days"]

HOURS_PER_DAY = 24
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class TypicalDays:
    """k typical days of each profile.

    Attributes
    ----------
    series:
        name -> (D, N, 24) the typical days of each of the N rows of that profile.
    weight:
        (D,) days of the year each typical day stands for (sums to the number of days).
    assignment:
        (days,) the typical day each original day is represented by.
    error:
        name -> RMSE of the reconstructed year against the original, relative to the
        profile's mean absolute value (0 in the full-year mode).
    """

    series: dict[str, FloatArray]
    weight: FloatArray
    assignment: IntArray
    error: dict[str, float]

    @property
    def k(self) -> int:
        return len(self.weight)


def _full_year(profiles: Mapping[str, FloatArray], days: int) -> TypicalDays:
    series = {
        name: np.ascontiguousarray(
            np.asarray(a, dtype=float).reshape(a.shape[0], days, 24).transpose(1, 0, 2)
        )
        for name, a in profiles.items()
    }
    return TypicalDays(series, np.ones(days), np.arange(days, dtype=np.int64), dict.fromkeys(profiles, 0.0))


def typical_days(
    profiles: Mapping[str, FloatArray],
    k: int | None,
    peak: str | None = None,
    start: str = "2025-01-01",
) -> TypicalDays:
    """Cluster ``profiles`` (name -> (N, hours), hours a multiple of 24) into ``k`` typical days.

    ``peak``: name of the profile whose day of largest hourly column sum is kept as an
    extra typical day (the demand peak). Constant rows are kept out of the clustering
    (they are the same on every day).
    """
    hours = {np.asarray(a).shape[1] for a in profiles.values()}
    if len(hours) != 1 or next(iter(hours)) % HOURS_PER_DAY:
        raise ValueError(f"every profile needs the same number of hours, a multiple of 24: got {hours}")
    n_hours = next(iter(hours))
    days = n_hours // HOURS_PER_DAY
    if k is None or k > days:
        return _full_year(profiles, days)
    if k < 1:
        raise ValueError("k (typical days) must be >= 1")

    cols: dict[str, FloatArray] = {}
    const: dict[tuple[str, int], float] = {}
    for name, a in profiles.items():
        arr = np.asarray(a, dtype=float)
        for i, row in enumerate(arr):
            if np.ptp(row) <= 1e-12 * max(1.0, float(np.abs(row).max())):
                const[(name, i)] = float(row[0])
            else:
                cols[f"{name}|{i}"] = row
    if not cols:  # nothing varies: one day stands for all
        series = {name: np.asarray(a, dtype=float)[:, :24][None, :, :] for name, a in profiles.items()}
        return TypicalDays(
            series, np.array([float(days)]), np.zeros(days, np.int64), dict.fromkeys(profiles, 0.0)
        )
    if peak is not None:
        cols["__peak__"] = np.asarray(profiles[peak], dtype=float).sum(axis=0)
    index = pd.date_range(start, periods=n_hours, freq="h")
    df = pd.DataFrame(cols, index=index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tsam 2.3 sets a pandas option pandas 3 deprecates
        from tsam.timeseriesaggregation import TimeSeriesAggregation

        agg = TimeSeriesAggregation(
            df,
            noTypicalPeriods=k,
            hoursPerPeriod=HOURS_PER_DAY,
            resolution=1.0,
            clusterMethod="hierarchical",
            representationMethod="medoidRepresentation",
            rescaleClusterPeriods=True,
            extremePeriodMethod="append" if peak is not None else "None",
            addPeakMax=["__peak__"] if peak is not None else None,
        )
        reps = agg.createTypicalPeriods()
        recon = agg.predictOriginalData()
    counts = {int(i): float(n) for i, n in agg.clusterPeriodNoOccur.items()}
    ids = sorted(counts)
    weight = np.array([counts[i] for i in ids])
    pos = {i: j for j, i in enumerate(ids)}
    assignment = np.array([pos[int(a)] for a in agg.clusterOrder], dtype=np.int64)
    period_of = np.asarray(reps.index.get_level_values(0), dtype=np.int64)
    typical: dict[str, FloatArray] = {}
    error: dict[str, float] = {}
    for name, a in profiles.items():
        arr = np.asarray(a, dtype=float)
        out = np.empty((len(ids), arr.shape[0], HOURS_PER_DAY))
        rebuilt = np.empty_like(arr)
        for i in range(arr.shape[0]):
            if (name, i) in const:
                out[:, i, :] = const[(name, i)]
                rebuilt[i] = const[(name, i)]
                continue
            col = f"{name}|{i}"
            vals = np.asarray(reps[col].to_numpy(dtype=float))
            for j, cid in enumerate(ids):
                out[j, i, :] = vals[period_of == cid]
            rebuilt[i] = np.asarray(recon[col].to_numpy(dtype=float))
        typical[name] = out
        scale = float(np.abs(arr).mean())
        rmse = float(np.sqrt(np.mean((rebuilt - arr) ** 2)))
        error[name] = rmse / scale if scale > 0 else 0.0
    return TypicalDays(typical, weight, assignment, error)
