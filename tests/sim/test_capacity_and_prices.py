"""Capacity states (built / occupied / powered), the bandwidth price and the metro sites."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from models.reference import national_reference
from sim.config_io import validate_config
from sim.scenario import build_scenario
from tests.helpers import run_in_memory, single_queue_config


def _batch_with_data(price: float | None, data_gb: float = 2.0) -> dict[str, object]:
    doc = single_queue_config(servers=10, rate_per_h=40.0, mean_service_s=60.0, horizon_h=2.0, seed=5)
    doc["workloads"][0]["data_gb"] = data_gb  # type: ignore[index]
    if price is not None:
        doc["network"] = {"price_cny_per_gb": price}
    return doc


def test_bandwidth_cost_by_hand() -> None:
    _, out = run_in_memory(_batch_with_data(0.25))
    s = out.summary
    jobs = out.jobs.to_pandas()
    # every job whose transfer finished (it reached the queue) moved its fixed 2 GB
    moved = jobs["queued_s"].notna().sum() * 2.0
    assert moved > 0
    assert s["network"]["gb"] == pytest.approx(moved)
    assert s["bandwidth_cost_cny"] == pytest.approx(0.25 * moved)
    assert s["network"]["bandwidth_cost_cny"] == pytest.approx(0.25 * moved)


def test_bandwidth_price_defaults() -> None:
    _, out = run_in_memory(_batch_with_data(None))
    assert out.summary["bandwidth_cost_cny"] == 0.0  # inline topology: no default price
    cfg = validate_config(
        {
            "name": "n",
            "horizon_h": 1,
            "workloads": [
                {"name": "b", "kind": "batch", "rate_per_h": 1, "service": {"mean_s": 1}, "deadline_h": 1}
            ],
        },
        "t",
    )
    scn = build_scenario(cfg, "t")
    bw = national_reference().latency.bandwidth_cny_per_gb
    assert bw is not None and scn.bandwidth_cny_per_gb == bw.scalar


def _national(**over: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": "n",
        "horizon_h": 1,
        "workloads": [
            {"name": "b", "kind": "batch", "rate_per_h": 1, "service": {"mean_s": 1}, "deadline_h": 1}
        ],
    }
    doc.update(over)
    return doc


def test_only_occupied_servers_are_usable() -> None:
    ref = national_reference()
    scn = build_scenario(validate_config(_national(), "t"), "t")
    topo = scn.topology
    n_sites = len(ref.clusters) + len(ref.metro_dcs)
    assert topo.cluster_ids[n_sites - 3 : n_sites] == ("beijing_metro", "shanghai_metro", "guangzhou_metro")
    sites = {c.id: c for c in [*ref.clusters, *ref.metro_dcs]}
    assert set(topo.sites) == set(sites)
    for sid, site in sites.items():
        cols = topo.site_indices(sid)
        built = site.servers.scalar
        occupied = round(built * site.occupancy.scalar)
        # a site's pools hold its built and occupied servers between them
        assert int(topo.built_servers[cols].sum()) == round(built)
        assert int(topo.cluster_servers[cols].sum()) == occupied
        assert np.all(topo.cluster_servers[cols] <= topo.built_servers[cols])
        gpu = [c for c in cols if topo.types[c] == "gpu"]
        assert len(gpu) == 1 and topo.cluster_ids[gpu[0]] == sid + "_gpu"
        assert topo.cluster_servers[gpu[0]] == round(occupied * site.gpu_share.scalar)
    # the engine's servers are the occupied ones, at each pool's own scale
    assert np.array_equal(scn.slots, np.maximum(1, np.rint(topo.cluster_servers / scn.scales)))
    only = build_scenario(validate_config(_national(topology="national_clusters"), "t"), "t")
    assert len(set(only.topology.sites)) == 10 and "metro" not in only.topology.kinds


def test_occupancy_override_and_conservation() -> None:
    doc = _national(overrides={"clusters": {"shaoguan": {"servers": 100000, "occupancy": 0.5}}})
    topo = build_scenario(validate_config(doc, "t"), "t").topology
    cols = topo.site_indices("shaoguan")  # its CPU and GPU pools share the site's capacity states
    assert topo.built_servers[cols].sum() == 100000 and topo.cluster_servers[cols].sum() == 50000
    assert topo.occupancy[cols] == pytest.approx(0.5)


def test_capacity_states_in_the_summary_and_jobs_conserved() -> None:
    doc = copy.deepcopy(single_queue_config(servers=40, rate_per_h=600.0, mean_service_s=60.0, horizon_h=3.0))
    doc["topology"]["clusters"][0]["occupancy"] = 0.25  # type: ignore[index]
    _, out = run_in_memory(doc)
    s = out.summary
    c = s["clusters"]["c"]
    assert c["built_servers"] == 40 and c["servers"] == 10 and c["occupancy"] == pytest.approx(0.25)
    assert c["powered_server_h"] / 3.0 <= c["servers"] + 1e-9
    ts = out.timeseries.to_pandas()
    assert ts["busy_servers"].max() <= 10 + 1e-9  # never more busy than occupied
    assert s["jobs_total"] == s["jobs_completed"] + s["jobs_dropped"] + s["jobs_in_flight"]
    assert s["occupancy"]["cluster"]["occupied_servers"] == 10


def test_national_summary_reports_occupancy_against_target() -> None:
    doc = _national(horizon_h=0.25)
    _, out = run_in_memory(doc)
    occ = out.summary["occupancy"]
    assert occ["cluster"]["target"] == pytest.approx(0.65)
    assert occ["cluster"]["occupancy"] == pytest.approx(
        occ["cluster"]["occupied_servers"] / occ["cluster"]["built_servers"]
    )
    assert occ["cluster"]["meets_target"] is False  # 62.72 % and Shaoguan's 28 % < 65 %
    assert "shaoguan" in occ["cluster"]["below_target"]
    assert set(occ) == {"cluster", "metro"}
