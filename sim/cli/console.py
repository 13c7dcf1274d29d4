"""What the CLI prints: the run summary and the topology, as rich tables."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sim.scenario import Scenario


def _f(x: float | None, fmt: str = "{:,.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def _dur(ms: float | None) -> str:
    """A duration given in ms, in the unit that reads best."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms:.1f} ms"
    if ms < 3.6e6:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 3.6e6:.2f} h"


def _console() -> Console:
    """A console that does not squeeze tables to 80 columns when output is piped."""
    con = Console()
    return con if con.is_terminal else Console(width=130)


def print_summary(s: Mapping[str, Any], out_dir: Path, console: Console | None = None) -> None:
    con = console or _console()
    con.print(
        f"[bold]{s['name']}[/bold]  policy [cyan]{s['policy']}[/cyan]  seed {s['seed']}  "
        f"{s['horizon_h']:g} h from {s['start']}  (1 simulated batch job = {s['server_scale']:,} real)"
    )
    con.print(
        f"batch jobs {s['jobs_total']:,}: completed {s['jobs_completed']:,}, dropped {s['jobs_dropped']:,}, "
        f"in flight {s['jobs_in_flight']:,}   wall {s['wall_s']:.1f} s"
    )
    if s.get("requests_total"):
        con.print(
            f"latency requests {s['requests_total']:.4g}: served {s['requests_served']:.4g}, "
            f"rejected {s['requests_rejected']:.4g} ({s['requests_rejected'] / s['requests_total']:.2%})"
        )
    t = Table(title="Workload classes (response = network + wait + service)", title_justify="left")
    for col in ("class", "target", "jobs/requests", "rejected", "resp. p50", "resp. p95", "net+wait p95",
                "SLO miss"):  # fmt: skip
        t.add_column(col, justify="left" if col == "class" else "right")
    for name, c in s["classes"].items():
        latency = c["kind"] == "latency"
        target = f"{c['slo_ms']:g} ms" if latency else f"{c['deadline_h']:g} h"
        lat, add = c["latency_ms"], c["added_latency_ms"]
        t.add_row(
            name,
            target,
            f"{c['requests']:.4g}" if latency else f"{c['jobs']:,}",
            f"{c['rejected']:.4g}" if latency else f"{c['dropped']:,}",
            _dur(lat["p50"]),
            _dur(lat["p95"]),
            _dur(add["p95"]),
            _f(c["slo_violation_rate"], "{:.2%}"),
        )
    con.print(t)
    t = Table(title="Clusters", title_justify="left")
    for col in ("cluster", "side", "servers", "PFLOPS", "mean util.", "server-h", "energy MWh", "cost kCNY",
                "tCO2"):  # fmt: skip
        t.add_column(col, justify="left" if col in ("cluster", "side") else "right")
    for cid, c in s["clusters"].items():
        t.add_row(
            cid,
            c["side"],
            f"{c['servers']:,}",
            f"{c.get('installed_pflops', 0.0):,.0f}",
            f"{c['mean_utilisation']:.1%}",
            f"{c['busy_server_h']:,.0f}",
            _f(c["energy_kwh"] / 1e3),
            _f(c["cost_cny"] / 1e3),
            _f(c["tco2"]),
        )
    con.print(t)
    ew = s["east_west"]
    con.print(
        f"energy {s['energy_kwh'] / 1e3:,.1f} MWh, cost {s['cost_cny'] / 1e3:,.1f} kCNY, "
        f"{s['tco2']:,.1f} tCO2; "
        f"served compute east {_f(ew['east']['share_of_served_compute'], '{:.1%}')} / "
        f"west {_f(ew['west']['share_of_served_compute'], '{:.1%}')}"
    )
    parts = [
        f"{kind.upper()} {c['installed_pflops'] / 1e3:,.1f} EFLOPS {c['precision']} installed, "
        f"{c['mean_busy_pflops'] / 1e3:,.1f} busy"
        for kind, c in (s.get("compute") or {}).items()
    ]
    if parts:
        con.print("compute: " + "; ".join(parts))
    plan = s.get("plan")
    if plan:
        statuses = ", ".join(f"{k}: {v}" for k, v in plan["statuses"].items())
        planned = plan["planned_total"]
        con.print(
            f"plan: {plan['solves']} solve(s) ({statuses}), {plan['solve_s']:.1f} s solving, "
            f"{plan['n_variables_max']:,} variables; planned {planned['energy_kwh'] / 1e3:,.1f} MWh "
            f"and {planned['cost_cny'] / 1e3:,.1f} kCNY; {plan['fallback_jobs']:,} jobs off-plan"
        )
        for msg in plan["messages"][-2:]:
            text = "  " + textwrap.shorten(msg, 240, placeholder=" …")
            con.print(text, style="dim", highlight=False, markup=False)
    con.print(f"run folder: {out_dir}")


def _print_sources(scn: Scenario, con: Console) -> None:
    """Where each cluster's figures come from (est. = engineering estimate)."""
    from models.reference import Figure, national_reference

    ref = national_reference()
    by_id = {c.id: c for c in [*ref.clusters, *ref.metro_dcs]}

    def cite(fig: Figure) -> str:
        src = ref.source_of(fig)
        year = f", {src.year}" if src.year else ""
        flag = " · est." if fig.estimate else ""
        title = src.title if len(src.title) <= 38 else src.title[:37] + "…"
        return f"{title}{year} ({src.grade}){flag}"

    t = Table(
        title="Sources of the cluster figures (est. = engineering estimate; (A)-(E) = source grade)",
        title_justify="left",
    )
    for col in ("site", "servers", "GPU share", "PUE (annual mean)", "tariff", "grid factor", "green share"):
        t.add_column(col, overflow="fold")
    for cid in dict.fromkeys(scn.topology.sites):  # the physical sites, once each
        if cid not in by_id:
            continue  # a site added by overrides.new_sites: its figures are its like's
        c = by_id[cid]
        pr = ref.provinces[c.province]
        gpu = cite(c.gpu_share) if c.gpu_share is not None else "-"
        t.add_row(
            cid, cite(c.servers), gpu, cite(c.pue_annual_mean), cite(pr.tariff_flat_cny_per_kwh),
            cite(pr.grid_kgco2_per_kwh), cite(c.green_share),
        )  # fmt: skip
    con.print(t)


def print_info(scn: Scenario, console: Console | None = None) -> None:
    con = console or _console()
    topo = scn.topology
    e = scn.energy
    t = Table(title=f"Clusters ({topo.n_clusters})", title_justify="left")
    for col in (
        "id",
        "hub",
        "side",
        "type",
        "servers",
        "PFLOPS",
        "PUE min-mean-max",
        "tariff CNY/kWh",
        "grid kgCO2/kWh",
        "green MW",
    ):
        t.add_column(col)
    for c, cid in enumerate(topo.cluster_ids):
        t.add_row(
            cid,
            topo.cluster_hub[c],
            topo.side(c),
            topo.types[c],
            f"{topo.cluster_servers[c]:,}",
            f"{topo.cluster_servers[c] * scn.tflops[c] / 1000:,.0f}",
            f"{e.pue[c].min():.2f}-{e.pue[c].mean():.3f}-{e.pue[c].max():.2f}",
            f"{e.tariff_cny_per_kwh[c].min():.3f}-{e.tariff_cny_per_kwh[c].max():.3f}",
            f"{e.grid_kgco2_per_kwh[c].mean():.4f}",
            f"{e.green_kw[c].mean() / 1000:,.1f}",
        )
    con.print(t)
    if isinstance(scn.config.topology, str):
        _print_sources(scn, con)
    t = Table(title=f"Demand regions ({topo.n_regions})", title_justify="left")
    for col in ("id", "name", "home hub", "weight", "nearest cluster", "RTT ms"):
        t.add_column(col)
    for r, rid in enumerate(topo.region_ids):
        near = int(topo.rtt_ms[r].argmin())
        t.add_row(
            rid,
            topo.region_names[r] if topo.region_names else rid,
            topo.region_hub[r] or "-",
            f"{topo.region_weight[r]:.3f}",
            topo.cluster_ids[near],
            f"{topo.rtt_ms[r, near]:.1f}",
        )
    con.print(t)
    t = Table(title="RTT ms (regions x sites; a site's server pools share its RTT)", title_justify="left")
    t.add_column("region")
    first = [topo.site_indices(s)[0] for s in dict.fromkeys(topo.sites)]
    for c in first:
        t.add_column(topo.sites[c][:10], justify="right")
    for r, rid in enumerate(topo.region_ids):
        t.add_row(rid, *(f"{topo.rtt_ms[r, c]:.1f}" for c in first))
    con.print(t)


@contextmanager
def progress_bar(
    horizon_s: float, enabled: bool = True, after_s: float = 2.0
) -> Iterator[Callable[[float], None]]:
    """A tick function for the engine: simulated time out of the horizon, on stderr.

    The bar appears only on a terminal and only once the run has lasted
    ``after_s`` seconds, so short runs and piped output stay silent.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    con = Console(stderr=True)
    if not enabled or not con.is_terminal:
        yield lambda now: None
        return
    t0 = time.monotonic()
    bar = Progress(
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.fields[hours]:,.1f} / {task.fields[total_h]:,.1f} h"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=con,
        transient=True,
    )
    task = bar.add_task("sim", total=horizon_s, hours=0.0, total_h=horizon_s / 3600.0)
    started = False

    def tick(now: float) -> None:
        nonlocal started
        if not started and time.monotonic() - t0 >= after_s:
            bar.start()
            started = True
        if started:
            bar.update(task, completed=now, hours=now / 3600.0)

    try:
        yield tick
    finally:
        if started:
            bar.stop()
