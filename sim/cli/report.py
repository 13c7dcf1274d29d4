"""The ``edwc report`` command (registered in sim/cli/main.py)."""

from __future__ import annotations

from pathlib import Path

import click

from sim.cli.common import guard as _guard


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write report.html and the PNG figures (default: FOLDER).",
)
@_guard
def report(folder: Path, out_dir: Path | None) -> None:
    """Draw the report of a run folder or a sweep folder.

    A run folder (summary.json) gets the east->west map, utilisation heatmap,
    latency, energy/cost/carbon and (LP runs) plan figures; a sweep folder
    (summary.parquet + sweep.yaml) gets outcomes against each axis and the
    cost/latency and carbon/cost fronts. Figures are PNGs; report.html embeds
    them and opens offline.
    """
    from sim.report.write import write_report

    path = write_report(folder, out_dir)
    click.echo(f"{path}")
