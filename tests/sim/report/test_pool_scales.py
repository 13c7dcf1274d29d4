"""``edwc pool-scales`` / :func:`sim.report.pool_scales.pool_scales`: a run's pools, their honest
bundle sizes, and a mapping the config accepts."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from click.testing import CliRunner

from sim.cli.main import cli
from sim.report.pool_scales import pool_scales, scales_yaml
from tests.helpers import two_site_config


def _doc() -> dict:
    doc = two_site_config(horizon_h=24.0, seed=5, policy="round_robin")
    doc["topology"]["clusters"][0]["servers"] = 20_000
    doc["topology"]["clusters"][1]["servers"] = 40_000
    doc["workloads"][1]["rate_per_h"] = 30_000.0
    doc["workloads"][1]["data_gb"] = 0.0
    doc["engine"] = {"bundling": "pool", "job_scale": 10}
    return doc


def test_pool_scales_reads_a_run_and_gives_a_mapping_the_config_takes(tmp_path: Path) -> None:
    from sim import run

    res = run(_doc(), out=tmp_path / "day")
    scales = pool_scales(res.out_dir)
    assert [p.load.pool for p in scales] == ["east1", "west1"]
    jobs = res.jobs
    for p in scales:
        mine = jobs[jobs.cluster == p.load.pool]
        assert p.load.real_jobs == float(mine.job_scale.sum())  # a day: per day as run
        assert abs(sum(p.load.streams) - 1.0) < 1e-12 and len(p.load.streams) <= 2  # (etl, region)
        assert 0 < p.scale <= p.load.servers and p.error <= 0.02
        assert 0.1 < p.load.rho_mean < 0.98
    assert res.pool_scales() == scales  # the same from the Result
    # the mapping runs as the config's engine.pool_job_scale
    doc = copy.deepcopy(_doc())
    doc["engine"]["pool_job_scale"] = yaml.safe_load(scales_yaml(scales))
    again = run(doc, out=tmp_path / "scaled")
    assert set(again.jobs.job_scale) <= {p.scale for p in scales} | {10}


def test_the_command_prints_the_table_and_the_mapping(tmp_path: Path) -> None:
    from sim import run

    run(_doc(), out=tmp_path / "day")
    result = CliRunner().invoke(cli, ["pool-scales", str(tmp_path / "day")])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("engine.pool_job_scale: {east1: ")
    assert set(yaml.safe_load(last.split(": ", 1)[1])) == {"east1", "west1"}


def test_a_folder_that_is_not_a_run_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["pool-scales", str(tmp_path)])
    assert result.exit_code == 2
    assert "timeseries.parquet" in result.output and "Traceback" not in result.output
