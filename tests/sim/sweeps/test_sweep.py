"""``edwc sweep`` end to end: run folders, summary.parquet, workers, Dask, resume, failures."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from sim.cli.main import cli
from tests.helpers import two_site_config

ROOT = Path(__file__).resolve().parents[3]
GRID = ["--grid", "policy.name=nearest,cheapest", "--grid", "energy.carbon_price_cny_per_t=0,100"]
TIMING = re.compile(r"(^|\.)(wall|simulation|solve|solver|elapsed|time)[a-z_]*_s$")


def _base(folder: Path, horizon_h: float = 0.5, policy: str = "nearest") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "base.yaml"
    path.write_text(yaml.safe_dump(two_site_config(horizon_h=horizon_h, policy=policy), sort_keys=False))
    return path


def _sweep(*args: str) -> Any:
    return CliRunner().invoke(cli, ["sweep", *args, "-q"])


def _table(out: Path) -> pd.DataFrame:
    df = pd.read_parquet(out / "summary.parquet")
    return df.drop(columns=[c for c in df.columns if TIMING.search(c)])


def _complete(out: Path) -> set[str]:
    # pathlib's "*" also matches the workers' hidden ".partial-*" folders: leave those out
    return {p.parent.name for p in (out / "runs").glob("*/summary.json") if not p.parent.name.startswith(".")}


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The 2x2 grid x 2 replications, run by one worker (in this process)."""
    root = tmp_path_factory.mktemp("grid")
    base = _base(root)
    out = root / "w1"
    result = _sweep(str(base), *GRID, "--replications", "2", "--workers", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    return base, out


def test_grid_sweep_has_one_folder_and_one_row_per_run(grid_sweep: tuple[Path, Path]) -> None:
    base, out = grid_sweep
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert len(runs) == 8 and _complete(out) == set(runs)
    df = pd.read_parquet(out / "summary.parquet")
    assert len(df) == 8 and sorted(df["run_id"]) == runs
    assert list(df.columns[:7]) == [
        "run_id", "policy.name", "energy.carbon_price_cny_per_t", "replication", "seed", "status", "error",
    ]  # fmt: skip
    combos = sorted(
        zip(df["policy.name"], df["energy.carbon_price_cny_per_t"], df["replication"], strict=True)
    )
    assert combos == sorted((p, c, r) for p in ("nearest", "cheapest") for c in (0, 100) for r in (0, 1))
    assert (df["status"] == "ok").all() and (df["error"] == "").all()
    assert df["seed"].nunique() == 8
    for key in (
        "energy_kwh",
        "cost_cny",
        "wall_s",
        "classes.web.latency_ms.p95",
        "clusters.west1.mean_utilisation",
    ):
        assert key in df.columns
    # every row agrees with its run folder
    for row in df.itertuples():
        resolved = yaml.safe_load((out / "runs" / str(row.run_id) / "config.resolved.yaml").read_text())
        assert resolved["policy"]["name"] == row[2] and resolved["seed"] == row.seed
    spec = yaml.safe_load((out / "sweep.yaml").read_text())
    assert [r["run_id"] for r in spec["runs"]] == list(df["run_id"]) and spec["replications"] == 2

    # re-running skips every complete run and rebuilds the same summary
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/summary.json")}
    (out / "summary.parquet").unlink()
    result = CliRunner().invoke(cli, ["sweep", str(base), *GRID, "--replications", "2", "--out", str(out)])
    assert result.exit_code == 0 and "8 already complete" in result.output
    assert mtimes == {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/summary.json")}
    pd.testing.assert_frame_equal(pd.read_parquet(out / "summary.parquet"), df)


@pytest.mark.parametrize("how", [["--workers", "2"], ["--scheduler", "local", "--workers", "2"]])
def test_results_do_not_depend_on_the_workers(grid_sweep: tuple[Path, Path], how: list[str]) -> None:
    base, ref = grid_sweep
    out = ref.parent / ("w-" + "-".join(how).replace("-", ""))
    result = _sweep(str(base), *GRID, "--replications", "2", *how, "--out", str(out))
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(_table(out), _table(ref))


def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    base = _base(tmp_path, horizon_h=2)
    args = ["--grid", "policy.name=nearest,cheapest,greenest", "--grid", "overrides.demand_scale=1,1.5"]
    args += ["--replications", "2"]
    ref = tmp_path / "ref"
    assert _sweep(str(base), *args, "--workers", "1", "--out", str(ref)).exit_code == 0
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-c",
        "from sim.cli.main import main; main()",
        "sweep",
        str(base),
        *args,
        "--workers",
        "2",
        "--out",
        str(out),
        "-q",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (out / "runs").is_dir() or not _complete(out):
        assert proc.poll() is None and time.monotonic() < deadline, (
            "the sweep ended before it could be killed"
        )
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = _complete(out)
    assert 1 <= len(done) < 12, "not killed partway"
    assert not (out / "summary.parquet").exists()
    # a folder under its final name is always complete
    assert {p.name for p in (out / "runs").iterdir() if not p.name.startswith(".")} == done

    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (out / "runs").iterdir())
    assert len(names) == 12 and _complete(out) == set(names)  # every run once, no partial folders left
    pd.testing.assert_frame_equal(_table(out), _table(ref))


def test_a_run_that_raises_is_recorded_and_the_others_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.runner

    real = sim.runner.run

    def flaky(cfg: Any, *a: Any, **k: Any) -> Any:
        if cfg.energy.carbon_price_cny_per_t == 100:
            raise RuntimeError("solver\nexploded")
        return real(cfg, *a, **k)

    monkeypatch.setattr(sim.runner, "run", flaky)
    base = _base(tmp_path)
    out = tmp_path / "s"
    args = [str(base), *GRID, "--workers", "1", "--out", str(out)]
    result = CliRunner().invoke(cli, ["sweep", *args])
    assert result.exit_code == 1
    assert "2 ok, 2 failed" in result.output and "RuntimeError: solver exploded" in result.output
    df = pd.read_parquet(out / "summary.parquet")
    failed = df[df["status"] == "failed"]
    assert sorted(failed["energy.carbon_price_cny_per_t"]) == [100, 100]
    assert (failed["error"] == "RuntimeError: solver exploded").all() and failed["energy_kwh"].isna().all()
    assert (df.loc[df["status"] == "ok", "energy_kwh"] > 0).all()
    for run_id in failed["run_id"]:
        folder = out / "runs" / run_id
        assert not (folder / "summary.json").exists() and not (folder / "jobs.parquet").exists()
        assert (folder / "error.txt").read_text().startswith("RuntimeError: solver exploded\n")
    # once the cause is gone, re-running retries only the failed runs
    monkeypatch.setattr(sim.runner, "run", real)
    result = CliRunner().invoke(cli, ["sweep", *args])
    assert (
        result.exit_code == 0 and "2 already complete" in result.output and "4 ok, 0 failed" in result.output
    )


def test_an_infeasible_combination_fails_at_run_time_in_a_worker(tmp_path: Path) -> None:
    base = _base(tmp_path, policy="lp")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump(
            {"base": "base.yaml", "axes": {"policy.params": [{}, {"hub_quota_sh": {"nosuch": 5.0}}]}}
        )
    )
    out = tmp_path / "s"
    result = _sweep(str(spec), "--workers", "2", "--out", str(out))
    assert result.exit_code == 1, result.output
    df = pd.read_parquet(out / "summary.parquet").set_index("policy.params")
    good: Any = df.loc["{}"]
    assert good["status"] == "ok" and good["jobs_total"] > 0
    bad = df.loc['{"hub_quota_sh": {"nosuch": 5.0}}']
    assert bad["status"] == "failed" and "nosuch" in bad["error"]
    assert base.exists()


def test_invalid_combination_exits_2_before_any_run(tmp_path: Path) -> None:
    base = _base(tmp_path)
    out = tmp_path / "s"
    result = CliRunner().invoke(
        cli, ["sweep", str(base), "--grid", "policy.name=nearest,nosuch", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "policy.name='nosuch'" in result.output and "unknown policy" in result.output
    assert not out.exists()
    result = CliRunner().invoke(cli, ["sweep", str(base), "--grid", "nosuch=1,2", "--out", str(out)])
    assert result.exit_code == 2 and "nosuch" in result.output and not out.exists()
