"""Small planning instances shared by the LP build tests (fixed seeds, every block of the model)."""

from __future__ import annotations

import hashlib
import math

import numpy as np

from models.plan.build import SparseLP
from models.plan.inputs import PlanInputs, PlanWeights

INF = math.inf


def random_instance(seed: int, nr: int = 3, nc: int = 4, nt: int = 6, backlog: bool = True) -> PlanInputs:
    """A random window with latency and batch classes, backlog, finite bandwidth and green supply."""
    rng = np.random.default_rng(seed)
    lat = np.array([True, False, True, False])
    nk = len(lat)
    return PlanInputs(
        region_ids=tuple(f"r{i}" for i in range(nr)),
        cluster_ids=tuple(f"c{i}" for i in range(nc)),
        class_names=tuple(f"k{i}" for i in range(nk)),
        is_latency=lat,
        slo_ms=np.array([rng.uniform(10, 40) if x else INF for x in lat]),
        deadline_h=np.array([0, 3, 0, 9], dtype=np.int64),
        demand_sh=rng.uniform(0, 50, size=(nr, nk, nt)) * (rng.random((nr, nk, nt)) < 0.8),
        data_gb_per_sh=rng.uniform(0, 2000, size=nk),
        rtt_ms=rng.uniform(2, 40, size=(nr, nc)),
        capacity_servers=rng.uniform(20, 120, size=(nc, nt)),
        cluster_west=np.arange(nc) % 2 == 1,
        cluster_hub=tuple(f"h{i % 2}" for i in range(nc)),
        pue=rng.uniform(1.05, 1.5, size=(nc, nt)),
        tariff_cny_per_kwh=rng.uniform(0.2, 1.5, (nc, nt)),
        grid_kgco2_per_kwh=rng.uniform(300, 900, (nc, nt)),
        green_kw=rng.uniform(0, 20, (nc, nt)),
        bandwidth_gbps=np.where(rng.random((nr, nc)) < 0.3, INF, rng.uniform(0.5, 50, size=(nr, nc))),
        idle_w=150.0,
        peak_w=400.0,
        rho_max=0.8,
        backlog_sh=rng.uniform(0, 20, size=(nr, nk, 4)) if backlog else None,
    )


def golden_cases() -> dict[str, tuple[PlanInputs, PlanWeights, bool]]:
    """name -> (inputs, weights, elastic): the instances whose built arrays are pinned."""
    full = PlanWeights(
        carbon_price_cny_per_t=80.0,
        latency_cny_per_ms_sh=0.02,
        transfer_cny_per_gb=0.003,
        switching_cny_per_server=0.05,
        unserved_cny_per_sh=500.0,
    )
    caps = PlanWeights(
        carbon_price_cny_per_t=50.0,
        transfer_cny_per_gb=0.001,
        max_tco2=5.0,
        min_green_share=0.1,
        min_west_share=0.3,
        hub_quota_sh={"h0": 400.0},
    )
    return {
        "plain": (random_instance(1, backlog=False), PlanWeights(), False),
        "backlog_switching": (random_instance(2), full, False),
        "caps_elastic": (random_instance(3, nr=2, nc=3, nt=5), caps, True),
        "hard_demand": (random_instance(4, nt=1), PlanWeights(unserved_cny_per_sh=INF), False),
    }


def digest(lp: SparseLP) -> str:
    """sha256 of every array the solvers read, in order (cost, bounds, CSR) and the hour runs."""
    h = hashlib.sha256()
    L = lp.layout
    for a in (lp.cost, lp.col_lo, lp.col_hi, lp.row_lo, lp.row_hi, lp.indptr, lp.indices, lp.data,
              L.col_pos, L.col_len, L.row_pos, L.row_len):  # fmt: skip
        arr = np.ascontiguousarray(a)
        h.update(str((arr.dtype.str, arr.shape)).encode())
        h.update(arr.tobytes())
    return h.hexdigest()
