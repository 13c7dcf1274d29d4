"""The sweep report: outcomes against each axis, and the trade-off fronts.

Input: a sweep folder with ``sweep.yaml`` (its ``axes``) and ``summary.parquet``
(one row per run: ``run_id``, one column per axis named by its dotted key path,
``replication``, ``seed``, ``status`` and the flattened summary scalars, e.g.
``cost_cny``, ``tco2``, ``classes.<name>.latency_ms.p95``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from matplotlib.axes import Axes

from models.errors import InputError
from sim.report.common import fmt_num, new_figure, save
from sim.report.html import Section, Table, write_html
from sim.runfolder import layout

FAILED = {"failed", "error", "timeout", "crashed"}
META = {"run_id", "replication", "seed", "status", "run_dir", "dir", "error", "wall_s", "simulation_s"}
HEADLINE = [
    ("cost_cny", 1e-6, "electricity cost (M CNY)"),
    ("tco2", 1.0, "carbon (tCO2)"),
    ("energy_kwh", 1e-3, "energy (MWh)"),
    ("east_west.west.share_of_served_compute", 100.0, "served in the west (%)"),
    ("jobs_dropped", 1.0, "jobs dropped (simulated jobs)"),
    ("worst_p95_ms", 1.0, "worst latency-class p95 (ms)"),
    ("slo_compliance", 100.0, "SLO compliance, all jobs (%)"),
]
P95 = "worst_p95_ms"


def axis_keys(spec: Any, columns: list[str]) -> list[str]:
    """The axis column names from ``sweep.yaml``'s ``axes`` (a mapping or a list)."""
    keys: list[str] = []
    if isinstance(spec, dict):
        keys = [str(k) for k in spec]
    elif isinstance(spec, list):
        for item in spec:
            if isinstance(item, str):
                keys.append(item)
            elif isinstance(item, dict):
                for field in ("key", "path", "name", "param"):
                    if field in item:
                        keys.append(str(item[field]))
                        break
                else:
                    if len(item) == 1:
                        keys.append(str(next(iter(item))))
    return [k for k in keys if k in columns]


def load_sweep(sweep_dir: Path) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    spec_path = sweep_dir / layout.SWEEP_SPEC
    try:
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(str(spec_path), "", f"cannot read: {exc}") from None
    try:
        df = pd.read_parquet(sweep_dir / layout.SWEEP_SUMMARY)
    except Exception as exc:
        raise InputError(str(sweep_dir / layout.SWEEP_SUMMARY), "", f"cannot read Parquet: {exc}") from None
    axes = axis_keys(spec.get("axes") if isinstance(spec, dict) else None, list(df.columns))
    if not axes:
        raise InputError(str(spec_path), "axes", "no axis of sweep.yaml names a column of summary.parquet")
    _derive(df)
    return df, axes, spec if isinstance(spec, dict) else {}


def _derive(df: pd.DataFrame) -> None:
    """Add ``worst_p95_ms`` (over latency classes) and job-weighted ``slo_compliance``."""
    classes = sorted({c.split(".")[1] for c in df.columns if c.startswith("classes.") and c.count(".") >= 2})
    lat = [
        c for c in classes if f"classes.{c}.slo_ms" in df.columns and df[f"classes.{c}.slo_ms"].notna().any()
    ]
    p95 = [f"classes.{c}.latency_ms.p95" for c in (lat or classes)]
    p95 = [c for c in p95 if c in df.columns]
    if p95:
        df[P95] = df[p95].max(axis=1)
    num = pd.Series(0.0, index=df.index)
    den = pd.Series(0.0, index=df.index)
    for c in classes:
        rate, jobs = f"classes.{c}.slo_violation_rate", f"classes.{c}.jobs"
        if rate in df.columns:
            w = df[jobs].astype(float) if jobs in df.columns else pd.Series(1.0, index=df.index)
            num += (1 - df[rate].astype(float)).fillna(0) * w
            den += w.where(df[rate].notna(), 0.0)
    if (den > 0).any():
        df["slo_compliance"] = num / den.replace(0, np.nan)


def outcomes(df: pd.DataFrame) -> list[tuple[str, float, str]]:
    out = [(k, s, lab) for k, s, lab in HEADLINE if k in df.columns and df[k].notna().any()]
    for c in sorted(df.columns):
        if c.startswith("classes.") and c.endswith("latency_ms.p95") and df[c].notna().any():
            out.append((c, 1.0, f"{c.split('.')[1]} p95 (ms)"))
    return out


def _label(row: Any, axes: list[str]) -> str:
    parts = []
    for a in axes:
        v = row[a]
        parts.append(f"{a.rsplit('.', 1)[-1]}={fmt_num(v) if isinstance(v, int | float) else v}")
    return ", ".join(parts)


def _positions(values: pd.Series) -> tuple[pd.Series, list[Any] | None]:
    """Numeric axis values as they are; categorical ones mapped to 0, 1, ..."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float), None
    cats = list(dict.fromkeys(values.astype(str)))
    return values.astype(str).map({c: i for i, c in enumerate(cats)}).astype(float), cats


def outcome_vs_axis(df: pd.DataFrame, axes: list[str], axis: str, path: Path) -> Path:
    outs = outcomes(df)
    others = [a for a in axes if a != axis]
    ncol = 3
    nrow = max(1, math.ceil(len(outs) / ncol))
    fig = new_figure(15, 3.6 * nrow + 0.8)
    groups = df.groupby(others, dropna=False) if others else [((), df)]
    for i, (key, scale, label) in enumerate(outs):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        for g, (gkey, sub) in enumerate(groups):
            stats = sub.groupby(axis)[key].agg(["mean", "std", "count"]).reset_index()
            x, cats = _positions(stats[axis])
            name = ", ".join(
                f"{o.rsplit('.', 1)[-1]}={v}"
                for o, v in zip(others, gkey if isinstance(gkey, tuple) else (gkey,), strict=False)
            )
            ax.errorbar(
                x,
                stats["mean"] * scale,
                yerr=stats["std"].fillna(0) * scale,
                marker="o",
                capsize=4,
                lw=1.6,
                label=name or "mean ± sd over replications",
                color=f"C{g % 10}",
            )
            if cats:
                ax.set_xticks(range(len(cats)))
                ax.set_xticklabels(cats)
        ax.set_xlabel(axis)
        ax.set_ylabel(label)
        ax.set_title(label.split(" (")[0])
        if i == 0:
            ax.legend(fontsize=7)
    fig.suptitle(
        f"Outcomes against {axis} (points: mean over replications; bars: ± 1 sd)",
        fontsize=13,
        fontweight="bold",
    )
    fig.tight_layout()
    return save(fig, path)


def pareto_mask(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """True where no other point is <= in both and < in one (minimise both)."""
    n = len(x)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = (x <= x[i]) & (y <= y[i]) & ((x < x[i]) | (y < y[i]))
        mask[i] = not dominated.any()
    return mask


def _front(ax: Axes, pts: pd.DataFrame, axes: list[str], xk: str, yk: str, xs: float, ys: float) -> None:
    x = pts[(xk, "mean")].to_numpy() * xs
    y = pts[(yk, "mean")].to_numpy() * ys
    xe = pts[(xk, "std")].fillna(0).to_numpy() * xs
    ye = pts[(yk, "std")].fillna(0).to_numpy() * ys
    ok = np.isfinite(x) & np.isfinite(y)
    mask = pareto_mask(np.where(ok, x, np.inf), np.where(ok, y, np.inf)) & ok
    ax.errorbar(
        x[~mask],
        y[~mask],
        xerr=xe[~mask],
        yerr=ye[~mask],
        fmt="o",
        color="#a0aec0",
        capsize=3,
        label="dominated run",
    )
    ax.errorbar(
        x[mask],
        y[mask],
        xerr=xe[mask],
        yerr=ye[mask],
        fmt="o",
        color="#c53030",
        capsize=3,
        ms=8,
        label="Pareto-optimal",
    )
    order = np.argsort(x[mask])
    ax.plot(x[mask][order], y[mask][order], color="#c53030", lw=1, ls="--")
    for j in np.flatnonzero(mask):
        ax.annotate(
            _label(pts.iloc[j], axes),
            (x[j], y[j]),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=7.5,
            color="#742a2a",
        )
    ax.legend(fontsize=8)


def fronts(df: pd.DataFrame, axes: list[str], path: Path) -> Path | None:
    pairs = [
        (P95, 1.0, "worst latency-class p95 latency (ms)", "cost_cny", 1e-6, "electricity cost (M CNY)"),
        ("cost_cny", 1e-6, "electricity cost (M CNY)", "tco2", 1.0, "carbon (tCO2)"),
    ]
    pairs = [p for p in pairs if p[0] in df.columns and p[3] in df.columns]
    if not pairs:
        return None
    keys = sorted({p[0] for p in pairs} | {p[3] for p in pairs})
    grouped = df.groupby(axes, dropna=False)[keys]
    mean, std = grouped.mean(), grouped.std()
    flat = mean.reset_index()[axes]
    for k in keys:
        flat[(k, "mean")] = mean[k].to_numpy()
        flat[(k, "std")] = std[k].to_numpy()
    fig = new_figure(7.5 * len(pairs), 6.2)
    for i, (xk, xs, xl, yk, ys, yl) in enumerate(pairs):
        ax = fig.add_subplot(1, len(pairs), i + 1)
        _front(ax, flat, axes, xk, yk, xs, ys)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(f"{yl.split(' (')[0].capitalize()} vs {xl.split(' (')[0]}")
    fig.suptitle(
        "Trade-off fronts (lower-left is better; red: Pareto-optimal parameter sets)",
        fontsize=13,
        fontweight="bold",
    )
    fig.tight_layout()
    return save(fig, path)


def write_sweep_report(sweep_dir: Path, out_dir: Path | None = None) -> Path:
    """Draw the sweep report of ``sweep_dir`` into ``out_dir`` (default: the sweep folder)."""
    df_all, axes, spec = load_sweep(sweep_dir)
    out = out_dir if out_dir is not None else sweep_dir
    out.mkdir(parents=True, exist_ok=True)
    status = df_all["status"].astype(str).str.lower() if "status" in df_all.columns else None
    df = df_all[~status.isin(FAILED)] if status is not None else df_all
    if df.empty:
        raise InputError(str(sweep_dir / layout.SWEEP_SUMMARY), "status", "no successful run to report")
    sections = [
        Section(
            "Sweep",
            facts=[
                ("runs", f"{len(df_all)} ({len(df_all) - len(df)} failed)"),
                ("axes", ", ".join(f"{a} ({df[a].nunique()} values)" for a in axes)),
                ("replications", str(df["replication"].nunique()) if "replication" in df.columns else "1"),
                ("base config", str(spec.get("base", spec.get("config", "–")))),
            ],
            tables=[_runs_table(df, axes)],
        )
    ]
    front = fronts(df, axes, out / "sweep_fronts.png")
    if front is not None:
        sections.append(
            Section(
                "Trade-off fronts",
                figures=[front],
                note="Each point is one parameter set (mean over replications, bars ± 1 sd). "
                "Red points are Pareto-optimal: no other set is at least as good on both "
                "outcomes and better on one.",
            )
        )
    for a in axes:
        safe = a.replace(".", "_").replace("/", "_")
        sections.append(
            Section(
                f"Outcomes against {a}", figures=[outcome_vs_axis(df, axes, a, out / f"sweep_{safe}.png")]
            )
        )
    return write_html(
        out / layout.REPORT,
        f"edwc sweep report: {sweep_dir.name}",
        f"{len(df_all)} runs over {len(axes)} axes, from {sweep_dir}",
        sections,
        "Drawn by `edwc report` from summary.parquet and sweep.yaml alone.",
    )


def _runs_table(df: pd.DataFrame, axes: list[str]) -> Table:
    keys = [k for k, _, _ in HEADLINE if k in df.columns]
    g = df.groupby(axes, dropna=False)[keys].mean().reset_index()
    rows = [[*(str(r[a]) for a in axes), *(fmt_num(r[k]) for k in keys)] for _, r in g.iterrows()]
    header = [*axes, *(f"{lab} (mean)" for k, _, lab in HEADLINE if k in keys)]
    return Table(header, rows)
