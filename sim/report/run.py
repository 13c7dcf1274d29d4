"""Run-report figures: utilisation heatmap, latency, energy / cost / carbon."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from sim.report.common import (
    EAST_CMAP,
    SIDE_COLOUR,
    WEST_CMAP,
    WEST_COLOUR,
    RunData,
    hours_axis_label,
    legend_or_note,
    new_figure,
    save,
)

PCT_STYLE = {"p50": ("#2f855a", 1.4), "p95": ("#2b6cb0", 1.8), "p99": ("#6b46c1", 1.4)}


def cluster_colours(data: RunData) -> dict[str, tuple[float, float, float, float]]:
    """One colour per cluster: blues for the east, oranges for the west."""
    out: dict[str, tuple[float, float, float, float]] = {}
    order = data.cluster_order()
    for side, cmap_name in (("east", EAST_CMAP), ("west", WEST_CMAP)):
        ids = [c for c in order if data.side(c) == side]
        cmap = plt.get_cmap(cmap_name)
        for i, c in enumerate(ids):
            out[c] = cmap(0.35 + 0.6 * (i + 0.5) / max(len(ids), 1))
    return out


def utilisation_heatmap(data: RunData, path: Path) -> Path:
    ts = data.timeseries
    order = [c for c in data.cluster_order() if c in set(ts["cluster"])]
    grid = ts.pivot_table(index="cluster", columns="time_s", values="utilisation").reindex(order)
    times_h = grid.columns.to_numpy(dtype=float) / 3600.0
    step_h = float(np.median(np.diff(times_h))) if len(times_h) > 1 else 1.0
    fig = new_figure(12, 0.42 * len(order) + 2.2)
    ax = fig.add_subplot(1, 1, 1)
    extent = (times_h[0], times_h[-1] + step_h, len(order) - 0.5, -0.5)
    im = ax.imshow(
        grid.to_numpy(), aspect="auto", cmap="magma_r", vmin=0, vmax=1, extent=extent, interpolation="nearest"
    )
    ax.set_yticks(range(len(order)))
    labels = [f"{c} ({data.side(c)})" for c in order]
    ax.set_yticklabels(labels)
    for tick, c in zip(ax.get_yticklabels(), order, strict=True):
        tick.set_color(SIDE_COLOUR.get(data.side(c), "black"))
    n_east = sum(1 for c in order if data.side(c) == "east")
    if 0 < n_east < len(order):
        ax.axhline(n_east - 0.5, color="white", lw=3)
        ax.axhline(n_east - 0.5, color="black", lw=1)
    ax.grid(False)
    ax.set_xlabel(hours_axis_label(data))
    ax.set_title("Utilisation by cluster over time (east above the line, west below)")
    cb = fig.colorbar(im, ax=ax, pad=0.01)
    cb.set_label("utilisation (busy / available servers)")
    return save(fig, path)


def _latency_jobs(data: RunData) -> pd.DataFrame:
    j = data.jobs
    done = j[j["status"] == "completed"].copy()
    done["added_ms"] = (done["network_s"] + done["wait_s"]) * 1000.0
    done["hour"] = np.floor(done["arrival_s"] / 3600.0)
    return done


def real_cdf(x: np.ndarray, real_jobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distribution of ``x`` over real jobs: each row counts for its ``real_jobs``
    (its ``job_scale``; all alike unless ``engine.bundling: pool``). Sorted values, shares."""
    order = np.argsort(x, kind="stable")
    w = real_jobs[order]
    if w.size and np.all(w == w[0]):
        return x[order], np.arange(1, len(x) + 1) / len(x)
    return x[order], np.cumsum(w) / w.sum()


def real_quantiles_by(df: pd.DataFrame, by: str, col: str, qs: tuple[float, ...]) -> pd.DataFrame:
    """Quantiles ``qs`` of ``col`` per ``by`` group over real jobs (rows weighted by ``job_scale``);
    a column per quantile. Rows of one weight give pandas' own (interpolated) quantiles."""
    if df["job_scale"].nunique() <= 1:
        out: pd.DataFrame = df.groupby(by)[col].quantile(np.array(qs)).unstack()
        return out

    def one(g: pd.DataFrame) -> pd.Series:
        xs, ys = real_cdf(g[col].to_numpy(dtype=float), g["job_scale"].to_numpy(dtype=float))
        at = np.minimum(np.searchsorted(ys, np.array(qs) - 1e-12), len(xs) - 1)
        return pd.Series(xs[at], index=list(qs))

    return pd.DataFrame({g: one(sub) for g, sub in df.groupby(by)[[col, "job_scale"]]}).T


def _classes(data: RunData, kind: str) -> list[str]:
    return [c for c, v in data.summary.get("classes", {}).items() if v.get("kind") == kind]


def latency_cdf(data: RunData, path: Path) -> Path:
    done = _latency_jobs(data)
    fig = new_figure(13, 4.8)
    colours = plt.get_cmap("tab10")
    panels = (
        ("latency", "Latency classes: network RTT + queueing wait", "network + wait (ms, log scale)"),
        ("batch", "Batch classes: response time vs deadline", "response time (h, log scale)"),
    )
    for k, (kind, title, xlabel) in enumerate(panels):
        ax = fig.add_subplot(1, 2, k + 1)
        for i, cls in enumerate(_classes(data, kind)):
            info = data.summary["classes"][cls]
            x = done.loc[done["class"] == cls, "added_ms" if kind == "latency" else "response_s"].to_numpy()
            if kind == "batch":
                x = x / 3600.0
            colour = colours(i % 10)
            target = info.get("slo_ms") if kind == "latency" else info.get("deadline_h")
            unit = "ms" if kind == "latency" else "h"
            word = "SLO" if kind == "latency" else "deadline"
            label = f"{cls} ({word} {float(target):g} {unit})" if target else cls
            if kind == "latency":
                xs_h, ys_h = _hist_cdf(data, cls)
                if xs_h.size:
                    ax.step(xs_h, ys_h, where="post", color=colour, lw=1.8, label=label)
            elif len(x):
                w = done.loc[done["class"] == cls, "job_scale"].to_numpy(dtype=float)
                xs, ys = real_cdf(np.maximum(x, 1e-3), w)
                ax.step(xs, ys, where="post", color=colour, lw=1.8, label=label)
            if target:
                ax.axvline(float(target), color=colour, ls="--", lw=1.2)
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("share of served requests" if kind == "latency" else "share of completed jobs")
        ax.set_title(title)
        legend_or_note(
            ax,
            f"no {kind} work served in this run",
            loc="lower right",
            ncol=1,
            title="class (dashed line: its target)",
            title_fontsize=8,
        )
    fig.suptitle("Latency CDF per class (dashed: SLO / deadline)", fontsize=13, fontweight="bold")
    fig.tight_layout()
    return save(fig, path)


def _hist_cdf(data: RunData, cls: str) -> tuple[np.ndarray, np.ndarray]:
    """CDF of a latency class's RTT + wait (ms) from its histogram (latency_hist.parquet)."""
    h = data.latency_hist
    if h is None:
        return np.zeros(0), np.zeros(0)
    mine = h[h["class"] == cls]
    total = float(mine["requests"].sum())
    if total <= 0:
        return np.zeros(0), np.zeros(0)
    # from 0 at the first bin's lower edge (a class whose requests all fall in one bin is a step)
    lo = max(float(mine["lo_ms"].iloc[0]), 1e-3)
    xs = np.concatenate([[lo], np.maximum(mine["hi_ms"].to_numpy(dtype=float), 1e-3)])
    return xs, np.concatenate([[0.0], np.cumsum(mine["requests"].to_numpy(dtype=float)) / total])


def _flows_hourly(data: RunData, cls: str) -> pd.DataFrame:
    """Per hour: requests, rejected share and the worst cluster's p95 wait (ms) of a latency class."""
    f = data.flows
    if f is None:
        return pd.DataFrame(columns=["requests", "rejected_share", "p95_wait_ms"])
    mine = f[f["class"] == cls]
    hour = np.floor(mine["time_s"].to_numpy(dtype=float) / 3600.0)
    g = mine.groupby(hour)
    out = pd.DataFrame({"requests": g["requests"].sum(), "rejected": g["rejected"].sum()})
    out["rejected_share"] = out["rejected"] / out["requests"].where(out["requests"] > 0)
    out["p95_wait_ms"] = g["p95_wait_s"].max() * 1000.0
    return out


def rejected_over_time(data: RunData, path: Path) -> Path | None:
    """Share of each latency class's requests rejected by admission control, hour by hour."""
    classes = _classes(data, "latency")
    if data.flows is None or not classes:
        return None
    fig = new_figure(12, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    colours = plt.get_cmap("tab10")
    for i, cls in enumerate(classes):
        hourly = _flows_hourly(data, cls)
        if len(hourly):
            ax.plot(hourly.index + 0.5, 100.0 * hourly["rejected_share"].fillna(0.0), lw=1.8,
                    color=colours(i % 10), marker="." if len(hourly) < 30 else None, label=cls)  # fmt: skip
    ax.set_ylim(bottom=0)
    ax.set_xlabel(hours_axis_label(data))
    ax.set_ylabel("rejected (% of the hour's requests)")
    ax.set_title("Latency requests rejected by admission control (no cluster within the SLO could take them)")
    legend_or_note(ax, "no latency requests in this run", loc="upper right", fontsize=9)
    fig.tight_layout()
    return save(fig, path)


def latency_over_time(data: RunData, path: Path) -> Path:
    done = _latency_jobs(data)
    classes = _classes(data, "latency") + _classes(data, "batch")
    ncol = 4
    nrow = max(1, (len(classes) + ncol - 1) // ncol)
    fig = new_figure(14, 3.0 * nrow + 0.8)
    for i, cls in enumerate(classes):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        info = data.summary["classes"][cls]
        kind = info.get("kind")
        sub = done[done["class"] == cls]
        col, scale, unit = ("added_ms", 1.0, "ms") if kind == "latency" else ("response_s", 1 / 3600, "h")
        if kind == "latency":
            hourly = _flows_hourly(data, cls)
            if len(hourly):
                colour, lw = PCT_STYLE["p95"]
                ax.plot(hourly.index + 0.5, np.maximum(hourly["p95_wait_ms"].fillna(0.0), 1e-3), lw=lw,
                        color=colour, label="p95 wait, worst cluster")  # fmt: skip
        elif len(sub):
            q = real_quantiles_by(sub, "hour", col, (0.5, 0.95, 0.99)) * scale
            for name, p in zip(("p50", "p95", "p99"), (0.5, 0.95, 0.99), strict=True):
                colour, lw = PCT_STYLE[name]
                ax.plot(
                    q.index + 0.5,
                    np.maximum(q[p], 0.1) if kind == "latency" else q[p],
                    lw=lw,
                    color=colour,
                    marker="." if len(q) < 30 else None,
                    label=name,
                )
        target = info.get("slo_ms") if kind == "latency" else info.get("deadline_h")
        if target:
            ax.axhline(float(target), color="crimson", ls="--", lw=1.4, label="target (SLO / deadline)")
        word = "SLO" if kind == "latency" else "deadline"
        ax.set_title(f"{cls} ({word} {float(target or 0):g} {unit})", fontsize=10)
        if kind == "latency":
            ax.set_yscale("log")
            ax.set_ylabel("queueing wait (ms, log)")
        else:
            ax.set_ylim(bottom=0)
            ax.set_ylabel("response (h)")
        ax.set_xlabel("hour of arrival (since start)")
        if i == 0:
            handles, labels = ax.get_legend_handles_labels()
            fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(
        "Latency over time per class (latency: worst cluster's p95 wait per hour; batch: p50 / p95 / p99)",
        fontsize=13,
        fontweight="bold",
    )
    fig.tight_layout()
    return save(fig, path)


def energy_cost_carbon(data: RunData, path: Path) -> Path:
    cl = data.summary.get("clusters", {})
    order = data.cluster_order()
    colours = cluster_colours(data)
    fig = new_figure(14, 8.5)
    gs = fig.add_gridspec(2, 3, height_ratios=[1.15, 1.0])
    metrics = (
        ("energy_kwh", 1e-3, "energy (MWh)"),
        ("cost_cny", 1e-6, "electricity cost (M CNY)"),
        ("tco2", 1.0, "carbon (tCO2)"),
    )
    for k, (key, scale, label) in enumerate(metrics):
        ax = fig.add_subplot(gs[0, k])
        for pos, side in enumerate(("east", "west")):
            bottom = 0.0
            for c in (c for c in order if data.side(c) == side):
                v = float(cl[c].get(key) or 0.0) * scale
                ax.bar(pos, v, bottom=bottom, color=colours[c], edgecolor="white", width=0.6)
                if v > 0.06 * _side_total(cl, key, scale):
                    ax.text(pos, bottom + v / 2, c, ha="center", va="center", fontsize=7)
                bottom += v
            ax.text(
                pos,
                bottom,
                f"{bottom:,.0f}" if bottom >= 100 else f"{bottom:.3g}",
                ha="center",
                va="bottom",
                fontsize=9,
                fontweight="bold",
            )
        ax.set_xticks([0, 1])
        ax.set_xticklabels(["east clusters", "west clusters"])
        ax.set_ylabel(label)
        ax.set_title(label.split(" (")[0].capitalize())
        ax.margins(y=0.12)
    handles = [Patch(color=colours[c], label=f"{c} ({data.side(c)})") for c in order]
    fig.legend(
        handles=handles, loc="upper center", ncol=min(len(order), 5), bbox_to_anchor=(0.5, 0.995), fontsize=8
    )
    ts = data.timeseries
    for k, (key, label) in enumerate(
        (
            ("pue", "PUE (facility / IT energy)"),
            ("tariff_cny_per_kwh", "tariff (CNY/kWh)"),
            ("grid_kgco2_per_kwh", "grid carbon (kgCO2/kWh)"),
        )
    ):
        ax = fig.add_subplot(gs[1, k])
        for c in order:
            sub = ts[ts["cluster"] == c]
            ls = "-" if data.side(c) == "east" else "--"
            ax.plot(sub["time_s"] / 3600.0, sub[key], ls=ls, color=colours[c], lw=1.5, label=c)
        ax.set_xlabel(hours_axis_label(data))
        ax.set_ylabel(label)
        title = label.split(" (")[0]
        ax.set_title(title[0].upper() + title[1:] + " over time")
    fig.text(
        0.5,
        -0.01,
        "Solid lines: east clusters; dashed lines: west clusters.",
        ha="center",
        fontsize=9,
        color="dimgray",
    )
    fig.suptitle("Energy, cost and carbon per cluster, east vs west", fontsize=13, fontweight="bold", y=1.03)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return save(fig, path)


def _side_total(cl: dict[str, dict[str, float]], key: str, scale: float) -> float:
    total = sum(float(v.get(key) or 0.0) for v in cl.values()) * scale
    return max(total, 1e-12)


__all__ = [
    "WEST_COLOUR",
    "energy_cost_carbon",
    "latency_cdf",
    "latency_over_time",
    "rejected_over_time",
    "utilisation_heatmap",
]
