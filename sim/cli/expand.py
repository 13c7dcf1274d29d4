"""The ``edwc expand`` command (registered in sim/cli/main.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sim.cli.common import guard as _guard


@click.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder (default: output.dir or runs/NAME).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override one config value, e.g. --set energy.carbon_price_cny_per_t=200 "
    "--set expansion.typical_days=24 (values are read as YAML).",
)
@click.option("--no-validate", is_flag=True, help="Skip the validation simulation of the expanded fleet.")
@click.option("--no-report", is_flag=True, help="Do not draw report.html and its figures.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@_guard
def expand(
    config: Path, out_dir: Path | None, sets: tuple[str, ...], no_validate: bool, no_report: bool, quiet: bool
) -> None:
    """Plan where to build servers (and path bandwidth) for CONFIG's `expansion` section.

    A PuLP LP solved by HiGHS chooses the new servers per cluster of least annual
    cost (annualised capex + energy + carbon price x emissions + latency +
    unserved penalty) over k typical days of each target year, under the
    operating planner's constraints and the programme's targets. Writes
    expansion.parquet, expansion.json and (unless --no-validate) a validation
    run folder `validation/` simulating the expanded fleet. A target that
    cannot be met exits with code 2 and names it.
    """
    from sim.config_io import load_config
    from sim.expansion import expand as do_expand

    cfg = load_config(config, list(sets))
    echo = (lambda _m: None) if quiet else click.echo
    outcome = do_expand(
        cfg, str(config), out_dir, base_dir=config.parent, validate=False if no_validate else None, echo=echo
    )
    if not no_report:
        from sim.report.expansion import write_expansion_report

        write_expansion_report(outcome.out_dir)
    if not quiet:
        print_expansion(outcome.summary, outcome.out_dir)


def print_expansion(s: dict[str, Any], out_dir: Path) -> None:
    """The builds of each target year, the cost breakdown and the validation, as rich tables."""
    from rich.console import Console
    from rich.table import Table

    con = Console() if Console().is_terminal else Console(width=130)
    periods = s["periods"]
    t = Table(
        title=f"{s['name']}: new servers per cluster (carbon price {s['carbon_price_cny_per_t']:g} CNY/t)"
    )
    t.add_column("cluster")
    t.add_column("side")
    for p in periods:
        t.add_column(f"new {p['year']}", justify="right")
        t.add_column(f"util. {p['year']}", justify="right")
    for cid, meta in s["clusters"].items():
        row = [cid, meta["side"]]
        for p in periods:
            row += [f"{p['new_servers'][cid]:,.0f}", f"{100 * p['utilisation'][cid]:.0f} %"]
        t.add_row(*row)
    con.print(t)
    c = Table(title="annual cost (million CNY per year)")
    c.add_column("term")
    for p in periods:
        c.add_column(str(p["year"]), justify="right")
    for term in periods[0]["cost_breakdown_cny_per_year"]:
        c.add_row(term, *[f"{p['cost_breakdown_cny_per_year'][term] / 1e6:,.1f}" for p in periods])
    c.add_row("total", *[f"{p['objective_cny_per_year'] / 1e6:,.1f}" for p in periods])
    con.print(c)
    v = s.get("validation")
    if v:
        vt = Table(title=f"validation: {v['hours']} h of {v['year']} simulated with policy {v['policy']}")
        vt.add_column("class")
        vt.add_column("planned served", justify="right")
        vt.add_column("realised SLO/deadline compliance", justify="right")
        for name, row in v["classes"].items():
            real = row["realised_slo_compliance"]
            vt.add_row(
                name,
                f"{100 * row['planned_served_share']:.2f} %",
                "-" if real is None else f"{100 * real:.2f} %",
            )
        vt.add_row(
            "energy (MWh)",
            f"{v['energy_kwh']['planned'] / 1e3:,.1f}",
            f"{v['energy_kwh']['realised'] / 1e3:,.1f}",
        )
        con.print(vt)
    con.print(f"[bold]{out_dir}[/bold]: expansion.parquet, expansion.json" + (", validation/" if v else ""))
