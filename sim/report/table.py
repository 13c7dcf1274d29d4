"""The comparison table of a sweep: mean ± 95 % confidence interval per (policy, power mode).

``edwc table SWEEP_DIR`` reads ``summary.parquet`` alone and prints markdown.
Rows are the sweep's points grouped by every axis (typically ``policy.name``
and ``energy.power_management``); each cell is the mean over replications ±
the half-width of its 95 % t-interval. Under common random numbers
(``seeds: common``) replication r of every point saw the same arrivals, so the
column ``power mgmt saves`` is the paired difference of each run's cost from
the same policy's ``always_on`` run of the same replication: what power
management alone saves, with placement held fixed. ``decomposition`` splits
each point's cost difference from a reference point (``spill_west``,
``always_on``) into placement and power management the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.errors import InputError
from sim.runfolder import layout

POLICY = "policy.name"
MODE = "energy.power_management"
DEFAULT_MODE = "always_on"

# two-sided 95 % Student t quantiles t(0.975, df), df = 1..30 (normal beyond)
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        return math.nan
    return _T975[df - 1] if df <= len(_T975) else 1.960


def mean_ci(values: Sequence[float] | np.ndarray) -> tuple[float, float, int]:
    """Mean, half-width of the 95 % t-interval (NaN for one value) and n of the finite values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, 1
    return mean, t975(n - 1) * float(x.std(ddof=1)) / math.sqrt(n), n


@dataclass(frozen=True)
class Metric:
    """One column: a summary column (or a function of the frame), its scale and format."""

    label: str
    column: str | Callable[[pd.DataFrame], pd.Series]
    scale: float = 1.0
    digits: int = 2

    def values(self, df: pd.DataFrame) -> pd.Series:
        if callable(self.column):
            return self.column(df)
        if self.column not in df.columns:
            return pd.Series(np.nan, index=df.index)
        return pd.to_numeric(df[self.column], errors="coerce")


def _col(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    def get(df: pd.DataFrame) -> pd.Series:
        if name not in df.columns:
            return pd.Series(np.nan, index=df.index)
        return pd.to_numeric(df[name], errors="coerce")

    return get


METRICS: tuple[Metric, ...] = (
    Metric("cost M CNY", "cost_cny", 1e-6, 2),
    Metric("energy GWh", "energy_kwh", 1e-6, 2),
    Metric("ktCO2", "tco2", 1e-3, 2),
    Metric("served M server-h", "served_server_h", 1e-6, 2),
    Metric("CNY / served server-h", "per_served_server_h.cost_cny", 1.0, 3),
    Metric("kWh / served server-h", "per_served_server_h.kwh", 1.0, 3),
    Metric("kgCO2 / served server-h", "per_served_server_h.kgco2", 1.0, 3),
    Metric("latency SLO met (real requests) %", "slo_met_share.latency_real", 100.0, 1),
    Metric("batch deadlines met %", "slo_met_share.batch_real", 100.0, 1),
    Metric("work left in flight %", "terminal_backlog.share_of_work", 100.0, 1),
    Metric("cost incl. backlog M CNY", "with_backlog.cost_cny", 1e-6, 2),
    Metric("powered %", "power_management.mean_powered_share", 100.0, 1),
    Metric("boots M", "power_management.server_ups", 1e-6, 2),
)
#: The README's selection (``edwc table --brief``).
BRIEF = (
    "cost M CNY",
    "CNY / served server-h",
    "kgCO2 / served server-h",
    "latency SLO met (real requests) %",
    "batch deadlines met %",
    "work left in flight %",
    "cost incl. backlog M CNY",
    "powered %",
)


def read_sweep_summary(folder: Path) -> pd.DataFrame:
    """The ok runs of ``folder/summary.parquet`` (InputError if it is missing or has none)."""
    path = folder / layout.SWEEP_SUMMARY
    if not path.is_file():
        raise InputError(str(path), "", "file not found: expected a sweep folder (edwc sweep ... --out DIR)")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many kinds
        raise InputError(str(path), "", f"cannot read Parquet: {exc}") from None
    if "status" in df.columns:
        df = df[df["status"] == "ok"]
    if df.empty:
        raise InputError(str(path), "status", "no run finished ok: nothing to tabulate")
    if POLICY not in df.columns:
        df = df.assign(**{POLICY: df["policy"] if "policy" in df.columns else "?"})
    if MODE not in df.columns:
        mode = df["power_management.mode"] if "power_management.mode" in df.columns else DEFAULT_MODE
        df = df.assign(**{MODE: mode})
    if "replication" not in df.columns:
        df = df.assign(replication=0)
    return df.reset_index(drop=True)


def _fmt(mean: float, half: float, digits: int) -> str:
    if not math.isfinite(mean):
        return "–"
    if not math.isfinite(half):
        return f"{mean:,.{digits}f}"
    return f"{mean:,.{digits}f} ± {half:,.{digits}f}"


def _order(df: pd.DataFrame, policies: Sequence[str] | None) -> list[tuple[str, str]]:
    mode_rank = {"always_on": 0, "reactive": 1, "planned": 2}
    seen = list(dict.fromkeys(df[POLICY].astype(str)))
    if policies:
        seen = [p for p in policies if p in seen] + [p for p in seen if p not in policies]
    keys = {(str(p), str(m)) for p, m in zip(df[POLICY], df[MODE], strict=True)}
    return sorted(keys, key=lambda k: (seen.index(k[0]), mode_rank.get(k[1], 9), k[1]))


def paired(
    df: pd.DataFrame, value: Callable[[pd.DataFrame], pd.Series], a: tuple[str, str], b: tuple[str, str]
) -> np.ndarray:
    """Per replication, value(b) - value(a) relative to value(a): the paired relative differences."""
    va = _by_rep(df, value, a)
    vb = _by_rep(df, value, b)
    reps = sorted(set(va) & set(vb))
    return np.array([(vb[r] - va[r]) / va[r] if va[r] else math.nan for r in reps], dtype=float)


def _by_rep(
    df: pd.DataFrame, value: Callable[[pd.DataFrame], pd.Series], key: tuple[str, str]
) -> dict[int, float]:
    mine = df[(df[POLICY].astype(str) == key[0]) & (df[MODE].astype(str) == key[1])]
    vals = value(mine)
    return {int(r): float(v) for r, v in zip(mine["replication"], vals, strict=True)}


def comparison_table(
    df: pd.DataFrame, policies: Sequence[str] | None = None, columns: Sequence[str] | None = None
) -> str:
    """Markdown: one row per (policy, power mode), mean ± 95 % CI per metric, and what power management saves.

    ``columns`` selects metrics by label (default: all of :data:`METRICS`).
    """
    cost = _col("cost_cny")
    metrics = [m for m in METRICS if columns is None or m.label in columns]
    header = ["policy", "power", "n", *[m.label for m in metrics], "power mgmt saves (cost) %"]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---", "---"] + ["---:"] * (len(header) - 2)) + " |",
    ]
    for pol, mode in _order(df, policies):
        mine = df[(df[POLICY].astype(str) == pol) & (df[MODE].astype(str) == mode)]
        cells = [f"`{pol}`", mode, str(len(mine))]
        for m in metrics:
            mean, half, _ = mean_ci((m.values(mine) * m.scale).to_numpy(dtype=float))
            cells.append(_fmt(mean, half, m.digits))
        if mode == DEFAULT_MODE:
            cells.append("–")
        else:
            d = paired(df, cost, (pol, DEFAULT_MODE), (pol, mode))
            mean, half, n = mean_ci(-100.0 * d)
            cells.append(_fmt(mean, half, 1) if n else "– (no always_on run)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def decomposition_table(
    df: pd.DataFrame,
    reference: str = "spill_west",
    column: str = "cost_cny",
    policies: Sequence[str] | None = None,
) -> str:
    """Markdown: each point's change in ``column`` against ``reference`` under always_on, split into
    placement (the policy under always_on against the reference) and power management (the policy's
    mode against its own always_on), paired by replication, in % of the reference."""
    value = _col(column)
    ref = (reference, DEFAULT_MODE)
    ref_vals = _by_rep(df, value, ref)
    if not ref_vals:
        raise InputError(
            "summary.parquet", POLICY, f"no '{reference}' run under always_on to compare against"
        )
    header = [
        "policy",
        "power",
        f"total change in {column} %",
        "placement %",
        "power management %",
        "power share of the saving",
    ]
    lines = ["| " + " | ".join(header) + " |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for pol, mode in _order(df, policies):
        if (pol, mode) == ref:
            continue
        own = _by_rep(df, value, (pol, DEFAULT_MODE))
        this = _by_rep(df, value, (pol, mode))
        reps = sorted(set(ref_vals) & set(own) & set(this))
        if not reps:
            continue
        total = np.array([100.0 * (this[r] - ref_vals[r]) / ref_vals[r] for r in reps])
        place = np.array([100.0 * (own[r] - ref_vals[r]) / ref_vals[r] for r in reps])
        power = total - place
        share = power.mean() / total.mean() if total.mean() < 0 and power.mean() < 0 else math.nan
        cells = [f"`{pol}`", mode]
        for x in (total, place, power):
            mean, half, _ = mean_ci(x)
            cells.append(_fmt(mean, half, 1))
        cells.append(f"{100 * share:.0f} %" if math.isfinite(share) else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def sweep_tables(folder: Path, reference: str = "spill_west", brief: bool = False) -> str:
    """Both tables of a sweep folder, as printed by ``edwc table`` (``brief``: the README's columns)."""
    df = read_sweep_summary(folder)
    reps = sorted(set(int(r) for r in df["replication"]))
    out = [
        f"Sweep `{folder}`: {len(df)} runs, {len(reps)} replications per point; "
        "mean ± half-width of the 95 % t-interval over replications.\n",
        comparison_table(df, columns=BRIEF if brief else None),
    ]
    if reference in set(df[POLICY].astype(str)):
        out += [
            f"\nChange in electricity cost against `{reference}` with every server on "
            "(paired by replication):\n",
            decomposition_table(df, reference),
        ]
    return "\n".join(out)
