"""Server types end to end: GPU pools serve GPU classes only, report PFLOPS, share their site.

Independent truths: hand-computed PFLOPS, job conservation, a site's grid draw
max(0, energy - green) however its pools share the work, a site's fault taking
both of its pools.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from models.errors import InputError
from tests.helpers import run_in_memory, scenario_of, two_site_config


def _typed(horizon_h: float = 3.0, faults: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    doc = two_site_config(seed=5, horizon_h=horizon_h)
    doc["topology"]["clusters"][0].update(gpu_share=0.2, green_share=0.3)  # east1: 120 CPU + 30 GPU
    doc["topology"]["clusters"][1].update(gpu_share=0.1, green_share=0.5)  # west1: 270 CPU + 30 GPU
    doc["workloads"].append(
        {
            "name": "train",
            "kind": "batch",
            "server_type": "gpu",
            "rate_per_h": 20,
            "service": {"mean_s": 3600},
            "deadline_h": 24,
            "data_gb": 10,
        }
    )
    doc["energy"] = {"cpu_tflops": 4.0, "gpu_tflops": 2000.0, "gpu_idle_w": 1000.0, "gpu_peak_w": 4000.0}
    if faults:
        doc["faults"] = faults
    return doc


def test_gpu_classes_run_on_gpu_pools_only_and_jobs_are_conserved() -> None:
    scn, out = run_in_memory(_typed())
    topo = scn.topology
    assert topo.cluster_ids == ("east1", "west1", "east1_gpu", "west1_gpu")
    assert topo.cluster_servers.tolist() == [120, 270, 30, 30]
    jobs = out.jobs.to_pandas()
    ran = jobs[jobs["cluster"].notna()]
    on_gpu = ran["cluster"].astype(str).str.endswith("_gpu")
    assert (ran.loc[on_gpu, "class"] == "train").all()
    assert (ran.loc[~on_gpu, "class"] != "train").all()
    assert on_gpu.sum() > 0 and (~on_gpu).sum() > 0
    s = out.summary
    assert s["jobs_total"] == s["jobs_completed"] + s["jobs_dropped"] + s["jobs_in_flight"]
    # latency flows also stay on their type's pools
    flows = out.flows.to_pandas()
    assert not flows.loc[flows["served"] > 0, "cluster"].astype(str).str.endswith("_gpu").any()


def test_compute_summary_is_servers_times_flops() -> None:
    _, out = run_in_memory(_typed())
    s = out.summary
    cl = s["clusters"]
    assert cl["east1"]["installed_pflops"] == pytest.approx(120 * 4.0 / 1000)
    assert cl["east1_gpu"]["installed_pflops"] == pytest.approx(30 * 2000.0 / 1000)
    assert cl["west1_gpu"]["site"] == "west1" and cl["west1_gpu"]["server_type"] == "gpu"
    for v in cl.values():  # mean busy compute: mean busy servers x TFLOPS
        want = v["busy_server_h"] / s["horizon_h"] * v["tflops_per_server"] / 1000
        assert v["mean_busy_pflops"] == pytest.approx(want)
    gpu = s["compute"]["gpu"]
    assert gpu["precision"] == "FP16" and gpu["servers"] == 60
    assert gpu["installed_pflops"] == pytest.approx(120.0)
    assert s["compute"]["cpu"]["installed_pflops"] == pytest.approx(390 * 4.0 / 1000)
    ts = out.timeseries.to_pandas()
    g = ts[ts["cluster"] == "east1_gpu"]
    assert np.allclose(g["busy_pflops"], g["busy_servers"] * 2.0)
    assert set(ts["server_type"].astype(str)) == {"cpu", "gpu"}


def test_a_gpu_pool_draws_gpu_power() -> None:
    scn, _ = run_in_memory(_typed(horizon_h=1.0))
    assert scn.power_of(2).idle_w == 1000.0 and scn.power_of(2).peak_w == 4000.0
    assert scn.power_of(0).peak_w == scn.config.energy.peak_w


def test_a_site_nets_its_green_supply_against_the_energy_of_all_its_pools() -> None:
    scn, out = run_in_memory(_typed())
    ts = out.timeseries.to_pandas()
    ts["site"] = ts["site"].astype(str)
    for (_, _), grp in ts.groupby(["site", "time_s"]):
        energy = grp["energy_kwh"].sum()
        step_h = 300.0 / 3600.0  # engine.timestep_s default
        green = grp["green_kw"].sum() * step_h
        assert grp["grid_kwh"].sum() == pytest.approx(max(0.0, energy - green), rel=1e-9, abs=1e-9)
    # the pools' green supply adds up to the site's, hour by hour
    site_green = scn.energy.green_kw  # as split by design power
    by_site = ts.groupby(["site", "time_s"])["green_kw"].sum().unstack("time_s")
    for site in ("east1", "west1"):
        cols = scn.topology.site_indices(site)
        assert by_site.loc[site].to_numpy() == pytest.approx(site_green[cols, 0].sum())


def test_a_fault_on_a_site_takes_down_both_of_its_pools() -> None:
    outage = [{"kind": "outage", "cluster": "east1", "start_h": 1.0, "duration_h": 1.0}]
    _, out = run_in_memory(_typed(faults=outage))
    ts = out.timeseries.to_pandas()
    inside = ts[(ts["time_s"] >= 3600.0) & (ts["time_s"] < 7200.0)]
    for pool in ("east1", "east1_gpu"):
        assert inside.loc[inside["cluster"] == pool, "busy_servers"].max() == pytest.approx(0.0)
    assert inside.loc[inside["cluster"] == "west1", "busy_servers"].max() > 0


def test_a_gpu_class_without_gpu_servers_is_refused_with_its_key_path() -> None:
    doc = _typed()
    for c in doc["topology"]["clusters"]:
        c["gpu_share"] = 0.0
    with pytest.raises(InputError) as err:
        scenario_of(doc)
    assert err.value.key_path == "workloads[2].server_type"


def test_without_gpu_shares_the_run_is_what_it_was_before_server_types() -> None:
    """No gpu_share anywhere: one CPU column per site, no GPU power, the same scenario arrays."""
    doc = copy.deepcopy(two_site_config(seed=5))
    scn = scenario_of(doc)
    assert scn.topology.cluster_ids == ("east1", "west1")
    assert scn.topology.types == ("cpu", "cpu")
    assert scn.scales.tolist() == [1, 1]
