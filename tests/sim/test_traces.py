"""Trace export and replay through the CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from sim.cli.main import cli
from tests.helpers import two_site_config


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_exported_trace_replays_to_the_same_run(tmp_path: Path, suffix: str) -> None:
    cfg = tmp_path / "gen.yaml"
    cfg.write_text(yaml.safe_dump(two_site_config(seed=4)))
    trace = tmp_path / f"jobs{suffix}"
    r = CliRunner().invoke(cli, ["trace", str(cfg), "--out", str(trace)])
    assert r.exit_code == 0, r.output
    # the same config, but every class replays its rows of the trace
    doc = two_site_config(seed=4)
    for w in doc["workloads"]:
        w["trace"] = trace.name
        del w["rate_per_h"]
    replay = tmp_path / "replay.yaml"
    replay.write_text(yaml.safe_dump(doc))
    for name, path in (("a", cfg), ("b", replay)):
        r = CliRunner().invoke(cli, ["run", "-q", str(path), "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    a = pq.read_table(tmp_path / "a" / "jobs.parquet").to_pandas()
    b = pq.read_table(tmp_path / "b" / "jobs.parquet").to_pandas()
    assert len(a) > 100
    pd.testing.assert_frame_equal(a, b)


def test_bad_trace_rows_exit_2_with_row_numbers(tmp_path: Path) -> None:
    trace = tmp_path / "bad.csv"
    trace.write_text(
        "arrival_s,region,class,service_s,data_gb\n"
        "10,beijing,web,60,0\n"
        "-5,beijing,web,60,0\n"
        "20,atlantis,web,60,0\n"
    )
    doc = two_site_config()
    doc["workloads"][0]["trace"] = "bad.csv"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    r = CliRunner().invoke(cli, ["validate", str(cfg)])
    assert r.exit_code == 2
    assert "bad.csv" in r.output and "row" in r.output
    assert "Traceback" not in r.output


def test_missing_trace_file_names_the_key(tmp_path: Path) -> None:
    doc = two_site_config()
    doc["workloads"][1]["trace"] = "nowhere.parquet"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    r = CliRunner().invoke(cli, ["validate", str(cfg)])
    assert r.exit_code == 2 and "workloads[1].trace" in r.output


def test_no_trace_of_a_pooled_config_exits_2(tmp_path: Path) -> None:
    """With engine.bundling: pool the bundles exist only as the run routes them."""
    cfg = tmp_path / "pooled.yaml"
    cfg.write_text(yaml.safe_dump(two_site_config(seed=4)))
    args = ["trace", str(cfg), "--out", str(tmp_path / "t.csv"), "--set", "engine.bundling=pool"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and "engine.bundling" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "t.csv").exists()


def test_a_traced_batch_class_replays_with_pooled_bundling(tmp_path: Path) -> None:
    """Replayed jobs come one by one whatever the bundling; each holds its pool's server for
    its real jobs' share of one."""
    trace = tmp_path / "jobs.csv"
    cfg = tmp_path / "gen.yaml"
    cfg.write_text(yaml.safe_dump(two_site_config(seed=4)))
    assert CliRunner().invoke(cli, ["trace", str(cfg), "--out", str(trace)]).exit_code == 0
    doc = two_site_config(seed=4)
    doc["workloads"][1]["trace"] = trace.name
    del doc["workloads"][1]["rate_per_h"]
    doc["engine"] = {"bundling": "pool", "pool_job_scale": {"east1": 3}}
    replay = tmp_path / "replay.yaml"
    replay.write_text(yaml.safe_dump(doc))
    r = CliRunner().invoke(cli, ["run", "-q", str(replay), "--out", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    jobs = pq.read_table(tmp_path / "b" / "jobs.parquet").to_pandas()
    n = len(pd.read_csv(trace).query("`class` == 'etl'"))
    assert len(jobs) == n > 50 and (jobs.job_scale == 1).all()
    east = jobs[jobs.cluster == "east1"]
    assert len(east) > 0
    assert (abs(east.occupancy_s - east.service_s / 3) <= 1e-9 * east.service_s).all()
