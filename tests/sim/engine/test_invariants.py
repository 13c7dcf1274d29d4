"""Conservation, determinism and SLO feasibility of whole runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from sim.config_io import validate_config
from sim.runner import run
from tests.helpers import run_in_memory, two_site_config


@pytest.mark.parametrize("policy", ["nearest", "cheapest"])
def test_conservation_and_one_row_per_job(policy: str) -> None:
    _, out = run_in_memory(two_site_config(policy=policy))
    s = out.summary
    assert s["jobs_total"] == s["jobs_completed"] + s["jobs_dropped"] + s["jobs_in_flight"]
    jobs = out.jobs.to_pandas()
    assert (jobs.arrival_s < 2 * 3600).all()
    assert len(jobs) == s["jobs_total"]
    assert jobs["job_id"].is_unique
    per_class = sum(c["jobs"] for c in s["classes"].values() if c["kind"] == "batch")
    assert per_class == len(jobs)
    assert per_class == s["jobs_total"]
    # latency classes are flows: requests = served + rejected, in the summary and flows.parquet
    assert s["requests_total"] == s["requests_served"] + s["requests_rejected"] > 0
    flows = out.flows.to_pandas()
    assert int(flows["requests"].sum()) == s["requests_total"]
    assert not (jobs["class"] == "web").any()


def test_status_matches_timestamps() -> None:
    _, out = run_in_memory(two_site_config())
    jobs = out.jobs.to_pandas()
    done = jobs[jobs.status == "completed"]
    assert (done.arrival_s <= done.queued_s).all()
    assert (done.queued_s <= done.start_s).all()
    assert (done.start_s < done.end_s).all()
    np.testing.assert_allclose(done.response_s, done.network_s + done.wait_s + done.service_s, rtol=1e-9)
    flight = jobs[jobs.status == "in_flight"]
    assert flight.end_s.isna().all()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_byte_identical_parquet(tmp_path: Path) -> None:
    doc = two_site_config(seed=7)
    a = run(validate_config(doc, "x"), "x", tmp_path / "a")
    b = run(validate_config(doc, "x"), "x", tmp_path / "b")
    doc["seed"] = 8
    c = run(validate_config(doc, "x"), "x", tmp_path / "c")
    for name in ("jobs.parquet", "timeseries.parquet", "flows.parquet"):
        assert _digest(a.out_dir / name) == _digest(b.out_dir / name)
        assert _digest(a.out_dir / name) != _digest(c.out_dir / name)
    assert (tmp_path / "a" / "config.resolved.yaml").read_bytes() == (
        tmp_path / "b" / "config.resolved.yaml"
    ).read_bytes()


def test_run_folder_holds_exactly_the_contract_files(tmp_path: Path) -> None:
    r = run(validate_config(two_site_config(), "x"), "x", tmp_path / "run")
    names = sorted(p.name for p in r.out_dir.iterdir())
    assert names == [
        "config.resolved.yaml",
        "flows.parquet",
        "jobs.parquet",
        "latency_hist.parquet",
        "summary.json",
        "timeseries.parquet",
    ]
    ts = pq.read_table(r.out_dir / "timeseries.parquet").to_pandas()
    assert set(ts.cluster) == {"east1", "west1"}


@pytest.mark.parametrize("policy", ["nearest", "cheapest"])
def test_latency_work_never_beyond_its_slo(policy: str) -> None:
    scn, out = run_in_memory(two_site_config(policy=policy))
    flows = out.flows.to_pandas()
    rtt = scn.topology.rtt_ms
    web = flows[(flows["class"] == "web") & flows.cluster.notna() & (flows.served > 0)]
    assert len(web) > 0
    r = web.region.map(scn.topology.region_index).to_numpy()
    c = web.cluster.map(scn.topology.cluster_index).to_numpy()
    assert (rtt[r, c] <= 20.0).all()
    # the western cluster is beyond 20 ms from both cities, so it serves no latency work
    assert (rtt[:, scn.topology.cluster_index("west1")] > 20).all()
    assert not (web.cluster == "west1").any()


def test_jobs_without_a_feasible_cluster_are_dropped_and_counted() -> None:
    doc = two_site_config()
    doc["workloads"][0]["slo_ms"] = 1.0  # tighter than any RTT
    _, out = run_in_memory(doc)
    s = out.summary["classes"]["web"]
    assert s["rejected"] == s["requests"] > 0
    assert s["served"] == 0
    assert s["slo_violation_rate"] == 1.0
    flows = out.flows.to_pandas()
    assert flows.cluster.isna().all()  # rejected with no cluster to go to


def test_cheapest_sends_batch_to_the_cheap_west() -> None:
    _, out = run_in_memory(two_site_config(policy="cheapest"))
    jobs = out.jobs.to_pandas()
    etl = jobs[jobs["class"] == "etl"]
    assert (etl.cluster == "west1").all()
    _, near = run_in_memory(two_site_config(policy="nearest"))
    assert (near.jobs.to_pandas().query("`class` == 'etl'").cluster == "east1").all()
