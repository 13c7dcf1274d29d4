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
