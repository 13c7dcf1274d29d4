"""``edwc sweep``: many runs of one config over a grid, zipped axes or random draws.

Registered in :mod:`sim.cli.main`. Exit codes: 0 every run succeeded; 1 at least
one run failed (each failure is in ``summary.parquet`` with its error, and in
``runs/<id>/error.txt``); 2 bad input (spec, config, an invalid combination,
an unreachable scheduler), reported before any run starts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from sim.cli.common import guard as _guard

EXIT_RUN_FAILED = 1


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int, int], None]]:
    """A rich bar on stderr (runs done / total, failures, ETA), only on a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    con = Console(stderr=True)
    if not enabled or not con.is_terminal:
        yield lambda done, total, failed: None
        return
    bar = Progress(
        TextColumn("sweep"),
        BarColumn(),
        TextColumn("{task.fields[done]}/{task.fields[runs]} runs, {task.fields[failed]} failed, ETA"),
        TimeRemainingColumn(),
        console=con,
        transient=True,
    )
    task = bar.add_task("sweep", total=None, done=0, runs=0, failed=0)
    skipped: list[int] = []

    def tick(done: int, total: int, failed: int) -> None:
        if not skipped:  # runs already complete (resume) do not count towards the ETA's rate
            skipped.append(done)
            bar.update(task, total=max(1, total - done))
        bar.update(task, completed=done - skipped[0], done=done, runs=total, failed=failed)

    with bar:
        yield tick


@click.command()
@click.argument("spec_or_config", metavar="SPEC_OR_CONFIG", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--grid", "grids", multiple=True, metavar="KEY.PATH=V1,V2,...", help="A grid axis (Cartesian).")
@click.option(
    "--zip", "zips", multiple=True, metavar="KEY.PATH=V1,V2,...", help="A zipped axis (equal lengths)."
)
@click.option(
    "--random",
    "randoms",
    multiple=True,
    metavar="KEY.PATH=DIST:P1,P2",
    help="A random axis: uniform:LOW,HIGH | loguniform:LOW,HIGH | normal:MEAN,SD | randint:LOW,HIGH | "
    "choice:A,B,...",
)
@click.option("--samples", type=click.IntRange(min=1), help="Random sweeps: number of draws.")
@click.option("--replications", type=click.IntRange(min=1), help="Runs per point, each with its own seed.")
@click.option(
    "--common-seeds",
    is_flag=True,
    help="Common random numbers: replication r of every point uses the same seed (spec key seeds: common).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), help="Local worker processes (default: the number of cores)."
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT|local",
    help="Run on a Dask scheduler, or 'local' for a distributed.LocalCluster of --workers processes.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Sweep folder (default: sweeps/NAME).",
)
@click.option("--seed", type=click.IntRange(min=0), help="The sweep seed (runs' seeds derive from it).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override one value of the base config (values are read as YAML).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@_guard
def sweep(
    spec_or_config: Path,
    grids: tuple[str, ...],
    zips: tuple[str, ...],
    randoms: tuple[str, ...],
    samples: int | None,
    replications: int | None,
    common_seeds: bool,
    workers: int | None,
    scheduler: str | None,
    out_dir: Path | None,
    seed: int | None,
    sets: tuple[str, ...],
    quiet: bool,
) -> None:
    """Run a parameter sweep: SPEC_OR_CONFIG is a sweep spec (top-level `base` and `axes`) or a config.

    \b
      edwc sweep configs/baseline.yaml --grid policy.name=nearest,lp \\
          --grid energy.carbon_price_cny_per_t=0,100 --replications 5
      edwc sweep configs/carbon_price_sweep.yaml --scheduler tcp://10.0.0.5:8786

    Writes SWEEP_DIR/sweep.yaml, SWEEP_DIR/runs/<run-id>/ (run folders) and
    SWEEP_DIR/summary.parquet (one row per run). Re-running the same command
    skips complete runs. Exit code 1 if any run failed, 2 for bad input.
    """
    from sim.config_io import read_yaml_mapping
    from sim.sweeps.args import spec_from_cli
    from sim.sweeps.driver import run_sweep

    doc = read_yaml_mapping(spec_or_config)
    spec = spec_from_cli(
        spec_or_config,
        doc,
        {"--grid": list(grids), "--zip": list(zips), "--random": list(randoms)},
        list(sets),
        samples=samples,
        replications=replications,
        seed=seed,
        common_seeds=common_seeds,
    )
    if scheduler is not None and scheduler != "local" and "://" not in scheduler:
        from models.errors import InputError

        raise InputError("--scheduler", scheduler, "expected tcp://HOST:PORT or local")
    out = out_dir if out_dir is not None else Path("sweeps") / spec.name
    t0 = time.perf_counter()
    with _progress(not quiet) as tick:
        result = run_sweep(spec, out, workers=workers, scheduler=scheduler, progress=tick)
    if not quiet:
        click.echo(
            f"{result.out_dir}: {result.total} runs ({result.skipped} already complete), "
            f"{result.ok} ok, {result.failed} failed in {time.perf_counter() - t0:.1f} s; "
            f"summary: {result.out_dir / 'summary.parquet'}"
        )
    if result.failed:
        for run_id, err in list(result.failures.items())[:10]:
            click.echo(f"edwc: run {run_id} failed: {err}", err=True)
        if result.failed > 10:
            click.echo(f"edwc: ... and {result.failed - 10} more failed runs", err=True)
        sys.exit(EXIT_RUN_FAILED)
