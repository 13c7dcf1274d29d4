"""The engine with ``engine.bundling: pool``: batch routed once a step, bundled at each pool.

Independent truth: Erlang C for the real server count (the pool at its own
scale queues like the real pool), the policy's shares (real jobs split as
routed), conservation of real jobs and of work (a bundle re-routed to a pool of
another scale holds that pool's server for its real jobs' share of one), and
determinism.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np
import pandas as pd
import pytest

from models.queueing import erlang_c
from sim.policies import Policy, make_policy, register_policy
from tests.helpers import run_in_memory, scenario_of, single_queue_config, two_site_config


def _pooled(doc: dict[str, Any], **engine: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc.setdefault("engine", {}).update({"bundling": "pool", **engine})
    return doc


@pytest.mark.parametrize(
    ("servers", "scale", "rho"),
    [(1000, 10, 0.98), (100_000, 2000, 0.95)],
    ids=["c=1000 S=10 rho=0.98", "c=1e5 S=2000 rho=0.95"],
)
def test_a_pool_at_its_own_scale_queues_like_the_real_pool(servers: int, scale: int, rho: float) -> None:
    """Mean response of real jobs (rows weighted by their real jobs) vs Erlang C for the real c."""
    mean_h = 1.0
    horizon_h = 3000.0 * 100 / (servers / scale)
    doc = single_queue_config(servers, rho * servers / mean_h, mean_h * 3600.0, horizon_h, seed=11)
    doc = _pooled(doc, timestep_s=300, pool_job_scale={"c": scale})
    _, out = run_in_memory(doc)
    jobs = out.jobs.to_pandas()
    assert (jobs.job_scale == scale).all()
    done = jobs[(jobs.status == "completed") & (jobs.arrival_s >= 0.1 * horizon_h * 3600)]
    response_h = float(np.average(done.end_s - done.arrival_s, weights=done.job_scale)) / 3600.0
    a = rho * servers
    real_h = mean_h * (1.0 + erlang_c(servers, a) / (servers - a))
    assert response_h == pytest.approx(real_h, rel=0.02), (response_h, real_h)


class _Fixed(Policy):
    """Batch: 30 % east1, 70 % west1 of every stream; jobs re-routed one by one to west1."""

    name = "fixed_shares_test"

    def route(self, region: int, klass: int, now_s: float) -> int:
        return self.first_up([1, 0])

    def route_batch(self, now_s: float) -> np.ndarray:
        scn = self.scenario
        out = np.zeros((len(scn.classes), scn.topology.n_regions, scn.topology.n_clusters))
        out[:, :, 0], out[:, :, 1] = 0.3, 0.7
        return out


@functools.cache
def _two_scales(seed: int = 3) -> tuple[pd.DataFrame, dict[str, Any], np.ndarray]:
    register_policy(_Fixed)
    doc = two_site_config(seed=seed, horizon_h=400.0, policy="fixed_shares_test")
    doc["workloads"] = [doc["workloads"][1]]  # batch only
    doc["workloads"][0]["rate_per_h"] = 2000.0
    doc["workloads"][0]["deadline_h"] = 1000.0
    doc["topology"]["clusters"][0]["servers"] = 5000
    doc["topology"]["clusters"][1]["servers"] = 10000
    doc = _pooled(doc, job_scale=1, pool_job_scale={"east1": 10, "west1": 50})
    scn, out = run_in_memory(doc)
    return out.jobs.to_pandas(), out.summary, scn.scales


def test_real_jobs_follow_the_shares_and_bundles_take_their_pools_scale() -> None:
    jobs, summary, _ = _two_scales()
    real = jobs.groupby("cluster", observed=True).job_scale.sum()
    expected = 2000.0 * 400.0
    assert real["east1"] == pytest.approx(0.3 * expected, rel=0.02)
    assert real["west1"] == pytest.approx(0.7 * expected, rel=0.02)
    assert set(jobs[jobs.cluster == "east1"].job_scale) == {10}
    assert set(jobs[jobs.cluster == "west1"].job_scale) == {50}
    # the summary counts real jobs row by row
    etl = summary["classes"]["etl"]
    assert etl["real_jobs"] == int(jobs.job_scale.sum())
    assert etl["jobs"] == len(jobs)


def test_a_bundle_holds_its_pools_server_for_its_real_jobs_share() -> None:
    jobs, _, scales = _two_scales()
    scale_of = {"east1": scales[0], "west1": scales[1]}
    s = jobs.cluster.map(scale_of).astype(float)
    # real server-seconds held = real server-seconds of work, row by row
    np.testing.assert_allclose(jobs.occupancy_s * s, jobs.service_s * jobs.job_scale, rtol=1e-12)


def test_an_outage_reroutes_bundles_to_a_pool_of_another_scale_keeping_their_work() -> None:
    register_policy(_Fixed)
    doc = two_site_config(seed=4, horizon_h=48.0, policy="fixed_shares_test")
    doc["workloads"] = [doc["workloads"][1]]
    doc["workloads"][0]["rate_per_h"] = 2000.0
    doc["faults"] = [{"kind": "outage", "cluster": "east1", "start_h": 10, "duration_h": 12}]
    doc["topology"]["clusters"][0]["servers"] = 5000
    doc["topology"]["clusters"][1]["servers"] = 10000
    doc = _pooled(doc, job_scale=1, pool_job_scale={"east1": 10, "west1": 50})
    _, out = run_in_memory(doc)
    jobs = out.jobs.to_pandas()
    moved = jobs[jobs.reroutes > 0]
    assert len(moved) > 0 and (moved.cluster == "west1").all() and (moved.job_scale == 10).all()
    # a bundle of 10 real jobs on a server that stands for 50: held a fifth of its service time
    np.testing.assert_allclose(moved.occupancy_s, moved.service_s * 10 / 50, rtol=1e-12)
    # arriving during the outage, the step's east1 share is re-routed on arrival (west1)
    during = jobs[(jobs.arrival_s >= 10 * 3600) & (jobs.arrival_s < 22 * 3600)]
    assert (during.cluster == "west1").all()
    assert out.summary["faults"]["jobs_lost"] == 0 and out.summary["faults"]["jobs_rerouted"] == len(moved)


@pytest.mark.parametrize(
    "policy", ["nearest", "cheapest", "greenest", "round_robin", "random", "spill_west", "lp"]
)
def test_every_policy_runs_pooled_and_conserves_real_jobs(policy: str) -> None:
    doc = _pooled(two_site_config(policy=policy, horizon_h=6.0, seed=2), job_scale=1)
    doc["workloads"][1]["rate_per_h"] = 400.0
    _, out = run_in_memory(doc)
    jobs = out.jobs.to_pandas()
    etl = out.summary["classes"]["etl"]
    assert etl["real_jobs"] == int(jobs.job_scale.sum()) > 0
    # real jobs in = completed + dropped + lost + in flight
    by = jobs.groupby("status", observed=True).job_scale.sum()
    assert int(by.sum()) == etl["real_jobs"]
    assert len(jobs) == etl["completed"] + etl["dropped"] + etl["lost"] + etl["in_flight"]
    # the real jobs of a Poisson stream: 400 an hour for 6 hours (+- 5 sigma)
    assert abs(etl["real_jobs"] - 2400) < 5 * np.sqrt(2400)
    again = run_in_memory(doc)[1].jobs.to_pandas()
    pd.testing.assert_frame_equal(jobs, again)  # same config and seed, same jobs


def test_spill_west_decides_latency_flows_with_the_batch_shares_alike() -> None:
    """The flows' shares kept from route_batch are those route_flows decides on its own."""
    doc = _pooled(two_site_config(policy="spill_west"), job_scale=1)
    scn = scenario_of(doc)
    pol = make_policy(scn)
    both = pol.route_batch(0.0)
    assert np.array_equal(pol.route_flows(0.0), both)
    alone = pol.route_flows(0.0)  # nothing kept now: decided afresh
    lat = [k for k, c in enumerate(scn.classes) if c.is_latency]
    np.testing.assert_array_equal(alone[lat], both[lat])
    batch = [k for k, c in enumerate(scn.classes) if not c.is_latency]
    assert np.allclose(both[batch].sum(axis=2), 1.0)


class _Flip(Policy):
    """Batch: all to east1 on even steps, all to west1 on odd ones, in one array it rewrites
    in place (``read_only``: two read-only arrays it hands back in turn instead; ``fresh``: a
    new writable array each step)."""

    name = "flip_shares_test"
    mode = "in_place"

    def route(self, region: int, klass: int, now_s: float) -> int:
        return self.first_up([0, 1])

    def route_batch(self, now_s: float) -> np.ndarray:
        scn = self.scenario
        shape = (len(scn.classes), scn.topology.n_regions, scn.topology.n_clusters)
        odd = int(now_s // scn.config.engine.timestep_s) % 2
        if self.mode == "fresh":
            out = np.zeros(shape)
            out[:, :, odd] = 1.0
            return out
        if not hasattr(self, "_arrays"):
            self._arrays = [np.zeros(shape), np.zeros(shape)]
            for i, a in enumerate(self._arrays):
                a[:, :, i] = 1.0
                a.flags.writeable = self.mode != "read_only"
        if self.mode == "read_only":
            return self._arrays[odd]
        out = self._arrays[0]  # the same object every step, its contents changed
        out[:] = 0.0
        out[:, :, odd] = 1.0
        return out


@pytest.mark.parametrize("mode", ["in_place", "read_only"])
def test_shares_the_policy_hands_back_again_are_read_as_they_are_now(mode: str) -> None:
    # the feed keeps normalised shares only for read-only arrays: an array rewritten in place
    # is read afresh, a recalled read-only one gives what a fresh array would
    jobs = {}
    for m in ("fresh", mode):
        cls = type(f"_Flip_{m}", (_Flip,), {"name": f"flip_{m}_test", "mode": m})
        register_policy(cls)
        doc = two_site_config(seed=5, horizon_h=48.0, policy=f"flip_{m}_test")
        doc["workloads"] = [doc["workloads"][1]]  # batch only
        doc = _pooled(doc, timestep_s=600, job_scale=1, pool_job_scale={"east1": 5, "west1": 5})
        _, out = run_in_memory(doc)
        jobs[m] = out.jobs.to_pandas()
    pd.testing.assert_frame_equal(jobs["fresh"], jobs[mode])
    assert set(jobs[mode].cluster) == {"east1", "west1"}
