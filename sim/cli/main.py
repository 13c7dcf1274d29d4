"""The ``edwc`` command.

Heavy libraries (numpy, pandas, simpy, pydantic, pulp) are imported inside the
commands, so ``edwc --help`` answers at once. Bad input exits with code 2 and
one message naming the file, the key path and what was expected; an internal
error exits with code 1.
"""

from __future__ import annotations

from pathlib import Path

import click

from sim.cli.common import guard as _guard
from sim.cli.expand import expand
from sim.cli.grid_profile import grid_profile
from sim.cli.pool_scales import pool_scales
from sim.cli.report import report
from sim.cli.sweep import sweep
from sim.cli.table import table


def _config_path(config: Path | None) -> Path:
    if config is not None:
        return config
    from models.paths import configs_dir

    return configs_dir() / "baseline.yaml"


_set_option = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override one config value, e.g. --set policy.name=cheapest --set horizon_h=6 "
    "(values are read as YAML; list items by index: workloads.0.rate_per_h=10).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edwc")
def cli() -> None:
    """edwc: simulate China's East Data West Compute (东数西算) programme.

    Jobs arrive in eastern and central cities, are routed to the 10 national
    data-centre clusters, cross the network, queue and are served; edwc
    measures latency, utilisation, energy, cost and carbon.

    Start with `edwc run` (the built-in national baseline), then `edwc info`
    to see the hubs, clusters and network.
    """


@cli.command()
@click.argument("config", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Run folder (default: output.dir or runs/NAME).",
)
@click.option("--seed", type=click.IntRange(min=0), help="Override the config's seed.")
@_set_option
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.option("--no-report", is_flag=True, help="Do not draw report.html and its figures.")
@click.option("--force", is_flag=True, help="Write into --out even if it holds files that are not a run's.")
@_guard
def run(
    config: Path | None,
    out_dir: Path | None,
    seed: int | None,
    sets: tuple[str, ...],
    quiet: bool,
    no_report: bool,
    force: bool,
) -> None:
    """Simulate CONFIG (default: the national baseline) and write its run folder.

    The folder gets config.resolved.yaml, summary.json, jobs.parquet,
    timeseries.parquet (plan.parquet and shadow_prices.parquet with the lp
    policy) and report.html with its PNG figures (unless --no-report).
    Same config + seed = byte-identical tables. A non-empty --out folder
    that is not an edwc run folder is refused (exit 2) unless --force.
    """
    from sim.cli.console import print_summary, progress_bar
    from sim.config_io import load_config
    from sim.runner import run as do_run

    path = _config_path(config)
    all_sets = [*sets, *([f"seed={seed}"] if seed is not None else [])]
    cfg = load_config(path, all_sets)
    with progress_bar(cfg.horizon_h * 3600.0, enabled=not quiet) as tick:
        result = do_run(cfg, str(path), out_dir, progress=tick, base_dir=path.parent, force=force)
    if not no_report:
        from sim.report.write import write_run_report

        write_run_report(result.out_dir)
    if not quiet:
        print_summary(result.summary, result.out_dir)


@cli.command()
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@_set_option
@_guard
def validate(config: Path, sets: tuple[str, ...]) -> None:
    """Check CONFIG (schema, ids, policy) without running it."""
    from sim.config_io import load_config
    from sim.runner import check_config

    cfg = load_config(config, list(sets))
    scn = check_config(cfg, str(config), base_dir=config.parent)
    click.echo(
        f"{config}: ok ({cfg.name}: {scn.topology.n_regions} regions, {scn.topology.n_clusters} clusters, "
        f"{len(cfg.workloads)} workload classes, policy {cfg.policy.name}, {cfg.horizon_h:g} h)"
    )


@cli.command()
@click.argument("config", required=False, type=click.Path(path_type=Path, dir_okay=False))
@_set_option
@_guard
def info(config: Path | None, sets: tuple[str, ...]) -> None:
    """Show the hubs, clusters, regions and RTT matrix (of CONFIG, or the national reference)."""
    from sim.cli.console import print_info
    from sim.config_io import load_config
    from sim.scenario import build_scenario

    path = _config_path(config)
    cfg = load_config(path, list(sets))
    print_info(build_scenario(cfg, str(path), base_dir=path.parent))


@cli.command()
@click.argument("config", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Trace file to write: .csv or .parquet.",
)
@_set_option
@_guard
def trace(config: Path | None, out: Path, sets: tuple[str, ...]) -> None:
    """Write the jobs CONFIG would simulate as a replayable trace.

    Columns: arrival_s, region, class, service_s, data_gb (one row per
    simulated job). A workload with `trace: FILE` replays its class's rows.
    """
    from models.demand.trace import write_trace
    from models.demand.workload import concat_jobs
    from models.errors import InputError
    from sim.config_io import load_config
    from sim.scenario import build_scenario, scenario_jobs

    path = _config_path(config)
    cfg = load_config(path, list(sets))
    if cfg.engine.bundling == "pool":
        raise InputError(
            str(path),
            "engine.bundling",
            "with bundling: pool the bundles are formed as the run routes them, so no trace exists "
            "before the run; expected engine.bundling: arrival (--set engine.bundling=arrival)",
        )
    scn = build_scenario(cfg, str(path), base_dir=path.parent)
    jobs = concat_jobs(list(scenario_jobs(scn, scn.streams.jobs)))
    write_trace(jobs, out, list(scn.topology.region_ids), list(scn.class_names))
    click.echo(f"{out}: {len(jobs):,} jobs")


@cli.command()
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Write to a file instead of stdout."
)
def schema(out: Path | None) -> None:
    """Print the config's JSON Schema."""
    import json

    from sim.config import Config

    text = json.dumps(Config.model_json_schema(), indent=2, ensure_ascii=False)
    if out is None:
        click.echo(text)
    else:
        from sim.runfolder.write import write_text

        write_text(out, text + "\n")


cli.add_command(expand)
cli.add_command(report)
cli.add_command(grid_profile)
cli.add_command(sweep)
cli.add_command(table)
cli.add_command(pool_scales)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
