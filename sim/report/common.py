"""Shared pieces of the reports: reading a run folder, figure style, saving PNGs.

The reports draw from the files of a run (or sweep) folder alone; nothing is
re-simulated. Matplotlib always runs on the Agg backend (no display needed).
Cluster and region ids are the English reference ids, so every figure renders
with matplotlib's bundled DejaVu fonts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.runfolder import layout

EAST_COLOUR = "#2b6cb0"
WEST_COLOUR = "#dd6b20"
SIDE_COLOUR = {"east": EAST_COLOUR, "west": WEST_COLOUR}
EAST_CMAP = "Blues"
WEST_CMAP = "Oranges"
DPI = 110

STYLE: dict[str, Any] = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.framealpha": 0.85,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "font.family": "DejaVu Sans",
}


@dataclass
class Site:
    id: str
    lon: float | None
    lat: float | None
    side: str = "east"


@dataclass
class RunData:
    """Everything the run report draws, read from one run folder."""

    dir: Path
    summary: dict[str, Any]
    config: dict[str, Any]
    jobs: pd.DataFrame
    timeseries: pd.DataFrame
    plan: pd.DataFrame | None = None
    shadow: pd.DataFrame | None = None
    regions: dict[str, Site] = field(default_factory=dict)
    clusters: dict[str, Site] = field(default_factory=dict)
    flows: pd.DataFrame | None = None  # latency flows per step (flows.parquet)
    latency_hist: pd.DataFrame | None = None  # latency classes' RTT + wait histograms

    @property
    def server_scale(self) -> float:
        return float(self.summary.get("server_scale") or 1)

    def cluster_order(self) -> list[str]:
        """Clusters grouped east then west, each group in summary order."""
        cl = self.summary.get("clusters", {})
        east = [c for c, v in cl.items() if v.get("side", "east") == "east"]
        west = [c for c, v in cl.items() if v.get("side") == "west"]
        return east + west

    def side(self, cluster: str) -> str:
        return str(self.summary.get("clusters", {}).get(cluster, {}).get("side", "east"))

    def site_of(self, cluster: str) -> str:
        """The physical site of a cluster column (its server pool); the id itself in older runs."""
        return str(self.summary.get("clusters", {}).get(cluster, {}).get("site") or cluster)


def is_run_dir(path: Path) -> bool:
    return layout.is_run_dir(path)


def is_sweep_dir(path: Path) -> bool:
    return layout.is_sweep_dir(path)


JOB_COLUMNS = [
    "class",
    "region",
    "cluster",
    "status",
    "arrival_s",
    "network_s",
    "wait_s",
    "response_s",
    "service_s",
    "data_gb",
    "job_scale",
]


def load_run(run_dir: Path) -> RunData:
    """Read a run folder (summary.json, jobs/timeseries Parquet, plan if any)."""
    summary = layout.read_summary(run_dir)
    config = layout.read_config(run_dir)
    jobs = layout.read_table(run_dir, layout.JOBS, JOB_COLUMNS)
    ts = layout.read_table(run_dir, layout.TIMESERIES)
    plan = layout.read_table(run_dir, layout.PLAN) if (run_dir / layout.PLAN).is_file() else None
    shadow = None
    if (run_dir / layout.SHADOW_PRICES).is_file():
        shadow = layout.read_table(run_dir, layout.SHADOW_PRICES)
    data = RunData(run_dir, summary, config, jobs, ts, plan, shadow)
    if (run_dir / layout.FLOWS).is_file():
        cols = ["time_s", "region", "class", "cluster", "requests", "served", "rejected", "p95_wait_s"]
        data.flows = layout.read_table(run_dir, layout.FLOWS, cols)
    if (run_dir / layout.LATENCY_HIST).is_file():
        data.latency_hist = layout.read_table(run_dir, layout.LATENCY_HIST)
    _attach_sites(data)
    return data


def _attach_sites(data: RunData) -> None:
    """Coordinates of regions and clusters: inline topology, else the national reference."""
    topo = data.config.get("topology", "national")
    sides = {c: str(v.get("side", "east")) for c, v in data.summary.get("clusters", {}).items()}
    if isinstance(topo, dict):
        for r in topo.get("regions", []):
            data.regions[r["id"]] = Site(r["id"], r.get("lon"), r.get("lat"))
        for c in topo.get("clusters", []):
            data.clusters[c["id"]] = Site(c["id"], c.get("lon"), c.get("lat"), sides.get(c["id"], "east"))
    else:
        from models.reference import national_reference

        ref = national_reference()
        for r in ref.regions:
            data.regions[r.id] = Site(r.id, float(r.lon.scalar), float(r.lat.scalar))
        for c in [*ref.clusters, *ref.metro_dcs]:
            lon, lat = float(c.lon.scalar), float(c.lat.scalar)
            data.clusters[c.id] = Site(c.id, lon, lat, sides.get(c.id, "east"))
    for sid, ns in ((data.config.get("overrides") or {}).get("new_sites") or {}).items():
        like = data.clusters.get(str(ns.get("like")))  # a new site: its own place, else its like's
        if like is not None and sid not in data.clusters:
            lon, lat = ns.get("lon", like.lon), ns.get("lat", like.lat)
            data.clusters[sid] = Site(sid, lon, lat, sides.get(sid, like.side))
    for cid in data.summary.get("clusters", {}):  # a site's server pools stand where the site stands
        site = data.clusters.get(data.site_of(cid))
        if cid not in data.clusters and site is not None:
            data.clusters[cid] = Site(cid, site.lon, site.lat, sides.get(cid, site.side))


def new_figure(width: float, height: float) -> Figure:
    plt.style.use(STYLE)
    return plt.figure(figsize=(width, height), dpi=DPI)


def legend_or_note(ax: Axes, note: str, **legend: Any) -> None:
    """A legend when ``ax`` has labelled artists; else ``note`` in its middle, so that an empty
    panel says why it is empty."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**legend)
    else:
        ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", color="0.4")


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG (temporary name, then rename) and close it."""
    from sim.runfolder.write import atomic_write

    try:
        atomic_write(
            path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
        )
    finally:
        plt.close(fig)
    return path


def fmt_num(x: float | int | None, digits: int = 3) -> str:
    """A compact human number: 1.23 M, 45.6 k, 0.0123."""
    if x is None:
        return "–"
    v = float(x)
    if v != v:
        return "–"
    a = abs(v)
    for div, suffix in ((1e12, " T"), (1e9, " G"), (1e6, " M"), (1e3, " k")):
        if a >= div:
            return f"{v / div:.{digits}g}{suffix}"
    if a == 0:
        return "0"
    return f"{v:.{digits}g}"


def hours_axis_label(data: RunData) -> str:
    start = str(data.summary.get("start", ""))
    return f"hours since {start[:16].replace('T', ' ')}" if start else "hours since start"
