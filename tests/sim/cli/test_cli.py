"""The edwc command: run, validate, info, schema."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sim.cli.main import cli
from tests.helpers import CLUSTER_IDS


def test_run_without_config_runs_the_national_baseline(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["run", "--out", str(out), "--set", "horizon_h=0.5", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "baseline" in result.output and "zhangjiakou" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["horizon_h"] == 0.5
    # the 10 national clusters, then the existing eastern metro data centres
    sites = [*CLUSTER_IDS, "beijing_metro", "shanghai_metro", "guangzhou_metro"]
    # the CPU pools of the sites, then their GPU pools (seeds gpu_share)
    assert list(summary["clusters"]) == [*sites, *(s + "_gpu" for s in sites)]
    assert summary["jobs_total"] > 1000
    for key in ("jobs_total", "jobs_completed", "jobs_dropped", "jobs_in_flight", "wall_s", "energy_kwh"):
        assert key in summary
    for c in summary["classes"].values():
        assert set(c["latency_ms"]) == {"p50", "p95", "p99"}
        assert "slo_violation_rate" in c
    resolved = (out / "config.resolved.yaml").read_text()
    assert "seed: 3" in resolved and "horizon_h: 0.5" in resolved


def test_quiet_run_prints_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "-q", "--out", str(tmp_path / "r"), "--set", "horizon_h=0.1"])
    assert result.exit_code == 0 and result.output == ""


def test_info_shows_clusters_regions_and_rtt() -> None:
    result = CliRunner().invoke(cli, ["info"])
    assert result.exit_code == 0, result.output
    for word in ("zhangjiakou", "zhongwei", "beijing", "RTT", "jingjinji"):
        assert word in result.output


def test_schema_is_json_schema_of_the_config() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    schema = json.loads(result.output)
    assert set(schema["required"]) >= {"name", "horizon_h", "workloads"}
    assert schema["additionalProperties"] is False
    assert {"topology", "overrides", "workloads", "policy", "energy", "faults", "output"} <= set(
        schema["properties"]
    )


def test_every_command_has_help() -> None:
    for cmd in ("run", "validate", "info", "schema"):
        result = CliRunner().invoke(cli, [cmd, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_run_refuses_out_into_a_folder_of_other_files_unless_forced(tmp_path: Path) -> None:
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("mine")
    args = ["run", "-q", "--no-report", "--out", str(mine), "--set", "horizon_h=0.1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "not an edwc run folder" in result.output and "--force" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in mine.iterdir()) == ["chapter1.tex"]  # nothing written
    result = CliRunner().invoke(cli, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert (mine / "summary.json").is_file() and (mine / "chapter1.tex").read_text() == "mine"
    # an edwc run folder is rewritten without --force
    assert CliRunner().invoke(cli, args).exit_code == 0
    # a file where a folder should be
    (tmp_path / "f").write_text("x")
    result = CliRunner().invoke(cli, ["run", "-q", "--no-report", "--out", str(tmp_path / "f")])
    assert result.exit_code == 2
