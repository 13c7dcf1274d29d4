"""Reading and writing user tables (CSV or Parquet) with row-numbered errors.

Row numbers in errors are 1-based data rows (the CSV header is not counted).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from models.clock import TZ, local_start
from models.errors import InputError

MAX_LISTED_ROWS = 5


def table_format(path: Path) -> str:
    """``"csv"`` or ``"parquet"`` from the file suffix; InputError otherwise."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InputError(str(path), "", f"unknown table format '{suffix}'; expected .csv or .parquet")


def read_table(path: str | Path, str_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame (pandas >= 3 parses CSV floats round-trip exact)."""
    p = Path(path)
    fmt = table_format(p)
    try:
        if fmt == "csv":
            return pd.read_csv(p, dtype={c: str for c in str_columns})
        return pd.read_parquet(p)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(str(p), "", f"cannot read table: {exc}") from exc


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` as CSV or Parquet (by suffix) via a temporary name, then rename."""
    p = Path(path)
    fmt = table_format(p)
    tmp = p.with_name(f".{p.name}.tmp")
    if fmt == "csv":
        df.to_csv(tmp, index=False)
    else:
        df.to_parquet(tmp, index=False)
    os.replace(tmp, p)


def require_columns(df: pd.DataFrame, path: str | Path, required: Sequence[str]) -> None:
    """InputError naming the missing columns, if any."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(str(path), "", f"missing column(s) {missing}; found {list(map(str, df.columns))}")


def rows_key(bad: np.ndarray) -> str:
    """``"row 3"`` or ``"rows 3, 7, 9 (+2 more)"`` for a boolean mask of bad rows."""
    rows = np.flatnonzero(bad) + 1
    listed = ", ".join(str(int(r)) for r in rows[:MAX_LISTED_ROWS])
    more = f" (+{rows.size - MAX_LISTED_ROWS} more)" if rows.size > MAX_LISTED_ROWS else ""
    return f"{'row' if rows.size == 1 else 'rows'} {listed}{more}"


def check_rows(path: str | Path, bad: np.ndarray, message: str) -> None:
    """Raise InputError naming the first bad rows if any entry of ``bad`` is True."""
    if np.any(bad):
        raise InputError(str(path), rows_key(np.asarray(bad, dtype=bool)), message)


def numeric_column(df: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as float64; non-numeric entries become NaN."""
    return np.asarray(pd.to_numeric(df[name], errors="coerce"), dtype=float)


def id_column(df: pd.DataFrame, path: str | Path, name: str, ids: Sequence[str]) -> np.ndarray:
    """Column ``name`` mapped to indices into ``ids``; InputError on missing or unknown ids."""
    raw = df[name]
    check_rows(path, np.asarray(raw.isna()), f"'{name}' is missing")
    values = raw.astype(str).to_numpy()
    lookup = {v: i for i, v in enumerate(ids)}
    idx = np.array([lookup.get(v, -1) for v in values], dtype=np.int32)
    bad = idx < 0
    if bad.any():
        unknown = sorted({str(v) for v in values[bad]})[:MAX_LISTED_ROWS]
        check_rows(path, bad, f"unknown {name} {unknown}; expected one of {list(ids)}")
    return idx


def seconds_since(df: pd.DataFrame, name: str, start: datetime) -> np.ndarray:
    """ISO times in column ``name`` as seconds since ``start``; naive times are Asia/Shanghai.

    Entries that are missing or not ISO times become NaN.
    """
    t0 = local_start(start)
    out = np.full(len(df), np.nan)
    for i, v in enumerate(df[name].tolist()):
        try:
            t = v if isinstance(v, datetime) else datetime.fromisoformat(str(v))
        except ValueError:
            continue
        if t.tzinfo is None:
            t = t.replace(tzinfo=TZ)
        out[i] = (t - t0).total_seconds()
    return out
