"""Forecasts of an hourly signal (grid carbon, tariff) and the cleanest start hour within a deadline.

The forecast model is the demand forecast's
(:func:`models.demand.profiles.forecast_error_factor`): each future hour's
value times an independent mean-1 lognormal factor; the current hour is
known. :func:`cleanest_start` is the decision rule of the forecast-based
temporal-shifting strategies (e.g. Wiesner et al., "Let's Wait Awhile",
Middleware 2021): start at the hour whose forecast mean over the job's run
is lowest, among the starts that still meet the deadline.
"""

from __future__ import annotations

import math

import numpy as np

from models.clock import FloatArray
from models.demand.profiles import forecast_error_factor


def forecast_signal(actual: FloatArray, sigma: float, rng: np.random.Generator | None) -> FloatArray:
    """A forecast of ``actual`` (..., hours) issued at its first hour.

    Hour 0 is known; later hours carry the forecast error (``sigma`` = 0: a
    perfect forecast, and no draws).
    """
    a = np.asarray(actual, dtype=float)
    if sigma <= 0 or a.shape[-1] <= 1:
        return a.copy()
    if rng is None:
        raise ValueError("a forecast error needs an rng")
    out = a.copy()
    out[..., 1:] *= forecast_error_factor(out[..., 1:].shape, sigma, rng)
    return out


def cleanest_start(
    forecast: FloatArray,
    run_h: float,
    last_start: int,
    threshold: float | None = None,
    allowed: np.ndarray | None = None,
) -> int:
    """The start hour (index into ``forecast``) with the lowest mean forecast over ``run_h`` hours.

    Starts 0..``last_start`` are candidates (clipped to the forecast); ties go
    to the earliest. With a ``threshold``, hour 0 is taken at once when its
    value is at or below it (the threshold strategy). The mean covers
    ``ceil(run_h)`` hours, cut at the end of the forecast. ``allowed`` (bool per
    start) removes starts (e.g. hours already fully booked); when it leaves no
    candidate the job starts at once (0).
    """
    f = np.asarray(forecast, dtype=float)
    n = f.shape[0]
    if n == 0 or last_start <= 0:
        return 0
    if threshold is not None and f[0] <= threshold:
        return 0
    last = min(last_start, n - 1)
    w = max(1, math.ceil(run_h - 1e-9))
    csum = np.concatenate([[0.0], np.cumsum(f)])
    starts = np.arange(last + 1)
    ends = np.minimum(starts + w, n)
    score = (csum[ends] - csum[starts]) / (ends - starts)
    if allowed is not None:
        ok = np.asarray(allowed, dtype=bool)[: last + 1]
        if ok.shape[0] < last + 1:
            ok = np.concatenate([ok, np.zeros(last + 1 - ok.shape[0], dtype=bool)])
        if not ok.any():
            return 0
        score = np.where(ok, score, np.inf)
    return int(np.argmin(score))
