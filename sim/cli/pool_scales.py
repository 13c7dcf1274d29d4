"""The ``edwc pool-scales`` command (registered in sim/cli/main.py)."""

from __future__ import annotations

from pathlib import Path

import click

from sim.cli.common import guard as _guard


@click.command("pool-scales")
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--tolerance", default=0.02, show_default=True, type=click.FloatRange(0.0, 1.0, min_open=True),
              help="Largest relative error of the mean batch response against Erlang C.")  # fmt: skip
@_guard
def pool_scales(run_dir: Path, tolerance: float) -> None:
    """Print each pool's largest honest engine.pool_job_scale, from the run at RUN_DIR.

    For every pool: its batch servers and loads (the run's mean and busiest hour), its
    (class, region) streams, and the largest scale whose bundled queue stays within
    TOLERANCE of Erlang C for the real pool, fed by those streams bundled apart
    (engine.bundling: pool); then the mapping to paste into the config, e.g.

        edwc run configs/baseline.yaml --set engine.bundling=pool --out runs/day
        edwc pool-scales runs/day
    """
    from models.errors import InputError
    from sim.report.pool_scales import pool_scales as check
    from sim.report.pool_scales import scale_table, scales_yaml
    from sim.runfolder import layout

    for name in (layout.TIMESERIES, layout.JOBS):
        if not (run_dir / name).is_file():
            raise InputError(
                str(run_dir), name, "expected a run folder (edwc run --out ...) holding this file"
            )
    scales = check(run_dir, tolerance=tolerance)
    click.echo(scale_table(scales))
    click.echo(f"engine.pool_job_scale: {scales_yaml(scales)}")
