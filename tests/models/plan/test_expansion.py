"""The expansion LP against hand-solved cases."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from models.plan.expansion import ExpansionInputs, Targets, solve_expansion
from models.plan.expansion.build import build_expansion
from models.plan.inputs import PlanInputs, PlanWeights

HOURS = 24
TARIFF = 0.5  # CNY/kWh at both sites
CAPEX = np.array([2000.0, 1000.0])  # CNY per server-year: b is cheaper
GRID = np.array([0.2, 0.8])  # kg/kWh: b is dirtier
INSTALLED = np.array([100.0, 100.0])
LOAD = 300.0  # flat batch load, sh per hour: 100 servers short
W0 = PlanWeights(latency_cny_per_ms_sh=0.0, unserved_cny_per_sh=1e4)


def day(load: float = LOAD, installed: np.ndarray = INSTALLED) -> PlanInputs:
    """One region, clusters a and b (both within reach), one batch class, 1 kWh per busy server-hour."""
    flat = np.ones((2, HOURS))
    return PlanInputs(
        region_ids=("r",),
        cluster_ids=("a", "b"),
        class_names=("batch",),
        is_latency=np.array([False]),
        slo_ms=np.array([math.inf]),
        deadline_h=np.array([1], dtype=np.int64),
        demand_sh=np.full((1, 1, HOURS), load),
        data_gb_per_sh=np.zeros(1),
        rtt_ms=np.array([[10.0, 30.0]]),
        capacity_servers=installed[:, None] * flat,
        cluster_west=np.array([False, True]),
        cluster_hub=("ha", "hb"),
        pue=flat.copy(),
        tariff_cny_per_kwh=TARIFF * flat,
        grid_kgco2_per_kwh=GRID[:, None] * flat,
        green_kw=np.zeros((2, HOURS)),
        bandwidth_gbps=np.full((1, 2), np.inf),
        idle_w=0.0,
        peak_w=1000.0,
        rho_max=1.0,
    )


def expansion(days: int = 1, targets: Targets | None = None, **kw: object) -> ExpansionInputs:
    d = kw.pop("day", None) or day()
    args: dict[str, object] = dict(
        days=tuple([d] * days),
        day_weight=np.full(days, 365.0 / days),
        installed_servers=INSTALLED,
        capex_cny_per_server_year=CAPEX,
        max_new_servers=np.full(2, np.inf),
        max_new_mw=np.full(2, np.inf),
        mw_per_server=np.full(2, 1e-3),
        targets=targets or Targets(),
    )
    args.update(kw)
    return ExpansionInputs(**args)  # type: ignore[arg-type]


# carbon price at which building the shortfall at a (capex 2000) costs as much as at b (1000):
# 1000 CNY = 8760 h x 1 kWh x (0.8 - 0.2) kg/kWh / 1000 x p  =>  p* = 190.26 CNY/t
THRESHOLD = (CAPEX[0] - CAPEX[1]) / (8760 * (GRID[1] - GRID[0]) / 1000)


def test_shortfall_is_built_at_the_cheaper_site() -> None:
    res = solve_expansion(expansion(), W0)
    assert res.status == "optimal"
    np.testing.assert_allclose(res.new_servers, [0.0, 100.0], atol=1e-6)
    # objective by hand: capex 100 x 1000 + energy 300 sh/h x 8760 h x 1 kWh x 0.5 CNY
    assert res.objective_cny == pytest.approx(100 * 1000 + 300 * 8760 * 0.5, rel=1e-9)
    assert res.terms["capex_servers_cny"] == pytest.approx(100_000)
    np.testing.assert_allclose(res.utilisation, [1.0, 1.0], rtol=1e-9)
    # b builds, so one more existing server there is worth its capex
    assert res.capacity_value_cny_per_server_year[1] == pytest.approx(1000.0, rel=1e-6)
    assert res.served_share == {"batch": pytest.approx(1.0)}


@pytest.mark.parametrize(("factor", "at_a"), [(0.9, 0.0), (1.1, 100.0)])
def test_carbon_price_above_the_threshold_moves_the_build(factor: float, at_a: float) -> None:
    w = PlanWeights(latency_cny_per_ms_sh=0.0, carbon_price_cny_per_t=factor * THRESHOLD)
    res = solve_expansion(expansion(), w)
    # (1.1 x THRESHOLD is below the second threshold, 2 x THRESHOLD, where new servers at a
    # would replace b's existing ones: see the next test)
    np.testing.assert_allclose(res.new_servers, [at_a, 100.0 - at_a], atol=1e-6)


def test_second_threshold_replaces_dirty_existing_capacity() -> None:
    # above (2000 CNY) / (8760 x 0.6 / 1000) it pays to build at a even to idle b's existing servers
    p2 = CAPEX[0] / (8760 * (GRID[1] - GRID[0]) / 1000)
    w = PlanWeights(latency_cny_per_ms_sh=0.0, carbon_price_cny_per_t=1.05 * p2)
    res = solve_expansion(expansion(), w)
    np.testing.assert_allclose(res.new_servers, [200.0, 0.0], atol=1e-6)


def test_typical_days_weighted_equal_one_day() -> None:
    one = solve_expansion(expansion(days=1), W0)
    many = solve_expansion(expansion(days=5), W0)
    assert many.objective_cny == pytest.approx(one.objective_cny, rel=1e-9)
    np.testing.assert_allclose(many.new_servers, one.new_servers, atol=1e-6)


def test_targets_over_several_days_sum_each_day() -> None:
    # the same case split in 3 days of different weight: targets see every day's columns
    d = day()
    tg = Targets(min_west_share=0.8, min_occupancy=np.array([0.3, np.nan]), pue_max=np.array([1.5, 1.5]))
    one = solve_expansion(expansion(targets=tg), W0)
    three = solve_expansion(
        expansion(targets=tg, days=3, day=d, day_weight=np.array([100.0, 200.0, 65.0])), W0
    )
    assert three.objective_cny == pytest.approx(one.objective_cny, rel=1e-9)
    np.testing.assert_allclose(three.new_servers, one.new_servers, atol=1e-6)
    assert three.target_duals["min_west_share"] == pytest.approx(one.target_duals["min_west_share"], rel=1e-6)
    # structure: no duplicate entries, and every target row reaches the columns of every day
    m = build_expansion(expansion(targets=tg, days=3, day=d), W0)
    rows = np.repeat(np.arange(m.lp.n_rows), np.diff(m.lp.indptr))
    pairs = rows * m.lp.n_cols + m.lp.indices
    assert len(np.unique(pairs)) == len(pairs)
    for row in m.target_rows.values():
        cols = m.lp.indices[m.lp.indptr[row] : m.lp.indptr[row + 1]]
        for b in m.days:
            assert np.any((cols >= b.col0) & (cols < b.col0 + b.lp.n_cols))


def test_ample_capacity_builds_nothing() -> None:
    res = solve_expansion(expansion(day=day(load=150.0)), W0)
    np.testing.assert_allclose(res.new_servers, 0.0, atol=1e-9)
    assert res.terms["capex_servers_cny"] == pytest.approx(0.0, abs=1e-6)


def test_build_limit_and_its_dual() -> None:
    res = solve_expansion(expansion(max_new_servers=np.array([np.inf, 40.0])), W0)
    np.testing.assert_allclose(res.new_servers, [60.0, 40.0], atol=1e-6)
    # one more server allowed at b saves the capex difference
    assert res.build_limit_dual_cny_per_server[1] == pytest.approx(1000.0, rel=1e-6)
    mw = solve_expansion(expansion(max_new_mw=np.array([np.inf, 0.03])), W0)  # 1 kW per server
    np.testing.assert_allclose(mw.new_servers, [70.0, 30.0], atol=1e-6)
    np.testing.assert_allclose(mw.new_mw, [0.07, 0.03], atol=1e-9)


def test_west_share_target_binds_with_a_dual() -> None:
    # b is west. 80 % west: b must run 240 of 300 sh/h => 140 new at b, a may keep 60
    res = solve_expansion(expansion(targets=Targets(min_west_share=0.8)), W0)
    assert res.status == "optimal"
    assert res.new_servers[1] >= 140 - 1e-6
    res2 = solve_expansion(expansion(targets=Targets(min_west_share=0.1)), W0)
    assert res2.target_duals["min_west_share"] == pytest.approx(0.0, abs=1e-9)


def test_occupancy_target_infeasible_is_named() -> None:
    # 99 % of b's 100 servers busy needs 99 sh/h there; the whole load is 50 sh/h
    occ = np.array([np.nan, 0.99])
    res = solve_expansion(expansion(day=day(load=50.0), targets=Targets(min_occupancy=occ)), W0)
    assert not res.has_solution
    assert "min_occupancy[b]" in (res.diagnosis or "")
    assert set(res.target_slack) == {"min_occupancy[b]"}


def test_pue_cap_binds() -> None:
    # b's PUE is 1.3 in the first 12 h of the day and 1.1 in the last 12; cap 1.15 -> b may run
    # in the cool hours only; a (PUE 1) carries the rest
    d = day()
    pue = d.pue.copy()
    pue[1, :12] = 1.3
    pue[1, 12:] = 1.1
    d = replace(d, pue=pue, deadline_h=np.array([24], dtype=np.int64))
    res = solve_expansion(expansion(day=d, targets=Targets(pue_max=np.array([np.nan, 1.15]))), W0)
    assert res.status == "optimal"
    p = res.day_plans[0]
    b_load = p.work_sh[0, 0, 1]
    it = b_load  # 1 kWh IT per busy server-hour
    annual_pue = float((pue[1] * it).sum() / it.sum())
    assert annual_pue <= 1.15 + 1e-6
    assert res.target_duals["pue_max[b]"] > 0


def test_a_site_limit_binds_the_new_servers_of_all_its_pools_together() -> None:
    # a and b as two pools of one site (site_of [0, 0]): a site limit of 40 new servers caps
    # both; the shortfall of 100 is then 40 built (at cheaper b) and 60 unserved server-hours/h
    shared = expansion(site_of=np.array([0, 0]), site_max_new_servers=np.array([40.0]))
    res = solve_expansion(shared, W0)
    np.testing.assert_allclose(res.new_servers, [0.0, 40.0], atol=1e-6)
    assert res.unserved_sh.sum() == pytest.approx(60.0 * HOURS * 365, rel=1e-6)
    # a site MW limit: 1 kW per server, 0.025 MW -> 25 servers
    mw = solve_expansion(expansion(site_of=np.array([0, 0]), site_max_new_mw=np.array([0.025])), W0)
    assert mw.new_servers.sum() == pytest.approx(25.0, abs=1e-6)
    # one pool per site: a site limit is that pool's bound, as max_new_servers would be
    own_limit = expansion(site_of=np.array([0, 1]), site_max_new_servers=np.array([np.inf, 40.0]))
    own = solve_expansion(own_limit, W0)
    np.testing.assert_allclose(own.new_servers, [60.0, 40.0], atol=1e-6)


def test_a_cyclic_day_plans_work_across_midnight() -> None:
    # 240 sh arrive in hour 23 only, deadline 24 h; 2 x 100 servers installed, rho 1, no build
    # allowed: a linear day serves 200 and leaves 40 unserved; a cyclic day (typical days
    # follow each other) serves it all from hour 23 on into the next day
    demand = np.zeros((1, 1, HOURS))
    demand[0, 0, -1] = 240.0
    for cyclic, unserved in ((False, 40.0), (True, 0.0)):
        d = replace(day(), demand_sh=demand, deadline_h=np.array([24], dtype=np.int64), cyclic=cyclic)
        res = solve_expansion(expansion(day=d, max_new_servers=np.zeros(2)), W0)
        assert res.unserved_sh.sum() / 365 == pytest.approx(unserved, abs=1e-6)


def test_pooling_latency_classes_and_batch_regions_keeps_the_optimum() -> None:
    # two latency classes with one SLO (merged by pooling) and a batch class, two regions
    hours = 6
    rng = np.random.default_rng(4)
    base = day()
    d = replace(
        base,
        region_ids=("r", "s"),
        class_names=("web", "api", "batch"),
        is_latency=np.array([True, True, False]),
        slo_ms=np.array([20.0, 20.0, math.inf]),
        deadline_h=np.array([0, 0, 3], dtype=np.int64),
        demand_sh=rng.uniform(20.0, 120.0, (2, 3, hours)),
        data_gb_per_sh=np.zeros(3),
        rtt_ms=np.array([[10.0, 30.0], [15.0, 12.0]]),
        capacity_servers=base.capacity_servers[:, :hours],
        pue=base.pue[:, :hours],
        tariff_cny_per_kwh=base.tariff_cny_per_kwh[:, :hours] * rng.uniform(0.5, 1.5, (2, hours)),
        grid_kgco2_per_kwh=base.grid_kgco2_per_kwh[:, :hours],
        green_kw=base.green_kw[:, :hours],
        bandwidth_gbps=np.full((2, 2), np.inf),
        cyclic=True,
    )
    w = replace(W0, latency_cny_per_ms_sh=0.5)
    inp = expansion(day=d)
    pooled, plain = solve_expansion(inp, w, pool=True), solve_expansion(inp, w, pool=False)
    assert pooled.objective_cny == pytest.approx(plain.objective_cny, rel=1e-7)
    np.testing.assert_allclose(pooled.new_servers.sum(), plain.new_servers.sum(), rtol=1e-6)
    # the day plans are back in the day's own classes and regions, and serve what arrived
    plan = pooled.day_plans[0]
    assert plan.work_sh.shape == (2, 3, 2, hours)
    np.testing.assert_allclose(plan.work_sh.sum(axis=(2, 3)) + plan.unserved_sh, d.demand_sh.sum(axis=2))
