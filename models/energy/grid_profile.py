"""Hourly grid signals from a user table: carbon intensity (average, marginal) and tariff.

A grid profile is a CSV or Parquet file with one row per cluster and time:

- ``hour`` (hours from the run's start, may be fractional) **or** ``time``
  (ISO 8601; a time without an offset is Asia/Shanghai);
- ``cluster`` (an id of the run's topology);
- any of ``grid_kgco2_per_kwh`` (average, location-based), ``marginal_kgco2_per_kwh``
  and ``tariff_cny_per_kwh``; every row gives every column the file has.

Sub-hourly rows are averaged to the hour they fall in (equal weights: the
samples of a cluster must be regular, the same number in each hour); hourly
rows are used as given. Rows whose ``time`` is before the run's start are ignored. Each cluster
the file names must cover the run from hour 0 without gaps; a profile shorter
than the run is refused unless ``repeat`` is set, in which case it is repeated
end to end (its length must then be whole days, so that clock hours line up).

Every problem raises :class:`~models.errors.InputError` naming the file and
the 1-based data rows at fault (the CSV header is not counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from models.clock import FloatArray
from models.errors import InputError
from models.tables import check_rows, id_column, numeric_column, read_table, require_columns, seconds_since

#: The signal columns a grid profile may carry, in output order.
SIGNALS = ("grid_kgco2_per_kwh", "marginal_kgco2_per_kwh", "tariff_cny_per_kwh")


@dataclass(frozen=True)
class GridProfile:
    """Hourly signals read from a profile: column name -> (clusters, hours) array.

    Rows of clusters the file does not name are NaN (their constant or banded
    values stay); only the columns present in the file are keys.
    """

    values: dict[str, FloatArray]

    def named(self, column: str) -> np.ndarray:
        """Boolean (clusters,) mask of clusters whose ``column`` the profile gives."""
        a = self.values.get(column)
        if a is None:
            return np.zeros(0, dtype=bool)
        return np.asarray(~np.isnan(a).any(axis=1))

    def apply(self, column: str, base: FloatArray) -> FloatArray:
        """``base`` (clusters, hours) with the rows the profile names replaced."""
        a = self.values.get(column)
        if a is None:
            return base
        out = np.array(base, dtype=float, copy=True)
        given = self.named(column)
        out[given] = a[given]
        return out


def load_grid_profile(
    path: str | Path, cluster_ids: list[str], start: datetime, hours: int, *, repeat: bool = False
) -> GridProfile:
    """Read a grid profile for a run of ``hours`` hours from ``start`` (see the module doc)."""
    df = read_table(path, str_columns=("cluster",))
    if "hour" in df.columns and "time" in df.columns:
        raise InputError(str(path), "", "give either an 'hour' or a 'time' column, not both")
    time_col = "hour" if "hour" in df.columns else "time"
    require_columns(df, path, [time_col, "cluster"])
    present = [s for s in SIGNALS if s in df.columns]
    if not present:
        raise InputError(
            str(path),
            "",
            f"no signal column; expected at least one of {list(SIGNALS)}, found {list(df.columns)}",
        )
    if len(df) == 0:
        raise InputError(str(path), "", "the profile has no rows")
    h = numeric_column(df, "hour") if time_col == "hour" else seconds_since(df, "time", start) / 3600.0
    what = "a number of hours" if time_col == "hour" else "an ISO time, e.g. 2025-07-01T00:00:00+08:00"
    check_rows(path, ~np.isfinite(h), f"'{time_col}' is missing or not {what}")
    if time_col == "hour":
        check_rows(path, h < 0, "'hour' counts hours from the run's start and must be >= 0")
    c = id_column(df, path, "cluster", cluster_ids)
    vals = {}
    for name in present:
        v = numeric_column(df, name)
        check_rows(
            path, ~np.isfinite(v) | (v < 0), f"'{name}' must be a number >= 0 (missing, NaN or negative)"
        )
        vals[name] = v
    dup = np.asarray(pd.DataFrame({"c": c, "h": h}).duplicated())
    check_rows(path, dup, f"duplicate (cluster, {time_col}): a row repeats an earlier row's cluster and time")

    keep = h >= 0  # rows before the run's start are ignored
    bucket = np.floor(np.where(keep, h, 0.0)).astype(np.int64)
    rows = np.arange(len(df))
    n_c = len(cluster_ids)
    out = {name: np.full((n_c, hours), np.nan) for name in present}
    for ci in np.unique(c[keep]):
        mine = keep & (c == ci)
        b = bucket[mine]
        r = rows[mine]
        span = int(b.max()) + 1
        counts = np.bincount(b, minlength=span)
        cid = cluster_ids[ci]
        missing = np.flatnonzero(counts == 0)
        if missing.size:
            m = int(missing[0])
            after = b > m
            first = r[after][np.argmin(b[after])]
            bad = np.zeros(len(df), dtype=bool)
            bad[first] = True
            msg = (
                f"cluster '{cid}' does not start at the run's start (hour 0)"
                if m == 0
                else f"gap: cluster '{cid}' has no row in hour {m} of the run"
            )
            check_rows(path, bad, f"{msg}; the profile must cover every hour from the start")
        per_hour = int(counts.max())
        short = np.flatnonzero(counts < per_hour)
        if short.size:
            s = int(short[0])
            bad = np.zeros(len(df), dtype=bool)
            bad[r[b == s]] = True
            check_rows(
                path,
                bad,
                f"gap: cluster '{cid}' has {int(counts[s])} row(s) in hour {s} but {per_hour} in others "
                "(sub-hourly samples must be regular)",
            )
        if span < hours:
            if not repeat:
                raise InputError(
                    str(path),
                    "",
                    f"cluster '{cid}' is covered for hours 0..{span - 1} but the run has {hours} hours; "
                    "extend the profile or set energy.grid_profile_repeat: true to repeat it",
                )
            if span % 24:
                raise InputError(
                    str(path),
                    "",
                    f"cluster '{cid}' is covered for {span} hours; a repeated profile must cover whole days "
                    "(a multiple of 24 hours)",
                )
        for name in present:
            mean = np.bincount(b, weights=vals[name][mine], minlength=span) / per_hour
            out[name][ci] = np.resize(mean, hours) if span < hours else mean[:hours]
    return GridProfile(values=out)
