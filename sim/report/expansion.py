"""The report of an ``edwc expand`` folder: a map of the new builds and the cost breakdown.

Drawn from ``expansion.json`` and ``expansion.parquet`` alone (and the validation
run's summary when there is one); nothing is re-solved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from models.errors import InputError
from sim.report.common import EAST_COLOUR, SIDE_COLOUR, WEST_COLOUR, fmt_num, new_figure, save
from sim.report.html import Section, Table, write_html
from sim.report.map import CHINA_EXTENT, SCS_EXTENT, _draw_china, _frame

__all__ = ["TERM_LABELS", "cost_breakdown", "is_expansion_dir", "new_builds_map", "write_expansion_report"]

TERM_LABELS = {
    "capex_servers_cny": "capex: servers",
    "capex_bandwidth_cny": "capex: bandwidth",
    "energy_cny": "energy",
    "carbon_cny": "carbon price x emissions",
    "latency_cny": "latency",
    "transfer_cny": "transfer",
    "unserved_cny": "unserved penalty",
}
TERM_COLOURS = ["#2b6cb0", "#63b3ed", "#dd6b20", "#718096", "#38a169", "#d69e2e", "#e53e3e"]


def is_expansion_dir(path: Path) -> bool:
    return (path / "expansion.json").is_file() and (path / "expansion.parquet").is_file()


def _load(folder: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    if not is_expansion_dir(folder):
        raise InputError(str(folder), "", "not an expansion folder (expansion.json + expansion.parquet)")
    doc: dict[str, Any] = json.loads((folder / "expansion.json").read_text(encoding="utf-8"))
    return doc, pd.read_parquet(folder / "expansion.parquet")


def new_builds_map(doc: dict[str, Any], df: pd.DataFrame, path: Path) -> Path | None:
    """Clusters on the map of China, bubbles sized by new servers of the last target year."""
    clusters = doc["clusters"]
    if not clusters or any(v.get("lon") is None for v in clusters.values()):
        return None
    year = int(df["year"].max())
    last = df[(df["year"] == year) & (df["kind"] == "cluster")].set_index("cluster")
    # cumulative new servers over all periods up to the last one
    built = df[df["kind"] == "cluster"].groupby("cluster")["new_servers"].sum()
    lons = [float(v["lon"]) for v in clusters.values()]
    lats = [float(v["lat"]) for v in clusters.values()]
    china = all(CHINA_EXTENT[0] <= x <= CHINA_EXTENT[1] for x in lons) and all(15 <= y <= 54 for y in lats)
    fig = new_figure(13, 9.5)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9))
    if china:
        extent = CHINA_EXTENT
        _draw_china(ax)
    else:
        extent = (min(lons) - 3, max(lons) + 3, min(lats) - 3, max(lats) + 3)
    _frame(ax, extent)
    # one bubble per site: its server pools (CPU, and GPU as <site>_gpu) together
    site_of = {cid: str(meta.get("site") or cid) for cid, meta in clusters.items()}
    gpu_new = {s: 0.0 for s in site_of.values()}
    for cid, meta in clusters.items():
        if meta.get("server_type") == "gpu":
            gpu_new[site_of[cid]] += float(built.get(cid, 0.0))
    by_site = built.groupby(lambda c: site_of.get(str(c), str(c))).sum()
    inst = last["installed_servers"].groupby(lambda c: site_of.get(str(c), str(c))).sum()
    sites = {site_of[cid]: meta for cid, meta in clusters.items()}
    biggest = max(float(by_site.max()) if len(by_site) else 0.0, 1.0)
    for cid, meta in sites.items():
        x, y = float(meta["lon"]), float(meta["lat"])
        n = float(by_site.get(cid, 0.0))
        installed = float(inst.get(cid, 0.0))
        colour = SIDE_COLOUR[meta["side"]]
        ax.scatter(x, y, s=30 + 2500 * installed / max(biggest, installed, 1.0), facecolor="none",
                   edgecolor=colour, lw=1.2, ls="--", zorder=4)  # fmt: skip
        if n > 0.5:
            ax.scatter(x, y, s=30 + 2500 * n / biggest, color=colour, alpha=0.55, edgecolor="black", lw=0.8,
                       zorder=5)  # fmt: skip
        gpu = f" ({fmt_num(gpu_new[cid])} GPU)" if gpu_new.get(cid, 0.0) > 0.5 else ""
        label = f"{cid}\n+{fmt_num(n)}{gpu}" if n > 0.5 else cid
        ax.annotate(label, (x, y), xytext=(8, 6), textcoords="offset points", fontsize=9,
                    fontweight="bold", color=colour, zorder=6)  # fmt: skip
    if china:
        ins = ax.inset_axes((0.83, 0.0, 0.17, 0.3))
        _frame(ins, SCS_EXTENT)
        _draw_china(ins, lw=0.3)
        ins.set_xticks([])
        ins.set_yticks([])
    handles = [
        Line2D([], [], marker="o", ls="", color=WEST_COLOUR, alpha=0.55, ms=12, label="new servers, west"),
        Line2D([], [], marker="o", ls="", color=EAST_COLOUR, alpha=0.55, ms=12, label="new servers, east"),
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markerfacecolor="none",
            markeredgecolor="gray",
            ms=12,
            label="dashed: installed before the last period",
        ),
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=9)
    total = float(built.sum())
    west = float(built[[c for c in built.index if clusters[c]["side"] == "west"]].sum())
    ax.set_title(
        f"New servers by {year}: {fmt_num(total)} in all, {100 * west / max(total, 1e-12):.0f} % in the west "
        f"(carbon price {doc.get('carbon_price_cny_per_t', 0):g} CNY/t)",
        fontsize=13,
    )
    ax.set_xlabel("longitude (deg E)")
    ax.set_ylabel("latitude (deg N)")
    return save(fig, path)


def cost_breakdown(doc: dict[str, Any], path: Path) -> Path:
    """Stacked bars: the annual cost of each target year by term."""
    periods = doc["periods"]
    fig = new_figure(8, 5)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(periods))
    bottom = np.zeros(len(periods))
    for term, colour in zip(TERM_LABELS, TERM_COLOURS, strict=True):
        vals = np.array([float(p["cost_breakdown_cny_per_year"].get(term, 0.0)) / 1e9 for p in periods])
        if not np.any(np.abs(vals) > 1e-12):
            continue
        ax.bar(x, vals, bottom=bottom, color=colour, label=TERM_LABELS[term], width=0.6)
        bottom += vals
    ax.set_xticks(x, [str(p["year"]) for p in periods])
    ax.set_ylabel("billion CNY per year")
    ax.set_title("Annual cost of the expanded system")
    ax.legend(loc="upper left", fontsize=8)
    return save(fig, path)


def write_expansion_report(folder: Path, out_dir: Path | None = None) -> Path:
    """Draw ``report.html`` (map of new builds, cost breakdown, tables) for an expansion folder."""
    doc, df = _load(folder)
    out = out_dir if out_dir is not None else folder
    out.mkdir(parents=True, exist_ok=True)
    figs = [
        f
        for f in (
            new_builds_map(doc, df, out / "expansion_map.png"),
            cost_breakdown(doc, out / "expansion_cost.png"),
        )
        if f is not None
    ]
    periods = doc["periods"]
    build_rows = []
    for cid, meta in doc["clusters"].items():
        row = [cid, meta["side"]]
        for p in periods:
            row += [fmt_num(p["new_servers"][cid]), f"{100 * p['utilisation'][cid]:.0f} %",
                    fmt_num(p["duals"]["capacity_cny_per_server_year"][cid])]  # fmt: skip
        build_rows.append(row)
    header = ["cluster", "side"]
    for p in periods:
        y = p["year"]
        header += [f"new servers {y}", f"utilisation {y}", f"capacity dual {y} (CNY/server-yr)"]
    cost_rows = [[TERM_LABELS[t], *[fmt_num(p["cost_breakdown_cny_per_year"][t]) for p in periods]]
                 for t in TERM_LABELS]  # fmt: skip
    cost_rows.append(["total", *[fmt_num(p["objective_cny_per_year"]) for p in periods]])
    dual_rows = []
    for p in periods:
        for name, d in p["duals"]["targets"].items():
            dual_rows.append([str(p["year"]), name, fmt_num(d["value"]), d["unit"]])
        for name, v in p["duals"]["slo_cny_per_sh"].items():
            dual_rows.append([str(p["year"]), f"SLO {name}", fmt_num(v), "CNY per sh of the class"])
    sections = [
        Section(
            "New builds",
            figures=figs[:1],
            tables=[Table(header, build_rows)],
            note="Bubbles: new servers (cumulative over the target years); dashed circles: servers installed "
            "before the last period. Capacity dual: annual CNY one more server in that cluster would save "
            "(it equals the annualised capex wherever the LP builds).",
        ),
        Section(
            "Annual cost",
            figures=figs[1:],
            tables=[Table(["term (CNY per year)", *[str(p["year"]) for p in periods]], cost_rows)],
        ),
        Section(
            "Duals of targets and SLOs", tables=[Table(["year", "constraint", "dual", "unit"], dual_rows)]
        ),
    ]
    v = doc.get("validation")
    if v:
        rows = [
            [n, f"{100 * c['planned_served_share']:.2f} %",
             "–" if c["realised_slo_compliance"] is None else f"{100 * c['realised_slo_compliance']:.2f} %"]
            for n, c in v["classes"].items()
        ]  # fmt: skip
        rows.append(
            ["energy (kWh)", fmt_num(v["energy_kwh"]["planned"]), fmt_num(v["energy_kwh"]["realised"])]
        )
        rows.append(["carbon (tCO2)", fmt_num(v["tco2"]["planned"]), fmt_num(v["tco2"]["realised"])])
        sections.append(
            Section(
                f"Validation: {v['hours']} h of {v['year']} simulated with policy {v['policy']}",
                tables=[Table(["", "planned", "realised"], rows)],
                note="Planned: share of each class's demand the LP serves within its SLO route or deadline "
                "on the same calendar days (their typical days); realised: the simulation's SLO/deadline "
                f"compliance. The validation run folder is {v['run_folder']}.",
            )
        )
    return write_html(
        out / "report.html",
        f"edwc expansion report: {doc['name']}",
        f"target years {', '.join(str(p['year']) for p in periods)}; base year {doc['base_year']}",
        sections,
        "Drawn by `edwc report` from expansion.json and expansion.parquet.",
    )
