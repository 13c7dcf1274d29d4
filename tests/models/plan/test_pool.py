"""Pooling batch demand across regions is exact: the same optimum, per-region totals kept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.plan.planner import PlanInputs, PlanWeights, solve_plan
from models.plan.pool import can_pool_batch, latency_groups, pool_batch, poolable
from tests.models.plan.test_planner import make


@st.composite
def pooled_instances(draw: st.DrawFn) -> PlanInputs:
    nr, nc, nt = draw(st.integers(2, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 6))
    lat = [True, False, False]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    # region 0's paths are thin enough to bind sometimes; the others are wide
    bw = np.full((nr, nc), 1e6)
    bw[0] = draw(st.sampled_from([1e6, 0.02]))
    backlog = draw(st.sampled_from(["none", "free", "pinned"]))  # pinned: where it waits
    at = rng.uniform(0, 5, size=(nr, 3, nc, 2)) * (rng.random((nr, 3, nc, 2)) < 0.5)
    return make(
        nr,
        nc,
        nt,
        lat,
        demand_sh=rng.uniform(0, 50, size=(nr, 3, nt)),
        data_gb_per_sh=np.array([0.0, 2.0, 5.0]),
        deadline_h=np.array([0, 2, 4], dtype=np.int64),
        rtt_ms=rng.uniform(1, 40, size=(nr, nc)),
        capacity_servers=rng.uniform(20, 200, size=(nc, nt)),
        tariff_cny_per_kwh=rng.uniform(0.2, 1.0, size=(nc, nt)),
        green_kw=rng.uniform(0, 5, size=(nc, nt)),
        bandwidth_gbps=bw,
        backlog_sh=at.sum(axis=2) if backlog != "none" else None,
        backlog_at_sh=at if backlog == "pinned" else None,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=pooled_instances())
def test_pooled_plan_has_the_full_optimum_and_keeps_every_regions_totals(inp: PlanInputs) -> None:
    w = PlanWeights(unserved_cny_per_sh=50.0)
    full = solve_plan(inp, w, pool=False)
    pooled = solve_plan(inp, w)
    assert full.status == pooled.status == "optimal"
    assert pooled.objective == pytest.approx(full.objective, rel=1e-7, abs=1e-6)
    assert pooled.region_ids == inp.region_ids and pooled.routed_sh.shape == full.routed_sh.shape
    # every region's demand is placed or unserved, and what is routed is executed
    demand = inp.demand_sh.sum(axis=2) + (inp.backlog_sh.sum(axis=2) if inp.backlog_sh is not None else 0.0)
    routed = pooled.routed_sh.sum(axis=(2, 3))
    if pooled.backlog_routed_sh.size:
        routed = routed + pooled.backlog_routed_sh.sum(axis=2)
    np.testing.assert_allclose(routed + pooled.unserved_sh, demand, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pooled.work_sh.sum(axis=3), full_or_routed(pooled), rtol=1e-6, atol=1e-6)
    # no region's batch work runs before it arrives (first in, first out within the pool)
    batch = ~inp.is_latency
    backlog = pooled.backlog_routed_sh
    if not backlog.size:
        backlog = np.zeros(pooled.work_sh.shape[:3])
    ran = np.cumsum(pooled.work_sh[:, batch], axis=3)
    came = np.cumsum(pooled.routed_sh[:, batch], axis=3) + backlog[:, batch][..., None]
    assert (ran <= came + 1e-6).all()
    # latency work is never pooled: it keeps its region and its SLO
    assert (pooled.routed_sh[:, 0][inp.rtt_ms > inp.slo_ms[0]] == 0).all()


def full_or_routed(res: object) -> np.ndarray:
    r = res.routed_sh.sum(axis=3)  # type: ignore[attr-defined]
    b = res.backlog_routed_sh  # type: ignore[attr-defined]
    return np.asarray(r + b if b.size else r)


def test_only_regions_whose_paths_cannot_bind_are_pooled() -> None:
    inp = make(3, 2, 2, [False], demand_sh=np.full((3, 1, 2), 10.0), data_gb_per_sh=np.array([4.0]),
               bandwidth_gbps=np.array([[1e6, 1e6], [0.05, 1e6], [1e6, 1e6]]))  # fmt: skip
    # region 1 may route 40 GB an hour but one of its paths carries only 0.05 x 3600 / 8 = 22.5 GB
    assert poolable(inp).tolist() == [True, False, True] and can_pool_batch(inp, PlanWeights())
    pooled = pool_batch(inp)
    assert pooled.region_ids[-1] == "__batch_pool__"
    np.testing.assert_allclose(pooled.demand_sh[:, 0, 0], [0.0, 10.0, 0.0, 20.0])


@st.composite
def latency_twins(draw: st.DrawFn) -> PlanInputs:
    """Two latency classes with the same SLO (one group), one with another SLO, one batch class."""
    nr, nc, nt = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    return make(
        nr,
        nc,
        nt,
        [True, False, True, True],
        demand_sh=rng.uniform(0, 60, size=(nr, 4, nt)) * (rng.random((nr, 4, nt)) < 0.8),
        slo_ms=np.array([25.0, np.inf, 10.0, 25.0]),
        data_gb_per_sh=np.array([0.5, 2.0, 0.0, 0.5]),
        deadline_h=np.array([0, 3, 0, 0], dtype=np.int64),
        rtt_ms=rng.uniform(1, 40, size=(nr, nc)),
        capacity_servers=rng.uniform(10, 150, size=(nc, nt)),
        tariff_cny_per_kwh=rng.uniform(0.2, 1.0, size=(nc, nt)),
        backlog_sh=rng.uniform(0, 10, size=(nr, 4, 2)) if draw(st.booleans()) else None,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=latency_twins())
def test_latency_classes_sharing_an_slo_pool_exactly(inp: PlanInputs) -> None:
    assert latency_groups(inp) == [[0, 3]]
    w = PlanWeights(unserved_cny_per_sh=80.0, transfer_cny_per_gb=0.3)
    full = solve_plan(inp, w, pool=False, solver="highs")
    pooled = solve_plan(inp, w, solver="highs")
    assert full.status == pooled.status == "optimal"
    assert pooled.objective == pytest.approx(full.objective, rel=1e-7, abs=1e-6)
    assert pooled.class_names == inp.class_names
    # each class of the group: placed + unserved = its own demand, within its own routes
    demand = inp.demand_sh.sum(axis=2) + (inp.backlog_sh.sum(axis=2) if inp.backlog_sh is not None else 0.0)
    routed = pooled.routed_sh.sum(axis=(2, 3))
    if pooled.backlog_routed_sh.size:
        routed = routed + pooled.backlog_routed_sh.sum(axis=2)
    np.testing.assert_allclose(routed + pooled.unserved_sh, demand, rtol=1e-6, atol=1e-6)
    for k in (0, 3):
        assert (pooled.routed_sh[:, k][inp.rtt_ms > inp.slo_ms[k]] == 0).all()
    assert set(pooled.slo_dual) == set(full.slo_dual)
    assert pooled.slo_dual["k0"] == pooled.slo_dual["k3"]


def test_classes_with_another_transfer_price_are_not_pooled() -> None:
    inp = make(2, 2, 2, [True, True], slo_ms=np.array([20.0, 20.0]), data_gb_per_sh=np.array([0.0, 1.0]))
    assert latency_groups(inp) == []


def test_batch_pooling_is_refused_when_batch_cost_depends_on_the_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import models.plan.pool as pool_mod

    inp = make(3, 2, 2, [False], demand_sh=np.full((3, 1, 2), 10.0))
    w = PlanWeights(transfer_cny_per_gb=0.5)
    assert pool_mod.batch_cost_region_free(inp, w) and can_pool_batch(inp, w)
    real = pool_mod.route_cost

    def by_region(i: PlanInputs, ww: PlanWeights) -> np.ndarray:
        return np.asarray(real(i, ww) + np.arange(3.0)[:, None, None])  # a cost that differs per region

    monkeypatch.setattr(pool_mod, "route_cost", by_region)
    assert not pool_mod.batch_cost_region_free(inp, w) and not can_pool_batch(inp, w)
