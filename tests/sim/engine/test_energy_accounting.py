"""Energy, cost and carbon accounting against hand calculations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.helpers import run_in_memory


def _fixed_load(grid: float, green_share: float = 0.0) -> dict[str, Any]:
    """Exactly 10 servers busy for the whole hour: 10 jobs of fixed 3600 s arriving at t~0."""
    return {
        "name": "fixed",
        "seed": 5,
        "horizon_h": 1,
        "topology": {
            "regions": [{"id": "r"}],
            "clusters": [
                {"id": "c", "servers": 40, "pue": 1.25, "tariff_cny_per_kwh": 0.8,
                 "grid_kgco2_per_kwh": grid, "green_share": green_share}
            ],
            "latency_ms": {"r": {"c": 0.0}},
        },
        "workloads": [
            {"name": "w", "kind": "batch", "rate_per_h": 1.0, "service": {"dist": "fixed", "mean_s": 3600},
             "deadline_h": 100}
        ],
        "energy": {"idle_w": 100, "peak_w": 300},
        "engine": {"timestep_s": 60},
    }  # fmt: skip


def test_accounting_matches_hand_calculation() -> None:
    scn, out = run_in_memory(_fixed_load(grid=0.6))
    ts = out.timeseries.to_pandas()
    busy_server_s = float((ts.busy_servers * 60).sum())  # integral of busy servers over the hour
    # by hand: 40 servers idle at 100 W + busy servers x 200 W extra, over time; x PUE 1.25
    it_kwh = (40 * 100 * 3600 + busy_server_s * 200) / 3.6e6
    kwh = it_kwh * 1.25
    assert out.summary["it_kwh"] == pytest.approx(it_kwh, rel=1e-9)
    assert out.summary["energy_kwh"] == pytest.approx(kwh, rel=1e-9)
    assert out.summary["cost_cny"] == pytest.approx(kwh * 0.8, rel=1e-9)
    assert out.summary["tco2"] == pytest.approx(kwh * 0.6 / 1000, rel=1e-9)
    # the busy integral itself equals the jobs' service inside the hour
    jobs = out.jobs.to_pandas()
    served = np.minimum(jobs.start_s + 3600, 3600) - jobs.start_s
    assert busy_server_s == pytest.approx(served.sum(), rel=1e-9)
    assert scn.energy.pue.min() == scn.energy.pue.max() == 1.25


def test_moving_load_to_a_zero_carbon_site_saves_load_times_factor() -> None:
    _, dirty = run_in_memory(_fixed_load(grid=0.6))
    _, clean = run_in_memory(_fixed_load(grid=0.0))
    assert clean.summary["tco2"] == 0.0
    saved = dirty.summary["tco2"] - clean.summary["tco2"]
    assert saved == pytest.approx(dirty.summary["energy_kwh"] * 0.6 / 1000, rel=1e-12)


def test_green_supply_only_offsets_carbon_not_cost() -> None:
    _, brown = run_in_memory(_fixed_load(grid=0.6))
    _, green = run_in_memory(_fixed_load(grid=0.6, green_share=0.5))
    assert green.summary["cost_cny"] == pytest.approx(brown.summary["cost_cny"])
    # contracted green kW = share x (IT at 60 % utilisation) x PUE, flat over the hour
    green_kwh = 0.5 * (40 * 100 + 0.6 * 40 * 200) / 1000 * 1.25
    expected = max(brown.summary["energy_kwh"] - green_kwh, 0.0) * 0.6 / 1000
    assert green.summary["tco2"] == pytest.approx(expected, rel=1e-9)


def test_energy_adds_up_on_the_national_baseline() -> None:
    doc = {
        "name": "nat",
        "seed": 11,
        "horizon_h": 3,
        "topology": "national",
        "workloads": [
            {"name": "web", "kind": "latency", "rate_per_h": 3e8, "service": {"mean_s": 0.5}, "slo_ms": 20,
             "diurnal": "daytime"},
            {"name": "etl", "kind": "batch", "rate_per_h": 6e5, "service": {"mean_s": 1800}, "deadline_h": 24,
             "data_gb": 5, "diurnal": "night"},
        ],
        "engine": {"job_scale": 5000},
    }  # fmt: skip
    scn, out = run_in_memory(doc)
    ts = out.timeseries.to_pandas()
    s = out.summary
    for col, key in (("energy_kwh", "energy_kwh"), ("cost_cny", "cost_cny"), ("tco2", "tco2")):
        assert ts[col].sum() == pytest.approx(s[key], rel=1e-9)
        per_cluster = ts.groupby("cluster", observed=True)[col].sum()
        for cid, v in per_cluster.items():
            assert v == pytest.approx(s["clusters"][cid][key], rel=1e-9)
    ew = s["east_west"]
    assert ew["east"]["energy_kwh"] + ew["west"]["energy_kwh"] == pytest.approx(s["energy_kwh"])
    # IT energy of the batch jobs + the latency flows' dynamic energy = time-series IT energy
    # minus the idle term (all servers at idle power)
    jobs_it = out.jobs.to_pandas()["it_kwh"].sum()
    dt_h = scn.config.engine.timestep_s / 3600.0
    ts_it = (ts.it_power_kw * dt_h).sum()
    # every cluster's servers draw its own CPU/GPU blend (seeds gpu_share)
    n = scn.topology.n_clusters
    idle_w = np.array([scn.power_of(c).idle_w for c in range(n)])
    dyn_w = np.array([scn.power_of(c).peak_w - scn.power_of(c).idle_w for c in range(n)])
    lat_server_h = ts.latency_busy_servers.to_numpy().reshape(n, -1).sum(axis=1) * dt_h  # cluster-major
    flows_it = (lat_server_h * dyn_w).sum() / 1000
    assert flows_it > 0
    idle_kwh = (scn.topology.cluster_servers * idle_w).sum() / 1000 * 3  # real (occupied) servers
    assert jobs_it + flows_it == pytest.approx(ts_it - idle_kwh, rel=1e-6)
    # hourly inputs vary as they should: PUE in [1, 2], tariffs follow time of use
    assert ts.pue.min() >= 1.0 and ts.pue.max() <= 2.0
    assert ts.groupby("cluster", observed=True).tariff_cny_per_kwh.nunique().max() >= 1


@pytest.mark.parametrize("queue", ["fcfs", "priority", "ps"])
def test_busy_time_series_equals_the_service_the_jobs_received(queue: str) -> None:
    """Two independent records of the same thing: the step log of busy servers and each
    job's received service (it_kwh), on an overloaded cluster where queues never empty."""
    doc = _fixed_load(grid=0.5)
    doc["workloads"][0].update(rate_per_h=400.0, service={"dist": "exponential", "mean_s": 900})
    doc["horizon_h"] = 3
    doc["engine"]["queue"] = queue
    _, out = run_in_memory(doc)
    ts = out.timeseries.to_pandas()
    busy_server_s = float((ts.busy_servers * 60).sum())
    served_s = out.jobs.to_pandas().it_kwh.sum() * 3.6e6 / (300 - 100)
    assert busy_server_s == pytest.approx(served_s, rel=1e-9)
    assert ts.busy_servers.iloc[20:].min() == pytest.approx(40.0)  # saturated: every server busy
