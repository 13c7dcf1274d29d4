"""The planning LP with server types (per-cluster power, a class-type mask) and cyclic windows.

Hand-computed optima: each case is small enough to solve on paper.
"""

from __future__ import annotations

import numpy as np
import pytest

from models.plan.planner import PlanError, PlanWeights, solve_plan
from tests.models.plan.test_planner import make

INF = float("inf")


def _tail_arrival(deadline: int, cyclic: bool, nt: int = 4) -> np.ndarray:
    """10 server-hours arrive in the last hour of a window of one 5-server cluster (rho 1)."""
    demand = np.zeros((1, 1, nt))
    demand[0, 0, -1] = 10.0
    inp = make(
        1, 1, nt, [False],
        demand_sh=demand,
        deadline_h=np.array([deadline]),
        capacity_servers=np.full((1, nt), 5.0),
        rho_max=1.0,
        cyclic=cyclic,
    )  # fmt: skip
    res = solve_plan(inp, PlanWeights(unserved_cny_per_sh=1e4))
    return np.asarray(res.work_sh[0, 0, 0])


@pytest.mark.parametrize("deadline", [2, 24])
def test_a_cyclic_window_serves_late_arrivals_at_the_start_of_the_next_period(deadline: int) -> None:
    # linear window: only hour 3 is left, 5 servers: 5 sh served, 5 unserved
    assert _tail_arrival(deadline, cyclic=False).sum() == pytest.approx(5.0)
    # cyclic: the period's end is its start, so the next period serves the other 5: in its
    # hour 0 when D = 2; in any hour when D = 24 covers the whole period
    work = _tail_arrival(deadline, cyclic=True)
    assert work.sum() == pytest.approx(10.0)
    assert work.max() <= 5.0 + 1e-9
    if deadline == 2:
        assert work[3] == pytest.approx(5.0) and work[0] == pytest.approx(5.0)


def test_a_one_hour_deadline_does_not_wrap() -> None:
    assert _tail_arrival(1, cyclic=True).sum() == pytest.approx(5.0)


def test_a_cyclic_deadline_counts_hours_around_the_cycle() -> None:
    # D = 2: work of hour 3 may wait one hour, i.e. to hour 0 of the next period, not to hour 1
    nt = 4
    demand = np.zeros((1, 1, nt))
    demand[0, 0, 3] = 15.0
    inp = make(
        1, 1, nt, [False], demand_sh=demand, deadline_h=np.array([2]),
        capacity_servers=np.full((1, nt), 5.0), rho_max=1.0, cyclic=True,
    )  # fmt: skip
    work = np.asarray(solve_plan(inp, PlanWeights()).work_sh[0, 0, 0])
    assert work.sum() == pytest.approx(10.0)  # hours 3 and 0 only
    assert work[1] == pytest.approx(0.0, abs=1e-9)


def test_a_cyclic_window_refuses_a_backlog() -> None:
    inp = make(1, 1, 4, [False], cyclic=True, backlog_sh=np.zeros((1, 1, 2)))
    with pytest.raises(PlanError, match="cyclic"):
        solve_plan(inp, PlanWeights())


def test_each_cluster_draws_its_own_server_power_and_a_class_runs_on_its_type_only() -> None:
    # clusters: c0 a CPU pool (100/300 W), c1 a GPU pool (1000/3000 W); classes: k0 cpu, k1 gpu.
    # 10 sh of each, PUE 1, tariff 1 CNY/kWh, rho 0.5: each class needs 20 active servers.
    inp = make(
        1, 2, 1, [False, False],
        demand_sh=np.full((1, 2, 1), 10.0),
        deadline_h=np.array([1, 1]),
        idle_w=np.array([100.0, 1000.0]),
        peak_w=np.array([300.0, 3000.0]),
        allowed=np.array([[True, False], [False, True]]),
    )  # fmt: skip
    res = solve_plan(inp, PlanWeights(latency_cny_per_ms_sh=0.0))
    work = np.asarray(res.work_sh)[0, :, :, 0]  # (K, C)
    assert work[0] == pytest.approx([10.0, 0.0]) and work[1] == pytest.approx([0.0, 10.0])
    # energy: 20 active x idle + 10 busy x (peak - idle), per cluster
    want = np.array([20 * 0.1 + 10 * 0.2, 20 * 1.0 + 10 * 2.0])
    assert np.asarray(res.energy_kwh)[:, 0] == pytest.approx(want)
    assert res.objective == pytest.approx(want.sum())


def test_power_and_type_mask_shapes_are_checked() -> None:
    with pytest.raises(PlanError, match="idle_w"):
        solve_plan(make(1, 2, 1, [False], idle_w=np.array([1.0, 2.0, 3.0])), PlanWeights())
    with pytest.raises(PlanError, match="allowed"):
        solve_plan(make(1, 2, 1, [False], allowed=np.ones((2, 2), bool)), PlanWeights())
