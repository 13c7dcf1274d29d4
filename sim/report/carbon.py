"""Run-report figure: each cluster's grid carbon signal over time, with the load it executed beside it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sim.report.common import RunData, hours_axis_label, new_figure, save

SIGNAL_COLOUR = "#2f855a"
MARGINAL_COLOUR = "#9c4221"
LOAD_COLOUR = "#2b6cb0"


def carbon_signal_and_load(data: RunData, path: Path) -> Path:
    """One panel per cluster: the hour's carbon factor (left axis) and busy servers (right axis).

    The factor is the one on net grid draw (``grid_kgco2_per_kwh``: average,
    residual mix where green power is contracted) and, when given, the
    marginal factor (dashed). The shaded load shows when the work ran: a
    carbon-aware policy moves it under the signal's troughs.
    """
    ts = data.timeseries
    order = [c for c in data.cluster_order() if c in set(ts["cluster"].astype(str))]
    n = max(len(order), 1)
    cols = min(n, 2 if n <= 4 else 3)
    rows = math.ceil(n / cols)
    fig = new_figure(5.2 * cols, 2.5 * rows + 1.0)
    has_marginal = "marginal_kgco2_per_kwh" in ts.columns and bool(ts["marginal_kgco2_per_kwh"].notna().any())
    signal = data.summary.get("carbon", {}).get("signal", "average")
    for i, c in enumerate(order):
        ax = fig.add_subplot(rows, cols, i + 1)
        sub = ts[ts["cluster"].astype(str) == c].sort_values("time_s")
        t = sub["time_s"].to_numpy(dtype=float) / 3600.0
        load = ax.twinx()
        load.fill_between(t, sub["busy_servers"].to_numpy(dtype=float), step="post", color=LOAD_COLOUR,
                          alpha=0.25, lw=0)  # fmt: skip
        load.set_ylim(bottom=0)
        load.tick_params(axis="y", labelsize=7, colors=LOAD_COLOUR)
        load.grid(False)
        ax.step(t, sub["grid_kgco2_per_kwh"], where="post", color=SIGNAL_COLOUR, lw=1.4, label="average")
        if has_marginal:
            ax.step(t, sub["marginal_kgco2_per_kwh"], where="post", color=MARGINAL_COLOUR, lw=1.2, ls="--",
                    label="marginal")  # fmt: skip
        ax.set_zorder(load.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="y", labelsize=7, colors=SIGNAL_COLOUR)
        ax.tick_params(axis="x", labelsize=7)
        busy = sub["busy_servers"].to_numpy(dtype=float)
        factor = sub["grid_kgco2_per_kwh"].to_numpy(dtype=float)
        w = f"load-weighted {np.sum(busy * factor) / np.sum(busy):.3f}" if np.sum(busy) > 0 else "no load"
        ax.set_title(f"{c} ({data.side(c)}): {w}, mean {np.mean(factor):.3f}", fontsize=8)
        if i % cols == 0:
            ax.set_ylabel("kgCO2/kWh", fontsize=8, color=SIGNAL_COLOUR)
        if (i % cols == cols - 1) or i == n - 1:
            load.set_ylabel("busy servers", fontsize=8, color=LOAD_COLOUR)
        if i >= n - cols:
            ax.set_xlabel(hours_axis_label(data), fontsize=8)
    what = "average (line) and marginal (dashed)" if has_marginal else "average"
    fig.suptitle(
        f"Grid carbon signal ({what} factor, kgCO2/kWh) and executed load (shaded, busy servers); "
        f"the policy optimised the {signal} signal",
        fontsize=10,
        fontweight="bold",
    )
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return save(fig, path)


__all__ = ["carbon_signal_and_load"]
