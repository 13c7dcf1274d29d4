"""Queue disciplines and link sharing against queueing theory and hand calculations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tests.helpers import run_in_memory, single_queue_config

REPS = 20


def _ci_contains(samples: list[float], truth: float, z: float = 3.0) -> bool:
    a = np.asarray(samples)
    return abs(a.mean() - truth) <= z * a.std(ddof=1) / math.sqrt(a.size)


@pytest.mark.parametrize(
    ("dist", "cv"), [("fixed", 0.0), ("lognormal", 2.0)], ids=["M/D/1-PS", "M/LogN/1-PS"]
)
def test_mg1_processor_sharing_sojourn_is_insensitive(dist: str, cv: float) -> None:
    """M/G/1-PS: mean sojourn = 1/(mu - lambda) whatever the service distribution."""
    lam, mu, horizon_h = 0.7, 1.0, 4000.0
    means = []
    for rep in range(REPS):
        doc = single_queue_config(1, lam, 3600.0 / mu, horizon_h, seed=500 + rep)
        doc["workloads"][0]["service"] = {"dist": dist, "mean_s": 3600.0 / mu, "cv": cv}
        doc["engine"]["queue"] = "ps"
        _, out = run_in_memory(doc)
        jobs = out.jobs.to_pandas()
        done = jobs[(jobs.status == "completed") & (jobs.arrival_s > 0.05 * horizon_h * 3600)]
        means.append(((done.end_s - done.arrival_s) / 3600).mean())
    assert _ci_contains(means, 1.0 / (mu - lam)), (np.mean(means), 1 / (mu - lam))


def _two_class(lam_hi: float, lam_lo: float, horizon_h: float, seed: int) -> dict[str, Any]:
    doc = single_queue_config(1, lam_hi, 3600.0, horizon_h, seed=seed)
    hi = doc["workloads"][0]
    hi.update(name="hi", priority=0)
    doc["workloads"].append(
        {"name": "lo", "kind": "batch", "rate_per_h": lam_lo, "service": {"mean_s": 3600.0},
         "deadline_h": 1e6, "priority": 1}
    )  # fmt: skip
    doc["engine"]["queue"] = "priority"
    return doc


def test_preemptive_priority_high_class_sees_its_own_mm1() -> None:
    """With preemptive-resume priority the urgent class behaves as M/M/1 at its own load."""
    lam_hi, lam_lo, horizon_h = 0.5, 0.3, 4000.0
    hi_sojourn, lo_sojourn = [], []
    for rep in range(REPS):
        _, out = run_in_memory(_two_class(lam_hi, lam_lo, horizon_h, seed=900 + rep))
        jobs = out.jobs.to_pandas()
        done = jobs[(jobs.status == "completed") & (jobs.arrival_s > 0.05 * horizon_h * 3600)]
        t = (done.end_s - done.arrival_s) / 3600
        hi_sojourn.append(t[done["class"] == "hi"].mean())
        lo_sojourn.append(t[done["class"] == "lo"].mean())
    assert _ci_contains(hi_sojourn, 1.0 / (1.0 - lam_hi))
    # the low class: T = (1/mu)/(1 - rho_hi) + R / ((1 - rho_hi)(1 - rho)) with R = rho / mu (exponential)
    rho_hi, rho = lam_hi, lam_hi + lam_lo
    t_lo = 1.0 / (1 - rho_hi) + rho / ((1 - rho_hi) * (1 - rho))
    assert _ci_contains(lo_sojourn, t_lo)


def _link_config(n_jobs: int, data_gb: float, gbps: float) -> dict[str, Any]:
    """n batch jobs arriving (almost) together over one path of ``gbps``."""
    return {
        "name": "link",
        "horizon_h": 10,
        "topology": {
            "regions": [{"id": "r"}],
            "clusters": [{"id": "c", "servers": 10}],
            "latency_ms": {"r": {"c": 0.0}},
        },
        "workloads": [
            {"name": "w", "kind": "batch", "rate_per_h": 0, "service": {"dist": "fixed", "mean_s": 1.0},
             "deadline_h": 100, "data_gb": data_gb,
             "bursts": [{"start_h": 0.0, "duration_h": 1e-9, "multiplier": 1}]}
        ],
        "network": {"path_gbps": gbps, "flow_gbps": gbps},
    }  # fmt: skip


def test_two_equal_transfers_on_one_link_finish_together_at_twice_the_solo_time(tmp_path: Any) -> None:
    from models.demand.workload import Jobs
    from sim.engine.kernel import Engine
    from sim.engine.records import JobSink
    from sim.policies import make_policy
    from tests.helpers import scenario_of

    def transfer_times(n: int) -> np.ndarray:
        scn = scenario_of(_link_config(n, data_gb=100.0, gbps=8.0))
        jobs = Jobs(
            arrival_s=np.zeros(n), region=np.zeros(n, dtype=np.int32), klass=np.zeros(n, dtype=np.int32),
            service_s=np.ones(n), data_gb=np.full(n, 100.0),
        )  # fmt: skip
        sink = JobSink(scn)
        Engine(scn, sink, make_policy(scn), jobs=[jobs]).run()
        return np.asarray(sink.close().column("network_s").to_numpy())

    solo = transfer_times(1)
    assert solo[0] == pytest.approx(100.0 * 8 / 8.0)  # 100 GB at 8 Gbps: 100 s
    pair = transfer_times(2)
    assert pair == pytest.approx([2 * solo[0], 2 * solo[0]])


def test_a_flood_of_batch_data_slows_transfers() -> None:
    doc = single_queue_config(50, 20.0, 600.0, 5.0, seed=3)
    doc["workloads"][0]["data_gb"] = 50.0
    doc["network"] = {"path_gbps": 100.0, "flow_gbps": 10.0}
    _, light = run_in_memory(doc)
    doc["workloads"][0]["rate_per_h"] = 850.0  # 850 x 400 Gb / 3600 s = 94 Gbps on a 100 Gbps path
    doc["topology"]["clusters"][0]["servers"] = 5000
    _, heavy = run_in_memory(doc)
    arrived = "queued_s == queued_s"  # transfers finished before the horizon
    t_light = light.jobs.to_pandas().query(arrived).network_s.median()
    t_heavy = heavy.jobs.to_pandas().query(arrived).network_s.median()
    assert t_light == pytest.approx(50 * 8 / 10.0, rel=0.05)  # alone: limited by the 10 Gbps flow cap
    assert t_heavy > 1.4 * t_light  # flows beyond 10 share the 100 Gbps: each gets less than its cap


def test_max_share_caps_the_servers_a_class_may_hold() -> None:
    """A per-class utilisation target: batch may use at most 40 % of the servers."""
    doc = single_queue_config(10, 30.0, 3600.0, 6.0, seed=8)  # offered load 30 servers on 10
    doc["workloads"][0]["max_share"] = 0.4
    _, out = run_in_memory(doc)
    ts = out.timeseries.to_pandas()
    assert ts.busy_servers.max() <= 4.0 + 1e-9
    assert ts.busy_servers.iloc[len(ts) // 2 :].min() > 3.9  # and it does use its share
