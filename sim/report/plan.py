"""Run-report figures for LP runs: planned vs realised, shadow prices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.report.common import SIDE_COLOUR, RunData, new_figure, save

PLANNED_COLOUR = "#718096"


def has_plan(data: RunData) -> bool:
    return bool(data.summary.get("plan", {}).get("planned_vs_realised"))


def planned_vs_realised(data: RunData, path: Path) -> Path:
    pvr = data.summary["plan"]["planned_vs_realised"]
    order = [c for c in data.cluster_order() if c in pvr]
    x = np.arange(len(order))
    fig = new_figure(14, 9)
    panels = (
        ("utilisation", 100.0, "mean utilisation (%)"),
        ("energy_kwh", 1e-3, "energy (MWh)"),
        ("cost_cny", 1e-6, "electricity cost (M CNY)"),
        ("tco2", 1.0, "carbon (tCO2)"),
    )
    for k, (key, scale, label) in enumerate(panels):
        ax = fig.add_subplot(2, 2, k + 1)
        planned = [float(pvr[c].get(f"planned_{key}") or 0.0) * scale for c in order]
        realised = [float(pvr[c].get(f"realised_{key}") or 0.0) * scale for c in order]
        ax.bar(x - 0.2, planned, width=0.4, color=PLANNED_COLOUR, label="planned (LP)")
        ax.bar(
            x + 0.2,
            realised,
            width=0.4,
            color=[SIDE_COLOUR[data.side(c)] for c in order],
            label="realised (simulation)",
        )
        ax.set_xticks(x)
        ax.set_xticklabels(order, rotation=35, ha="right")
        for tick, c in zip(ax.get_xticklabels(), order, strict=True):
            tick.set_color(SIDE_COLOUR[data.side(c)])
        ax.set_ylabel(label)
        ax.set_title(f"Planned vs realised {label.split(' (')[0]}")
        if k == 0:
            ax.legend(loc="upper right")
    plan = data.summary["plan"]
    statuses = ", ".join(f"{k}: {v}" for k, v in (plan.get("statuses") or {}).items())
    fig.suptitle(
        f"LP plan vs simulation per cluster (solver {plan.get('solver', '?')}; {statuses})",
        fontsize=13,
        fontweight="bold",
    )
    fig.text(
        0.5,
        -0.01,
        "Realised bars: blue = east cluster, orange = west cluster; grey = the LP's plan.",
        ha="center",
        fontsize=9,
        color="dimgray",
    )
    fig.tight_layout()
    return save(fig, path)


def shadow_prices(data: RunData, path: Path) -> Path | None:
    sp = data.shadow
    order = data.cluster_order()
    if sp is None or sp.empty:
        means = data.summary.get("plan", {}).get("shadow_prices", {}).get("capacity_cny_per_server_h_mean")
        if not means:
            return None
        grid = None
    else:
        grid = sp.pivot_table(
            index="cluster", columns="hour", values="capacity_cny_per_server_h", aggfunc="mean"
        )
        order = [c for c in order if c in grid.index]
        grid = grid.reindex(order)
        means = grid.mean(axis=1).to_dict()
    fig = new_figure(14, 0.42 * len(order) + 2.4)
    gs = fig.add_gridspec(1, 2, width_ratios=[3, 1.1])
    if grid is not None:
        ax = fig.add_subplot(gs[0, 0])
        hours = grid.columns.to_numpy(dtype=float)
        vmax = float(np.nanmax(grid.to_numpy())) if np.isfinite(np.nanmax(grid.to_numpy())) else 1.0
        im = ax.imshow(
            grid.to_numpy(),
            aspect="auto",
            cmap="viridis",
            vmin=0,
            vmax=max(vmax, 1e-9),
            extent=(hours[0], hours[-1] + 1, len(order) - 0.5, -0.5),
            interpolation="nearest",
        )
        ax.set_yticks(range(len(order)))
        ax.set_yticklabels(order)
        for tick, c in zip(ax.get_yticklabels(), order, strict=True):
            tick.set_color(SIDE_COLOUR[data.side(c)])
        ax.grid(False)
        ax.set_xlabel("plan hour (hours since start)")
        ax.set_title("Shadow price of capacity by hour")
        fig.colorbar(im, ax=ax, pad=0.01).set_label("CNY per server-hour")
    ax2 = fig.add_subplot(gs[0, 1] if grid is not None else gs[0, :])
    vals = [float(means.get(c, 0.0)) for c in order]
    ax2.barh(range(len(order)), vals, color=[SIDE_COLOUR[data.side(c)] for c in order])
    ax2.set_yticks(range(len(order)))
    ax2.set_yticklabels(order)
    ax2.invert_yaxis()
    ax2.set_xlabel("mean shadow price (CNY per server-hour)")
    ax2.set_title("Mean over the horizon")
    fig.suptitle(
        "Where extra capacity is worth most: LP shadow prices per cluster (east blue, west orange)",
        fontsize=13,
        fontweight="bold",
    )
    fig.tight_layout()
    return save(fig, path)
