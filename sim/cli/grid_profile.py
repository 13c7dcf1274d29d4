"""``edwc grid-profile``: write a synthetic hourly grid-carbon profile for a config's clusters."""

from __future__ import annotations

from pathlib import Path

import click

from sim.cli.common import guard


@click.command("grid-profile")
@click.argument("config", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Profile to write: .csv or .parquet.",
)
@click.option(
    "--hours", type=click.IntRange(min=1), help="Hours from the config's start (default: its horizon)."
)
@click.option("--dip", default=0.35, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="Relative intensity drop at the sunniest noon.")  # fmt: skip
@click.option("--noise", default=0.08, show_default=True, type=click.FloatRange(0, 2),
              help="Lognormal sigma of the hourly noise.")  # fmt: skip
@click.option("--persistence", default=0.9, show_default=True, type=click.FloatRange(0, 1, max_open=True),
              help="Hourly AR(1) persistence of the noise.")  # fmt: skip
@click.option("--seed", type=click.IntRange(min=0), help="Seed of the noise (default: the config's seed).")
@guard
def grid_profile(
    config: Path, out: Path, hours: int | None, dip: float, noise: float, persistence: float, seed: int | None
) -> None:
    """Write a synthetic hourly grid-carbon profile (energy.grid_profile) for CONFIG's clusters.

    Each cluster's series is a daily solar dip plus persistent noise, calibrated
    so that its expected annual mean is the cluster's average factor (the
    provincial MEE/NBS 2022 factor for national clusters; see
    models/energy/grid_synthetic.py). Columns: hour, cluster, grid_kgco2_per_kwh.
    """
    import math

    import numpy as np
    import pandas as pd

    from models.clock import hour_index
    from models.energy.grid_synthetic import SyntheticGridParams, synthetic_grid_kgco2_per_kwh
    from models.errors import InputError
    from models.tables import table_format, write_table
    from sim.config_io import load_config
    from sim.scenario import build_scenario

    table_format(out)
    cfg = load_config(config)
    # the constant average factors: without the profile the config may name, before the residual mix
    plain = cfg.model_copy(
        update={"energy": cfg.energy.model_copy(update={"grid_profile": None, "residual_mix": False})}
    )
    scn = build_scenario(plain, str(config), base_dir=config.parent)
    topo = scn.topology
    n = hours if hours is not None else max(1, math.ceil(cfg.horizon_h))
    if np.isnan(topo.cluster_lon).any() or np.isnan(topo.cluster_lat).any():
        raise InputError(
            str(config), "topology.clusters", "every cluster needs lon and lat for the solar dip"
        )
    params = SyntheticGridParams(solar_dip=dip, noise_sigma=noise, persistence=persistence)
    rng = np.random.default_rng(cfg.seed if seed is None else seed)
    idx = hour_index(cfg.start, n)
    parts = []
    for cid in dict.fromkeys(topo.sites):  # one series per site: its server pools share it
        c = topo.site_indices(cid)[0]
        annual = float(scn.energy.grid_kgco2_per_kwh[c].mean())
        lon, lat = float(topo.cluster_lon[c]), float(topo.cluster_lat[c])
        series = synthetic_grid_kgco2_per_kwh(idx, annual, lon, lat, rng, params)
        parts.append(
            pd.DataFrame({"hour": np.arange(n), "cluster": cid, "grid_kgco2_per_kwh": series.round(5)})
        )
    write_table(pd.concat(parts, ignore_index=True), out)
    click.echo(f"{out}: {n} hours x {len(parts)} clusters")
