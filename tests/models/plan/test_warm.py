"""Rolling windows through a kept, warm-started HiGHS model give the cold solves' optima."""

from __future__ import annotations

import numpy as np
import pytest

from models.plan.planner import PlanWeights, RollingPlanner, solve_plan
from tests.models.plan.test_planner import make


def test_warm_started_windows_match_cold_solves() -> None:
    rng = np.random.default_rng(5)
    windows = [
        make(
            3,
            3,
            6,
            [True, False],
            demand_sh=rng.uniform(5, 40, size=(3, 2, 6)),
            deadline_h=np.array([0, 3], dtype=np.int64),
            rtt_ms=np.array([[5.0, 20.0, 60.0], [30.0, 4.0, 45.0], [70.0, 25.0, 6.0]]),
            capacity_servers=rng.uniform(40, 120, size=(3, 6)),
            tariff_cny_per_kwh=rng.uniform(0.2, 1.0, size=(3, 6)),
            pue=rng.uniform(1.1, 1.5, size=(3, 6)),
            green_kw=rng.uniform(0, 4, size=(3, 6)),
        )
        for _ in range(4)
    ]
    w = PlanWeights(unserved_cny_per_sh=30.0, switching_cny_per_server=0.01)
    warm = RollingPlanner(w, solver="highspy")
    for t, win in enumerate(windows):
        got = warm.replan(6 * t, win)
        cold = solve_plan(win, w, solver="highs")
        assert got.status == cold.status == "optimal"
        assert got.objective == pytest.approx(cold.objective, rel=1e-9)
        np.testing.assert_allclose(got.capacity_dual, cold.capacity_dual, atol=1e-7)
    assert (warm.cache.rebuilt, warm.cache.reused) == (1, 3)
