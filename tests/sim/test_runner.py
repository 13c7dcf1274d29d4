"""The runner: a run that fails mid-way leaves no output file and no writer thread behind."""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sim.config_io import validate_config
from sim.policies import register_policy
from sim.policies.builtin import Nearest
from sim.runfolder import layout
from sim.runner import run
from tests.helpers import two_site_config

FAIL_AT_S = 26 * 3600.0  # after the first simulated day's records went to the writer threads


class FailsOnDayTwo(Nearest):
    name = "fails_on_day_two"

    def route(self, region: int, klass: int, now_s: float) -> int:
        if now_s > FAIL_AT_S:
            raise RuntimeError("policy failed")
        return super().route(region, klass, now_s)


def _writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("edwc-parquet")]


def test_a_failed_run_stops_its_writers_and_leaves_no_output(tmp_path: Path) -> None:
    register_policy(FailsOnDayTwo)
    doc = two_site_config(horizon_h=30.0, policy="fails_on_day_two")
    doc["workloads"][1]["rate_per_h"] = 400
    cfg = validate_config(copy.deepcopy(doc), "test.yaml")
    before = set(_writers())
    with pytest.raises(RuntimeError, match="policy failed"):
        run(cfg, "test.yaml", tmp_path / "out")
    assert set(_writers()) <= before  # the run's writer threads stopped
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert layout.JOBS not in left and layout.FLOWS not in left and layout.SUMMARY not in left
    assert not [n for n in left if n.endswith(".tmp")]  # the partial files are removed


def test_the_same_run_without_the_failure_completes(tmp_path: Path) -> None:
    doc = two_site_config(horizon_h=30.0)
    doc["workloads"][1]["rate_per_h"] = 400
    before = set(_writers())
    res = run(validate_config(copy.deepcopy(doc), "test.yaml"), "test.yaml", tmp_path / "out")
    assert set(_writers()) <= before
    jobs = pq.read_table(tmp_path / "out" / layout.JOBS)
    assert jobs.num_rows == res.summary["jobs_total"] > 0
    assert pq.read_table(tmp_path / "out" / layout.FLOWS).num_rows > 0
