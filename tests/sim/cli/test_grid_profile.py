"""`edwc grid-profile`: the shipped synthetic profile is regenerable, and bad input exits 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from models.reference import national_reference
from sim.cli.main import cli

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "configs" / "carbon_shifting.yaml"
SHIPPED = ROOT / "configs" / "data" / "carbon_shifting_grid.csv"


def test_the_shipped_profile_is_what_the_documented_command_writes(tmp_path: Path) -> None:
    out = tmp_path / "g.csv"
    res = CliRunner().invoke(cli, ["grid-profile", str(CONFIG), "--hours", "96", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == SHIPPED.read_bytes()


def test_profile_covers_every_cluster_and_hour_around_its_provincial_factor(tmp_path: Path) -> None:
    df = pd.read_csv(SHIPPED)
    ref = national_reference()
    assert sorted(df.cluster.unique()) == sorted(c.id for c in ref.clusters)
    assert (df.groupby("cluster").hour.apply(list) == [list(range(96))] * 10).all()
    means = df.groupby("cluster").grid_kgco2_per_kwh.mean()
    for c in ref.clusters:
        annual = ref.provinces[c.province].grid_kgco2_per_kwh.scalar
        # four July days: the dip is deeper than the annual average, the noise is persistent
        assert 0.7 * annual < means[c.id] < 1.15 * annual, c.id


def test_bad_input_exits_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["grid-profile", str(CONFIG), "--out", str(tmp_path / "g.txt")])
    assert res.exit_code == 2 and "unknown table format" in res.output
    res = CliRunner().invoke(
        cli, ["grid-profile", str(CONFIG), "--dip", "1.5", "--out", str(tmp_path / "g.csv")]
    )
    assert res.exit_code == 2
