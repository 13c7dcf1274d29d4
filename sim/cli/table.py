"""The ``edwc table`` command (registered in sim/cli/main.py)."""

from __future__ import annotations

from pathlib import Path

import click

from sim.cli.common import guard as _guard


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--reference",
    default="spill_west",
    show_default=True,
    help="Policy whose always_on runs the decomposition compares against.",
)
@click.option("--brief", is_flag=True, help="Only the README's columns.")
@_guard
def table(folder: Path, reference: str, brief: bool) -> None:
    """Print a sweep folder's comparison table as markdown.

    One row per policy and power mode (the sweep's points), mean ± the
    half-width of the 95 % t-interval over replications for cost, energy,
    carbon, work served, the per-served-server-hour figures, SLO compliance
    weighted by real requests, work left in flight and powered servers; the
    last column is what power management alone saves against the same
    policy's always_on runs (paired by replication). A second table splits
    each point's cost change against REFERENCE (always_on) into placement
    and power management. Reads FOLDER/summary.parquet alone, e.g.

        edwc sweep configs/policy_comparison.yaml --out sweeps/policy_comparison
        edwc table sweeps/policy_comparison
    """
    from sim.report.table import sweep_tables

    click.echo(sweep_tables(folder, reference=reference, brief=brief), nl=False)
