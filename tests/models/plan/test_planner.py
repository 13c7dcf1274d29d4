"""LP planner against independent truths: hand optima, greedy, shifting, invariants, failures."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.plan.build import SparseLP, build_lp
from models.plan.planner import PlanError, PlanInputs, PlanWeights, RollingPlanner, solve_plan
from models.plan.solve import solver_available

INF = math.inf


def make(nr: int, nc: int, nt: int, lat: list[bool], **kw: Any) -> PlanInputs:
    nk = len(lat)
    base: dict[str, Any] = dict(
        region_ids=tuple(f"r{i}" for i in range(nr)),
        cluster_ids=tuple(f"c{i}" for i in range(nc)),
        class_names=tuple(f"k{i}" for i in range(nk)),
        is_latency=np.array(lat),
        slo_ms=np.array([50.0 if x else INF for x in lat]),
        deadline_h=np.array([0 if x else 4 for x in lat], dtype=np.int64),
        demand_sh=np.ones((nr, nk, nt)),
        data_gb_per_sh=np.zeros(nk),
        rtt_ms=np.full((nr, nc), 5.0),
        capacity_servers=np.full((nc, nt), 1000.0),
        cluster_west=np.arange(nc) % 2 == 1,
        cluster_hub=tuple(f"h{i}" for i in range(nc)),
        pue=np.ones((nc, nt)),
        tariff_cny_per_kwh=np.ones((nc, nt)),
        grid_kgco2_per_kwh=np.full((nc, nt), 500.0),
        green_kw=np.zeros((nc, nt)),
        bandwidth_gbps=np.full((nr, nc), INF),
        idle_w=100.0,
        peak_w=300.0,
        rho_max=0.5,
    )
    base.update(kw)
    return PlanInputs(**base)


def hand_instance() -> PlanInputs:
    # Regions A, B; clusters E (east, 1.0 CNY/kWh, 1000 servers), W (west, 0.5 CNY/kWh, 100 servers);
    # one latency class, SLO 10 ms; RTT A-E 5, A-W 30 (excluded), B-E 8, B-W 9; demand 100 sh each.
    return make(
        2,
        2,
        1,
        [True],
        slo_ms=np.array([10.0]),
        demand_sh=np.array([[[100.0]], [[100.0]]]),
        rtt_ms=np.array([[5.0, 30.0], [8.0, 9.0]]),
        capacity_servers=np.array([[1000.0], [100.0]]),
        tariff_cny_per_kwh=np.array([[1.0], [0.5]]),
    )


def test_hand_optimum_plan_objective_and_capacity_dual() -> None:
    # rho = 0.5: each sh needs 2 active servers -> energy = (2 x 100 W + 200 W) x 1 h = 0.4 kWh per sh.
    # Cost per sh (energy + 0.01 CNY/ms x RTT): A->E 0.40 + 0.05 = 0.45; B->E 0.40 + 0.08 = 0.48;
    # B->W 0.20 + 0.09 = 0.29; A->W is filtered out by the SLO.
    # W holds at most 0.5 x 100 = 50 sh, so: A->E 100, B->W 50 (capacity binds), B->E 50.
    # Objective = 45 + 14.5 + 24 = 83.5 CNY.
    # One more server at W moves 0.5 sh of B from E to W: dual = 0.5 x (0.48 - 0.29) = 0.095 CNY.
    res = solve_plan(hand_instance(), PlanWeights())
    assert res.status == "optimal" and res.diagnosis is None
    assert res.objective == pytest.approx(83.5, abs=1e-6)
    np.testing.assert_allclose(res.work_sh[:, 0, :, 0], [[100.0, 0.0], [50.0, 50.0]], atol=1e-6)
    np.testing.assert_allclose(res.capacity_dual[:, 0], [0.0, 0.095], atol=1e-9)
    np.testing.assert_allclose(res.fractions(1, 0, 0), [0.5, 0.5], atol=1e-9)
    assert res.terms["energy_cny"] == pytest.approx(40 + 20 + 10)
    assert res.terms["latency_cny"] == pytest.approx(5 + 4 + 4.5)
    df = res.to_frame()
    assert len(df) == 3 and df["work_sh"].sum() == pytest.approx(200.0)
    assert df["cost_cny"].sum() == pytest.approx(70.0)
    # the same LP straight through highspy gives the same answer
    direct = solve_plan(hand_instance(), PlanWeights(), solver="highspy")
    assert direct.objective == pytest.approx(83.5, abs=1e-6)


def test_transport_equals_greedy_cheapest_first() -> None:
    rng = np.random.default_rng(7)
    nc, nt = 5, 3
    tariff = rng.uniform(0.2, 1.5, size=nc)
    cap = rng.uniform(50, 200, size=nc)
    demand = rng.uniform(100, 300, size=nt)
    inp = make(
        1,
        nc,
        nt,
        [True],
        demand_sh=demand.reshape(1, 1, nt),
        capacity_servers=np.repeat(cap[:, None], nt, axis=1),
        tariff_cny_per_kwh=np.repeat(tariff[:, None], nt, axis=1),
    )
    res = solve_plan(inp, PlanWeights(latency_cny_per_ms_sh=0.0))
    greedy = 0.0
    for t in range(nt):  # fill the cheapest destination first, each holds rho x capacity sh
        left = demand[t]
        for c in np.argsort(tariff):
            take = min(left, 0.5 * cap[c])
            greedy += take * 0.4 * tariff[c]
            left -= take
        greedy += left * 1e4
    assert res.objective == pytest.approx(greedy, rel=1e-9)


@pytest.mark.parametrize(("deadline", "expect_night"), [(12, True), (6, False)])
def test_batch_is_shifted_into_a_cheap_night_only_if_the_deadline_spans_it(
    deadline: int, expect_night: bool
) -> None:
    nt = 24
    tariff = np.ones((1, nt))
    tariff[0, 10:14] = 0.3  # night hours of the window
    demand = np.zeros((1, 1, nt))
    demand[0, 0, 2] = 100.0  # a job arrives in hour 2
    inp = make(
        1, 1, nt, [False], demand_sh=demand, deadline_h=np.array([deadline]), tariff_cny_per_kwh=tariff
    )
    res = solve_plan(inp, PlanWeights())
    work = res.work_sh[0, 0, 0]
    assert work.sum() == pytest.approx(100.0)
    night = work[10:14].sum()
    if expect_night:
        assert night == pytest.approx(100.0)
    else:
        assert night == pytest.approx(0.0, abs=1e-9)
        assert work[2:8].sum() == pytest.approx(100.0)


@st.composite
def instances(draw: st.DrawFn) -> PlanInputs:
    nr, nc, nt = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 5))
    lat = draw(st.lists(st.booleans(), min_size=1, max_size=3))
    nk = len(lat)
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 50, size=(nr, nk, nt)) * (rng.random((nr, nk, nt)) < 0.8)
    backlog = rng.uniform(0, 20, size=(nr, nk, 3)) if draw(st.booleans()) else None
    return make(
        nr,
        nc,
        nt,
        lat,
        demand_sh=d,
        backlog_sh=backlog,
        slo_ms=np.array([rng.uniform(5, 40) if x else INF for x in lat]),
        deadline_h=np.array([0 if x else int(rng.integers(1, 6)) for x in lat], dtype=np.int64),
        rtt_ms=rng.uniform(2, 40, size=(nr, nc)),
        data_gb_per_sh=rng.uniform(0, 2000, size=nk),
        capacity_servers=rng.uniform(0, 120, size=(nc, nt)),
        tariff_cny_per_kwh=rng.uniform(0.2, 1.5, (nc, nt)),
        green_kw=rng.uniform(0, 20, (nc, nt)),
        bandwidth_gbps=rng.uniform(0.5, 50, size=(nr, nc)),
        pue=rng.uniform(1.05, 1.5, size=(nc, nt)),
        rho_max=float(rng.uniform(0.5, 0.95)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inp=instances(), switching=st.sampled_from([0.0, 0.05]))
def test_invariants_on_random_instances(inp: PlanInputs, switching: float) -> None:
    res = solve_plan(inp, PlanWeights(switching_cny_per_server=switching, transfer_cny_per_gb=0.001))
    assert res.status == "optimal"
    tol = 1e-5
    w, lat = res.work_sh, inp.is_latency
    # no latency work beyond its SLO
    too_far = inp.rtt_ms[:, None, :] > inp.slo_ms[None, :, None]
    assert np.all(w.sum(axis=3)[too_far & lat[None, :, None]] <= tol)
    # capacity x rho_max
    load = w.sum(axis=(0, 1))
    assert np.all(load <= inp.rho_max * inp.capacity_servers + tol)
    assert np.all(res.active_servers <= inp.capacity_servers + tol)
    # bandwidth: batch data routed on each path in each hour (backlog, already at the clusters,
    # moves none)
    data = res.routed_sh[:, ~lat] * inp.data_gb_per_sh[~lat][None, :, None, None]
    gb = data.sum(axis=1)
    assert np.all(gb <= inp.bandwidth_gbps[:, :, None] * 450.0 * (1 + 1e-7) + tol)
    # demand (plus backlog) = placed + unserved
    total = inp.demand_sh.sum(axis=2) + (inp.backlog_sh.sum(axis=2) if inp.backlog_sh is not None else 0)
    np.testing.assert_allclose(w.sum(axis=(2, 3)) + res.unserved_sh, total, atol=1e-4, rtol=1e-7)
    # batch work runs between arrival and deadline: executed never precedes routed (cumulatively)
    if inp.backlog_sh is None:
        for k in np.nonzero(~lat)[0]:
            ex = np.cumsum(w[:, k].sum(axis=(0, 1)))
            ar = np.cumsum(res.routed_sh[:, k].sum(axis=(0, 1)))
            assert np.all(ex <= ar + tol)


def test_hard_cap_infeasible_gives_status_and_diagnosis() -> None:
    res = solve_plan(hand_instance(), PlanWeights(unserved_cny_per_sh=INF, max_tco2=0.001))
    assert res.status == "infeasible" and not res.has_solution
    assert res.diagnosis is not None and "max_tco2" in res.diagnosis
    assert res.work_sh.sum() == 0.0


def test_hard_demand_without_route_is_diagnosed() -> None:
    inp = replace(hand_instance(), slo_ms=np.array([4.0]))
    res = solve_plan(inp, PlanWeights(unserved_cny_per_sh=INF))
    assert res.status == "infeasible"
    assert res.diagnosis is not None and "no cluster within its 4 ms SLO" in res.diagnosis


def test_binding_soft_cap_leaves_work_unserved_and_says_so() -> None:
    res = solve_plan(hand_instance(), PlanWeights(min_west_share=0.9))
    assert res.status == "optimal" and res.unserved_sh.sum() > 0
    assert res.diagnosis is not None and "min_west_share" in res.diagnosis
    served_w = res.work_sh[:, :, 1].sum()
    assert served_w >= 0.9 * res.work_sh.sum() - 1e-6


def test_carbon_cap_dual() -> None:
    # Unlimited E only; tCO2 per sh = 0.4 kWh x 0.5 kg/kWh / 1000 = 2e-4 t. A cap of 0.03 t lets 150 sh
    # through; each extra tonne serves 5000 sh more, each saving 1e4 - 0.48 (B->E) or - 0.29 (B->W).
    res = solve_plan(hand_instance(), PlanWeights(max_tco2=0.03))
    assert res.carbon_cap_dual is not None and res.carbon_cap_dual > 0
    assert res.tco2.sum() == pytest.approx(0.03, rel=1e-6)


def test_bad_inputs_and_solvers_raise_plan_error() -> None:
    with pytest.raises(PlanError, match="demand_sh"):
        solve_plan(replace(hand_instance(), demand_sh=-np.ones((2, 1, 1))), PlanWeights())
    with pytest.raises(PlanError, match="unknown solver"):
        solve_plan(hand_instance(), PlanWeights(), solver="gurobi_typo")
    with pytest.raises(PlanError, match="hub_quota_sh"):
        solve_plan(hand_instance(), PlanWeights(hub_quota_sh={"nowhere": 1.0}))


def test_cbc_solves_or_says_how_to_install() -> None:
    if solver_available("cbc"):
        assert solve_plan(hand_instance(), PlanWeights(), solver="cbc").objective == pytest.approx(83.5)
    else:
        with pytest.raises(PlanError, match="solver 'cbc' is not available: pip install"):
            solve_plan(hand_instance(), PlanWeights(), solver="cbc")


def test_rolling_planner_reuses_model_and_keeps_previous_plan_on_failure() -> None:
    nt = 6
    inp = make(1, 2, nt, [True, False], demand_sh=np.full((1, 2, nt), 10.0))
    rp = RollingPlanner(PlanWeights(unserved_cny_per_sh=INF))
    p0 = rp.replan(0, inp)
    assert p0.status == "optimal"
    p1 = rp.replan(1, replace(inp, demand_sh=np.full((1, 2, nt), 12.0)))
    assert p1.status == "optimal" and rp.cache.reused == 1
    assert p1.work_sh.sum() == pytest.approx(12.0 * 2 * nt)
    bad = replace(inp, capacity_servers=np.zeros((2, nt)))  # nothing can run, demand is hard
    p2 = rp.replan(3, bad)
    assert p2.status.startswith("kept_previous") and rp.failures == 1
    assert rp.message is not None and "kept the plan of hour 1" in rp.message
    np.testing.assert_allclose(p2.work_sh[..., : nt - 2], p1.work_sh[..., 2:])
    assert p2.work_sh[..., nt - 2 :].sum() == 0.0


def test_backlog_is_already_at_the_clusters_and_loads_no_path() -> None:
    """Backlog is work waiting in the clusters' queues: its data crossed the network when it
    was routed. A path of 0.001 Gbit/s (0.45 GB an hour) would carry none of 40 sh x 1,000 GB;
    the backlog is still served in full, pays no transfer, and leaves its region poolable."""
    from models.plan.pool import poolable

    inp = make(
        2,
        1,
        3,
        [False],
        demand_sh=np.zeros((2, 1, 3)),
        backlog_sh=np.array([[[0.0, 40.0, 0.0]], [[0.0, 0.0, 0.0]]]),
        data_gb_per_sh=np.array([1000.0]),
        bandwidth_gbps=np.full((2, 1), 0.001),
    )
    res = solve_plan(inp, PlanWeights(unserved_cny_per_sh=30.0, transfer_cny_per_gb=0.1))
    assert res.status == "optimal"
    assert res.unserved_sh.sum() == pytest.approx(0.0, abs=1e-9)
    assert res.work_sh.sum() == pytest.approx(40.0)
    assert res.terms["transfer_cny"] == pytest.approx(0.0, abs=1e-9)
    assert poolable(inp).all()


def _queued_at_the_dear_cluster(pinned: bool) -> PlanInputs:
    """One region, clusters c0 (1.0 CNY/kWh) and c1 (0.5), no new demand; 40 sh of batch
    work queued at c0, due by the end of hour 1."""
    at = np.zeros((1, 1, 2, 3))
    at[0, 0, 0, 1] = 40.0
    return make(
        1,
        2,
        3,
        [False],
        demand_sh=np.zeros((1, 1, 3)),
        tariff_cny_per_kwh=np.array([[1.0] * 3, [0.5] * 3]),
        backlog_sh=at.sum(axis=2),
        backlog_at_sh=at if pinned else None,
    )


def test_pinned_backlog_is_served_where_it_waits() -> None:
    """By hand (rho_max 0.5: 2 active servers per busy one; 100 W idle, 300 W peak, PUE 1):
    a busy server-hour costs 2 x 0.1 + 0.2 = 0.4 kWh. Free to move, the 40 sh run at c1 for
    40 x 0.4 x 0.5 = 8 CNY; pinned to c0's queue (the engine does not move queued jobs), at
    c0 for 16 CNY, within their deadline."""
    free = solve_plan(_queued_at_the_dear_cluster(False), PlanWeights(unserved_cny_per_sh=100.0))
    pinned = solve_plan(_queued_at_the_dear_cluster(True), PlanWeights(unserved_cny_per_sh=100.0))
    assert free.work_sh.sum(axis=(0, 1, 3)) == pytest.approx([0.0, 40.0])
    assert free.terms["energy_cny"] == pytest.approx(8.0)
    assert pinned.work_sh.sum(axis=(0, 1, 3)) == pytest.approx([40.0, 0.0])
    assert pinned.work_sh[..., 2].sum() == pytest.approx(0.0, abs=1e-9)  # done by the end of hour 1
    assert pinned.terms["energy_cny"] == pytest.approx(16.0)
    assert pinned.backlog_routed_sh[0, 0] == pytest.approx([40.0, 0.0])


def test_pinned_backlog_must_add_up_to_the_backlog() -> None:
    inp = _queued_at_the_dear_cluster(True)
    with pytest.raises(PlanError, match="sum over its clusters"):
        solve_plan(replace(inp, backlog_sh=inp.backlog_sh * 2), PlanWeights())


def test_the_head_of_a_plan_is_its_first_hours() -> None:
    wide = solve_plan(make(2, 2, 3, [True, False]), PlanWeights())
    assert wide.status == "optimal" and wide.n_hours == 3
    head = wide.head(2)
    assert head.n_hours == 2 and head.work_sh.shape[3] == 2
    np.testing.assert_array_equal(head.energy_kwh, wide.energy_kwh[:, :2])
    np.testing.assert_array_equal(head.routed_sh, wide.routed_sh[..., :2])
    np.testing.assert_array_equal(head.work_sh, wide.work_sh[..., :2])
    assert head.objective == wide.objective and head.terms == wide.terms  # window totals stay
    assert not np.shares_memory(head.work_sh, wide.work_sh)  # the whole window's arrays can go
    assert wide.head(9).n_hours == 3 and wide.head(0).n_hours == 0


def test_the_csr_pattern_kept_from_the_last_build_never_leaks_into_another() -> None:
    """``build_lp`` reuses the last window's CSR pattern when the triplets sit where they did.
    Builds of three structures in turn equal builds from scratch (the kept pattern cleared),
    array for array: another size, and the same size with the routes elsewhere (region 0's
    RTTs to clusters 0 and 2 swapped: its one cluster within each SLO moves), which a pattern
    kept by its size alone would get wrong."""
    import models.plan.sparse as sparse
    from tests.models.plan.lp_instances import random_instance

    w = PlanWeights(unserved_cny_per_sh=30.0)
    a = random_instance(3)
    rtt = a.rtt_ms.copy()
    rtt[0, [0, 2]] = rtt[0, [2, 0]]
    inputs = {"a": a, "b": random_instance(4, nr=2, nc=3), "c": replace(a, rtt_ms=rtt)}

    def fresh(inp: PlanInputs) -> SparseLP:
        sparse._last_pattern = None
        return build_lp(inp, w)

    want = {name: fresh(inp) for name, inp in inputs.items()}
    sizes = {name: (lp.n_rows, lp.n_cols, lp.data.size) for name, lp in want.items()}
    assert sizes["a"] == sizes["c"] and not np.array_equal(want["a"].indices, want["c"].indices)
    sparse._last_pattern = None
    for name in ("a", "b", "a", "a", "c", "a", "c"):
        got = build_lp(inputs[name], w)
        for field in ("indptr", "indices", "data", "cost", "col_hi", "row_lo", "row_hi"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want[name], field))
