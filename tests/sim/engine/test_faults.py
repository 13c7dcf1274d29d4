"""Faults: outages re-route or lose exactly the jobs on the cluster; totals are conserved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import run_in_memory


def _two_clusters(faults: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": "faults",
        "seed": 21,
        "horizon_h": 4,
        "topology": {
            "regions": [{"id": "r"}],
            "clusters": [{"id": "a", "servers": 20}, {"id": "b", "servers": 40}],
            "latency_ms": {"r": {"a": 1.0, "b": 5.0}},
        },
        "workloads": [
            {"name": "w", "kind": "batch", "rate_per_h": 60, "service": {"mean_s": 1200}, "deadline_h": 1e3},
        ],
        "faults": faults,
        "engine": {"timestep_s": 60},
    }


def _in_system_at(jobs: Any, t: float, cluster: str) -> int:
    on = jobs[(jobs.cluster == cluster) & (jobs.queued_s <= t)]
    return int(((on.end_s > t) | on.end_s.isna()).sum())


@pytest.mark.parametrize("mode", ["reroute", "drop"])
def test_outage_at_peak_displaces_exactly_the_jobs_on_the_cluster(mode: str) -> None:
    _, base = run_in_memory(_two_clusters([]))
    expected = _in_system_at(base.jobs.to_pandas(), 3600.0, "a")
    assert expected > 10  # a busy cluster
    outage = {"kind": "outage", "cluster": "a", "start_h": 1, "duration_h": 1, "on_outage": mode}
    _, out = run_in_memory(_two_clusters([outage]))
    s = out.summary
    f = s["faults"]
    assert f["jobs_affected"] == expected
    if mode == "reroute":
        assert (f["jobs_rerouted"], f["jobs_lost"]) == (expected, 0)
    else:
        assert (f["jobs_rerouted"], f["jobs_lost"]) == (0, expected)
    assert s["jobs_total"] == s["jobs_completed"] + s["jobs_dropped"] + s["jobs_in_flight"]
    assert s["jobs_total"] == base.summary["jobs_total"]  # same arrivals
    jobs = out.jobs.to_pandas()
    assert (jobs.status == "lost").sum() == f["jobs_lost"]
    assert (jobs.reroutes > 0).sum() == f["jobs_rerouted"]
    # nothing runs on the failed cluster while it is down
    ts = out.timeseries.to_pandas()
    down = ts[(ts.cluster == "a") & (ts.time_s >= 3600) & (ts.time_s < 7200)]
    assert down.busy_servers.max() == 0.0 and down.queue_len.max() == 0.0
    assert ts[(ts.cluster == "a") & (ts.time_s >= 7200)].busy_servers.max() > 0  # and it comes back


def test_capacity_loss_caps_the_busy_servers() -> None:
    loss = {"kind": "capacity_loss", "cluster": "a", "start_h": 1, "duration_h": 2, "fraction": 0.5}
    _, out = run_in_memory(_two_clusters([loss]))
    ts = out.timeseries.to_pandas()
    a = ts[ts.cluster == "a"]
    # running jobs above the new capacity are preempted: at most half of the 20 servers work
    late = a[(a.time_s >= 3600) & (a.time_s < 3 * 3600)]
    assert late.busy_servers.max() <= 10.0 + 1e-9
    assert out.summary["faults"]["jobs_affected"] == 0


def test_link_degradation_multiplies_rtt_while_it_lasts() -> None:
    deg = {"kind": "link_degradation", "cluster": "a", "start_h": 1, "duration_h": 1, "factor": 3}
    _, out = run_in_memory(_two_clusters([deg]))
    jobs = out.jobs.to_pandas()
    on_a = jobs[jobs.cluster == "a"]
    during = on_a[(on_a.arrival_s >= 3600) & (on_a.arrival_s < 7200)]
    outside = on_a[(on_a.arrival_s < 3600) | (on_a.arrival_s >= 7200)]
    assert during.network_s.round(9).unique().tolist() == [0.003]
    assert outside.network_s.round(9).unique().tolist() == [0.001]


def test_unknown_fault_cluster_is_bad_input() -> None:
    from models.errors import InputError
    from tests.helpers import scenario_of

    with pytest.raises(InputError, match=r"faults\[0\].cluster"):
        scenario_of(_two_clusters([{"kind": "outage", "cluster": "zz", "start_h": 1, "duration_h": 1}]))
