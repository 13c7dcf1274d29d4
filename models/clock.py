"""The run's hourly time index: hour ``h`` is ``[start + h, start + h + 1)`` in Asia/Shanghai.

Every hourly model (weather, PUE, tariffs, renewables, demand) is evaluated on
the same index. Step quantities (tariff hours, weekdays) use the local clock
hour in which an interval *starts*; continuous quantities (temperature, sun
position) are evaluated at the interval's *midpoint*, which approximates the
hour's mean. China has no daylight saving time, so local = UTC + 8 h.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

TZ = ZoneInfo("Asia/Shanghai")
UTC_OFFSET_H = 8.0
#: A non-leap reference year on which calibrations (PUE, renewables) run.
REFERENCE_YEAR_START = datetime(2025, 1, 1, tzinfo=TZ)
HOURS_PER_YEAR = 8760


@dataclass(frozen=True)
class HourIndex:
    """Calendar facts for each hour of a run (arrays of length ``hours``).

    ``local_hour``: clock hour (0-23) in which the hour starts.
    ``weekday``: 0 = Monday ... 6 = Sunday, of the hour's start.
    ``day``: local calendar day of the hour's start, counted from the run's first day.
    ``year_frac_mid``: fraction of the calendar year (0-1) at the hour's midpoint.
    ``doy_mid``: day of the year at the midpoint, 1-based with a fraction (1.0 = Jan 1 00:00).
    ``local_hour_mid``: local clock time of the midpoint in hours (e.g. 12.5).
    ``utc_hour_mid``: UTC clock time of the midpoint in hours.
    ``month``: local calendar month (1-12) of the hour's start (None if not computed).
    """

    local_hour: IntArray
    weekday: IntArray
    day: IntArray
    year_frac_mid: FloatArray
    doy_mid: FloatArray
    local_hour_mid: FloatArray
    utc_hour_mid: FloatArray
    month: IntArray | None = None

    @property
    def hours(self) -> int:
        return int(self.local_hour.shape[0])


def local_start(start: datetime) -> datetime:
    """``start`` converted to Asia/Shanghai; raise ValueError if it is naive."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start must be timezone-aware (got naive {start.isoformat()})")
    return start.astimezone(TZ)


def hour_index(start: datetime, hours: int) -> HourIndex:
    """The :class:`HourIndex` of ``hours`` hours from ``start`` (tz-aware)."""
    if hours < 0:
        raise ValueError(f"hours must be >= 0 (got {hours})")
    s = local_start(start)
    day0 = datetime(s.year, s.month, s.day, tzinfo=TZ)
    # Seconds of each hour's start since the run's first local midnight.
    off_s = (s - day0).total_seconds() + 3600.0 * np.arange(hours, dtype=float)
    start_hours = off_s / 3600.0
    mid_hours = start_hours + 0.5
    day = np.floor(start_hours / 24.0).astype(np.int64)
    local_hour = np.floor(start_hours % 24.0).astype(np.int64)
    weekday = (day0.weekday() + day) % 7
    local_mid = mid_hours % 24.0
    utc_mid = (local_mid - UTC_OFFSET_H) % 24.0

    # Year fraction at the midpoint; years may differ along a long run.
    mid_day = np.floor(mid_hours / 24.0).astype(np.int64)
    year_frac = np.empty(hours)
    doy = np.empty(hours)
    for d in np.unique(mid_day):
        date = day0 + timedelta(days=int(d))
        jan1 = datetime(date.year, 1, 1, tzinfo=TZ)
        ylen = (datetime(date.year + 1, 1, 1, tzinfo=TZ) - jan1).days
        sel = mid_day == d
        days_in = (date - jan1).days + local_mid[sel] / 24.0
        doy[sel] = 1.0 + days_in
        year_frac[sel] = days_in / ylen
    month = np.empty(hours, dtype=np.int64)
    for d in np.unique(day):
        month[day == d] = (day0 + timedelta(days=int(d))).month
    return HourIndex(
        month=month,
        local_hour=local_hour,
        weekday=weekday.astype(np.int64),
        day=day,
        year_frac_mid=year_frac,
        doy_mid=doy,
        local_hour_mid=local_mid,
        utc_hour_mid=utc_mid,
    )


@cache
def reference_year() -> HourIndex:
    """The hour index of the non-leap reference year used for calibration (built once; read-only)."""
    idx = hour_index(REFERENCE_YEAR_START, HOURS_PER_YEAR)
    for f in fields(idx):
        getattr(idx, f.name).setflags(write=False)
    return idx
