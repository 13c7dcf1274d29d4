"""Shared test helpers: small configs and in-memory runs."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from models.demand.workload import KIND_BATCH, ClassSpec
from sim.config_io import validate_config
from sim.runner import Outputs, simulate
from sim.scenario import Scenario, build_scenario

# the national clusters, in the reference data's order
CLUSTER_IDS = ["zhangjiakou", "yrd_demo", "wuhu", "shaoguan", "tianfu", "chongqing", "guian", "helingeer",
               "qingyang", "zhongwei"]  # fmt: skip


def single_queue_config(
    servers: int, rate_per_h: float, mean_service_s: float, horizon_h: float, seed: int = 0
) -> dict[str, Any]:
    """One region, one cluster of ``servers`` servers, zero network delay (M/M/c)."""
    return {
        "name": "mmc",
        "seed": seed,
        "horizon_h": horizon_h,
        "topology": {
            "regions": [{"id": "r"}],
            "clusters": [{"id": "c", "servers": servers}],
            "latency_ms": {"r": {"c": 0.0}},
        },
        "workloads": [
            {
                "name": "w",
                "kind": "batch",
                "rate_per_h": rate_per_h,
                "service": {"dist": "exponential", "mean_s": mean_service_s},
                "deadline_h": 1e6,
            }
        ],
        "engine": {"timestep_s": 3600},
    }


def two_site_config(seed: int = 1, horizon_h: float = 2.0, policy: str = "nearest") -> dict[str, Any]:
    """Two regions, an eastern and a western cluster, a latency and a batch class."""
    return {
        "name": "two_site",
        "seed": seed,
        "horizon_h": horizon_h,
        "topology": {
            "regions": [
                {"id": "beijing", "lon": 116.407526, "lat": 39.90403, "weight": 2},
                {"id": "shanghai", "lon": 121.473701, "lat": 31.230416},
            ],
            "clusters": [
                {"id": "east1", "lon": 115.09, "lat": 40.717, "servers": 150, "tariff_cny_per_kwh": 0.6},
                {
                    "id": "west1",
                    "lon": 106.6,
                    "lat": 26.4,
                    "servers": 300,
                    "side": "west",
                    "tariff_cny_per_kwh": 0.3,
                },
            ],
        },
        "workloads": [
            {"name": "web", "kind": "latency", "rate_per_h": 3000, "service": {"mean_s": 60}, "slo_ms": 20},
            {
                "name": "etl",
                "kind": "batch",
                "rate_per_h": 100,
                "service": {"mean_s": 1800},
                "deadline_h": 24,
                "data_gb": 50,
            },
        ],
        "policy": {"name": policy},
    }


#: summary keys that time the run (wall clock): they differ between two runs of one config
TIMINGS = frozenset({"simulation_s", "wall_s", "solve_s", "build_s", "planner_wall_s"})


def without_timings(doc: object) -> object:
    """``doc`` (a summary, as JSON) without its :data:`TIMINGS` keys, at any depth."""
    if isinstance(doc, dict):
        return {k: without_timings(v) for k, v in doc.items() if k not in TIMINGS}
    if isinstance(doc, list):
        return [without_timings(v) for v in doc]
    return doc


def scenario_of(doc: dict[str, Any]) -> Scenario:
    return build_scenario(validate_config(copy.deepcopy(doc), "test.yaml"), "test.yaml")


def run_in_memory(doc: dict[str, Any]) -> tuple[Scenario, Outputs]:
    scn = scenario_of(doc)
    return scn, simulate(scn)


def batch_spec(
    real_per_h: float,
    scale: int = 1,
    profile: np.ndarray | None = None,
    regions: tuple[float, ...] = (0.25, 0.75),
) -> ClassSpec:
    """A batch class of ``real_per_h`` real jobs an hour, bundled ``scale`` to one, 600 s
    exponential service, over ``regions`` (weights)."""
    return ClassSpec(
        name="b",
        kind=KIND_BATCH,
        rate_per_h=real_per_h / scale,
        service_dist="exponential",
        service_mean_s=600.0,
        service_cv=1.0,
        region_weight=np.array(regions),
        job_scale=scale,
        rate_profile=profile,
    )
