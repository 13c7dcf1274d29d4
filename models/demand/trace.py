"""Job traces: read a :class:`~models.demand.workload.Jobs` table from CSV/Parquet, write one back.

Columns: ``arrival_s`` (seconds from the run's start) or ``arrival_time``
(ISO time; naive means Asia/Shanghai; needs the run's ``start``), ``region``
and ``class`` (ids), ``service_s`` (service time of one job) and ``data_gb``.
Bad rows raise :class:`~models.errors.InputError` with key path ``row N``
(1-based data rows, header excluded; up to five listed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from models.demand.workload import Jobs
from models.errors import InputError
from models.tables import (
    check_rows,
    id_column,
    numeric_column,
    read_table,
    require_columns,
    seconds_since,
    write_table,
)

TRACE_COLUMNS = ("arrival_s", "region", "class", "service_s", "data_gb")


def read_trace(
    path: str | Path,
    region_ids: Sequence[str],
    class_ids: Sequence[str],
    start: datetime | None = None,
) -> Jobs:
    """Read and validate a trace; jobs are returned sorted by arrival (stable)."""
    df = read_table(path, str_columns=("region", "class"))
    if "arrival_s" in df.columns:
        arrival = numeric_column(df, "arrival_s")
        what = "'arrival_s'"
    elif "arrival_time" in df.columns:
        if start is None:
            raise InputError(str(path), "arrival_time", "ISO arrival times need the run's start time")
        arrival = seconds_since(df, "arrival_time", start)
        what = "'arrival_time'"
    else:
        raise InputError(
            str(path), "", f"missing column 'arrival_s' or 'arrival_time'; found {list(map(str, df.columns))}"
        )
    require_columns(df, path, ["region", "class", "service_s", "data_gb"])
    check_rows(path, ~np.isfinite(arrival), f"{what} is missing or not a number/time")
    check_rows(path, arrival < 0, f"{what} is before the run's start (negative time)")
    region = id_column(df, path, "region", region_ids)
    klass = id_column(df, path, "class", class_ids)
    cols = {}
    for name in ("service_s", "data_gb"):
        v = numeric_column(df, name)
        check_rows(path, ~np.isfinite(v), f"'{name}' is missing or not a number")
        check_rows(path, v < 0, f"'{name}' is negative")
        cols[name] = v
    order = np.argsort(arrival, kind="stable")
    return Jobs(
        arrival_s=arrival[order],
        region=region[order],
        klass=klass[order],
        service_s=cols["service_s"][order],
        data_gb=cols["data_gb"][order],
    )


def write_trace(jobs: Jobs, path: str | Path, region_ids: Sequence[str], class_ids: Sequence[str]) -> None:
    """Write ``jobs`` in the trace format (``arrival_s``; CSV or Parquet by suffix), atomically."""
    df = pd.DataFrame(
        {
            "arrival_s": jobs.arrival_s,
            "region": np.asarray(region_ids, dtype=object)[jobs.region],
            "class": np.asarray(class_ids, dtype=object)[jobs.klass],
            "service_s": jobs.service_s,
            "data_gb": jobs.data_gb,
        },
        columns=list(TRACE_COLUMNS),
    )
    write_table(df, path)
