"""The Python API (``from sim import run, load, sweep``) against the run folder it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from models.errors import InputError
from sim import Result, load, run, sweep
from sim.config_io import validate_config
from sim.runfolder import layout
from tests.helpers import two_site_config


def test_run_a_dict_config_gives_the_run_folder_as_pandas(tmp_path: Path) -> None:
    res = run(two_site_config(horizon_h=2.0), out=tmp_path / "r")
    assert isinstance(res, Result)
    assert res.out_dir == tmp_path / "r"
    on_disk = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert res.summary == on_disk
    s = res.summary
    assert s["jobs_total"] == s["jobs_completed"] + s["jobs_dropped"] + s["jobs_in_flight"] > 0
    jobs = res.jobs
    assert isinstance(jobs, pd.DataFrame)
    assert list(jobs.columns) == layout.names(layout.JOBS_COLUMNS)
    assert len(jobs) == s["jobs_total"]
    assert (jobs["status"] == "completed").sum() == s["jobs_completed"]
    ts = res.timeseries
    assert list(ts.columns) == layout.names(layout.TIMESERIES_COLUMNS)
    assert len(ts) == 2 * (2 * 3600 // 300)  # clusters x steps
    assert ts["energy_kwh"].sum() == pytest.approx(s["energy_kwh"])
    assert ts["cost_cny"].sum() == pytest.approx(s["cost_cny"])
    # no plan under `nearest`: an empty table with the plan's columns
    assert res.plan.empty and list(res.plan.columns) == layout.names(layout.PLAN_COLUMNS)
    assert res.config["name"] == "two_site"
    assert res.jobs is jobs  # read once, then kept


def test_load_reads_the_same_folder(tmp_path: Path) -> None:
    res = run(two_site_config(horizon_h=1.0), out=tmp_path / "r")
    again = load(tmp_path / "r")
    assert again.summary == res.summary
    pd.testing.assert_frame_equal(again.timeseries, res.timeseries)
    assert "two_site" in repr(again)


def test_run_a_config_file_with_set_and_seed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(two_site_config(horizon_h=3.0)))
    res = run(path, set={"horizon_h": 1, "policy.name": "cheapest"}, seed=7, out=tmp_path / "r")
    assert res.summary["horizon_h"] == 1
    assert res.summary["policy"] == "cheapest"
    assert res.summary["seed"] == 7
    # the CLI's KEY=VALUE form gives the same run, byte for byte
    res2 = run(path, set=["horizon_h=1", "policy.name=cheapest"], seed=7, out=tmp_path / "r2")
    assert (res.out_dir / "jobs.parquet").read_bytes() == (res2.out_dir / "jobs.parquet").read_bytes()


def test_run_a_config_object(tmp_path: Path) -> None:
    cfg = validate_config(two_site_config(horizon_h=1.0), "test")
    res = run(cfg, set={"workloads.0.rate_per_h": 600}, out=tmp_path / "r")
    assert res.config["workloads"][0]["rate_per_h"] == 600


def test_bad_input_raises_input_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="horizon_h"):
        run(two_site_config(), set={"horizon_h": -1}, out=tmp_path / "r")
    with pytest.raises(InputError, match="not a complete run folder"):
        load(tmp_path)
    with pytest.raises(InputError, match="expected a dict"):
        run(two_site_config(), set="horizon_h=1", out=tmp_path / "r")  # type: ignore[arg-type]


def test_run_refuses_a_folder_of_other_files_unless_forced(tmp_path: Path) -> None:
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine")
    with pytest.raises(InputError, match="not an edwc run folder"):
        run(two_site_config(horizon_h=1.0), out=mine)
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    res = run(two_site_config(horizon_h=1.0), out=mine, force=True)
    assert (mine / "thesis.tex").read_text() == "mine"
    assert layout.is_run_dir(res.out_dir)
    # a run folder may be run into again
    run(two_site_config(horizon_h=1.0), out=mine)


def test_lp_run_has_its_plan_and_report(tmp_path: Path) -> None:
    res = run(two_site_config(horizon_h=2.0, policy="lp"), out=tmp_path / "r")
    plan = res.plan
    assert list(plan.columns) == layout.names(layout.PLAN_COLUMNS)
    assert len(plan) > 0 and set(plan["hour"]) <= {0, 1}
    assert plan["work_sh"].sum() > 0
    assert not res.shadow_prices.empty
    html = res.report()
    assert html == res.out_dir / "report.html" and html.stat().st_size > 10_000


def test_sweep_returns_the_summary_table(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(two_site_config(horizon_h=1.0)))
    df = sweep(base, grid={"policy.name": ["nearest", "cheapest"]}, workers=1, out=tmp_path / "sw")
    assert isinstance(df, pd.DataFrame)
    assert sorted(df["policy.name"]) == ["cheapest", "nearest"]
    assert (df["status"] == "ok").all()
    assert df.attrs["out_dir"] == (tmp_path / "sw").resolve()
    # each row's run folder loads, and its summary is the row's
    for _, row in df.iterrows():
        res = load(df.attrs["out_dir"] / "runs" / row["run_id"])
        assert res.summary["cost_cny"] == pytest.approx(row["cost_cny"])
        assert res.summary["policy"] == row["policy.name"]


def test_importing_the_cli_does_not_import_the_heavy_libraries() -> None:
    code = (
        "import sys, sim.cli\n"
        "heavy = ('numpy', 'pandas', 'pyarrow', 'simpy', 'pydantic', 'pulp')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_api_is_documented() -> None:
    import sim

    for name in ("run", "load", "sweep", "Result"):
        doc = getattr(sim, name).__doc__ or ""
        assert len(doc) > 200, name
    for name in ("run", "load", "sweep"):
        doc = getattr(sim, name).__doc__ or ""
        assert "Parameters\n" in doc and "Returns\n" in doc, name
    with pytest.raises(AttributeError):
        _ = sim.no_such_name  # type: ignore[attr-defined]


def test_sweep_stays_the_function_after_the_sweeps_package_is_imported() -> None:
    import sim.sweeps.driver  # noqa: F401  (sets sim.sweeps, never sim.sweep)
    from sim import sweep as fn

    assert callable(fn) and fn.__module__ == "sim.api"
