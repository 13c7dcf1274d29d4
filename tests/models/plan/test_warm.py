"""Rolling windows through a kept, warm-started HiGHS model give the cold solves' optima."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from models.plan.build import SparseLP, build_lp
from models.plan.planner import PlanInputs, PlanWeights, RollingPlanner, solve_plan
from models.plan.solve import HighspyModel, highspy_model, pulp_highs_model
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


def _day(hours: int, rng: np.random.Generator, peak_from_h: int = 8) -> dict[str, np.ndarray]:
    """A day of hourly arrays for 3 regions, 3 classes (one batch), 3 clusters; tariffs 30 %
    dearer from hour ``peak_from_h`` of the day."""
    t = np.arange(hours)
    shape = 1.0 + 0.5 * np.cos(2 * np.pi * (t - 14) / 24)
    return {
        "demand": rng.uniform(5, 40, size=(3, 3, 1)) * shape[None, None, :],
        "tariff": rng.uniform(0.2, 1.0, size=(3, 1)) * (1.0 + 0.3 * (t % 24 >= peak_from_h)[None, :]),
        "pue": 1.2 + 0.05 * np.sin(2 * np.pi * t / 24)[None, :] * np.ones((3, 1)),
    }


def _hourly_window(
    day: dict[str, np.ndarray], t0: int, lookahead: int, rng: np.random.Generator, backlog: str
) -> PlanInputs:
    """The window of ``lookahead`` hours from ``t0`` of ``day``, demand with 10 % noise; with
    ``backlog`` "free" or "pinned" (to the cluster whose queue holds it), batch work waiting
    at two hours out of three."""
    sl = slice(t0, t0 + lookahead)
    demand = day["demand"][:, :, sl] * rng.lognormal(0, 0.1, size=(3, 3, lookahead))
    extra: dict[str, np.ndarray] = {}
    if backlog != "none":
        at = rng.uniform(0, 2, size=(3, 3, 3, 3)) * (t0 % 3 != 0)  # region, class, cluster, hour
        extra["backlog_sh"] = at.sum(axis=2)
        if backlog == "pinned":
            extra["backlog_at_sh"] = at
    return make(
        3,
        3,
        lookahead,
        [True, False, True],
        demand_sh=demand,
        slo_ms=np.array([30.0, np.inf, 30.0]),
        deadline_h=np.array([0, 3, 0], dtype=np.int64),
        rtt_ms=np.array([[5.0, 20.0, 60.0], [30.0, 4.0, 45.0], [70.0, 25.0, 6.0]]),
        capacity_servers=np.full((3, lookahead), 90.0),
        tariff_cny_per_kwh=day["tariff"][:, sl],
        pue=day["pue"][:, sl],
        **extra,
    )


def _replan_against_cold(
    warm: RollingPlanner,
    w: PlanWeights,
    lookahead: int,
    n: int,
    seed: int,
    backlog: str,
    peak_from_h: int = 8,
) -> None:
    """Replan ``n`` hourly windows of one day with ``warm``; each optimum equals the cold PuLP one."""
    rng = np.random.default_rng(seed)
    day = _day(lookahead + n, rng, peak_from_h)
    for t0 in range(n):
        win = _hourly_window(day, t0, lookahead, rng, backlog)
        got = warm.replan(t0, win)
        cold = solve_plan(win, w, solver="highs", pool=False)
        assert got.status == cold.status == "optimal"
        assert got.objective == pytest.approx(cold.objective, rel=1e-9)


WEIGHTS = PlanWeights(unserved_cny_per_sh=30.0, switching_cny_per_server=0.01, carbon_price_cny_per_t=80.0)


@pytest.mark.parametrize(("shift_basis", "backlog"), [(False, "free"), (True, "free"), (False, "pinned")])
def test_hourly_windows_updated_in_place_match_the_cold_pulp_reference(
    shift_basis: bool, backlog: str
) -> None:
    """Backlog pinned to its cluster changes only column bounds from window to window."""
    warm = RollingPlanner(WEIGHTS, solver="highspy", shift_basis=shift_basis)
    _replan_against_cold(warm, WEIGHTS, lookahead=6, n=10, seed=11, backlog=backlog)
    # the structure stays the same from hour to hour (zero backlog included): one build only
    assert (warm.cache.rebuilt, warm.cache.reused) == (1, 9)


@pytest.mark.parametrize("near_iterations", [1000, 1])
def test_windows_started_from_the_basis_one_period_earlier_match_the_cold_reference(
    monkeypatch: pytest.MonkeyPatch, near_iterations: int
) -> None:
    """Hourly windows, ``basis_period_h=4``: from hour 4 on each window starts from the optimal
    basis of the window 4 hours earlier (Dantzig pricing first). Every optimum equals the cold
    PuLP one; with ``NEAR_ITERATIONS = 1`` the Dantzig pass stops at once and the solve
    restarts from the previous window's basis with the default pricing, with the same optima.
    The tariffs are the same all day (a peak from hour 24), so every window's match those of
    the window 4 hours earlier."""
    import models.plan.solve as solve_mod

    monkeypatch.setattr(solve_mod, "NEAR_ITERATIONS", near_iterations)
    n = 12
    warm = RollingPlanner(WEIGHTS, solver="highspy", basis_period_h=4)
    _replan_against_cold(warm, WEIGHTS, lookahead=6, n=n, seed=23, backlog="none", peak_from_h=24)
    assert (warm.cache.period_starts, warm.cache.tariff_skips) == (n - 4, 0)
    assert warm.cache.highs is not None
    restarts = warm.cache.highs.restarts
    assert restarts > 0 if near_iterations == 1 else restarts == 0


@pytest.mark.parametrize("near_iterations", [1000, 1])
def test_a_changed_tariff_schedule_starts_from_the_previous_windows_basis(
    monkeypatch: pytest.MonkeyPatch, near_iterations: int
) -> None:
    """``basis_period_h=4``, 6 h windows, tariffs 30 % dearer from hour 8 (as when a time-of-use
    schedule changes): window t0 and window t0 - 4 differ at the hours j where t0 + j >= 8 >
    t0 - 4 + j, i.e. for windows 4..11; windows 12 and 13 (hours 12..19 against 8..15, all
    dearer) match again. By hand:

    - period starts that stay near (1,000 Dantzig pivots are plenty here): every window from
      4 on takes its period basis, none is skipped;
    - starts that are never near (``NEAR_ITERATIONS = 1``): window 4 tries, restarts, and
      windows 5..7 then start from the previous window's basis at once (skipped); window 8,
      one period later, tries again and fails, 9..11 are skipped; 12 and 13 have the same
      tariffs and take theirs: 4 period starts, all restarted, 6 skipped.

    Every optimum equals the cold one."""
    import models.plan.solve as solve_mod

    monkeypatch.setattr(solve_mod, "NEAR_ITERATIONS", near_iterations)
    n = 14
    warm = RollingPlanner(WEIGHTS, solver="highspy", basis_period_h=4)
    _replan_against_cold(warm, WEIGHTS, lookahead=6, n=n, seed=23, backlog="none", peak_from_h=8)
    c = warm.cache
    if near_iterations == 1:
        assert (c.period_starts, c.tariff_skips, c.restarts) == (4, 6, 4)
    else:
        assert (c.period_starts, c.tariff_skips, c.restarts) == (n - 4, 0, 0)


def test_replans_every_period_keep_the_previous_basis() -> None:
    """Daily replans (the default ``policy.replan_h``) never take a stored period basis: the
    previous window is the one a period earlier, and its basis is the one in place."""
    rng = np.random.default_rng(2)
    w = PlanWeights(unserved_cny_per_sh=30.0)
    warm = RollingPlanner(w, solver="highspy", basis_period_h=24)
    for d in range(3):
        win = make(3, 3, 6, [True, False], demand_sh=rng.uniform(5, 40, size=(3, 2, 6)))
        assert warm.replan(24 * d, win).status == "optimal"
    assert warm.cache.period_starts == 0


def _dense(h: Any) -> tuple[np.ndarray, ...]:
    """A HiGHS model's costs, bounds and matrix (dense), whichever way it stores the matrix."""
    import highspy

    lp = h.getLp()
    a = lp.a_matrix_
    start, index, value = (np.asarray(x) for x in (a.start_, a.index_, a.value_))
    dense = np.zeros((lp.num_row_, lp.num_col_))
    outer = np.repeat(np.arange(len(start) - 1), np.diff(start))
    if a.format_ == highspy.MatrixFormat.kRowwise:
        dense[outer, index] = value
    else:
        dense[index, outer] = value
    bounds = (lp.col_cost_, lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_)
    return (*(np.asarray(x) for x in bounds), dense)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_kept_highs_model_is_defined_through_pulp_as_the_lp_is(seed: int) -> None:
    """The fast path's model, written into HiGHS by PuLP's adapter, is the LP's: the same
    costs, bounds and coefficients as the arrays passed straight to HiGHS, and the same
    optimum as the cold PuLP reference."""
    from tests.models.plan.lp_instances import random_instance

    inp = random_instance(seed)
    lp: SparseLP = build_lp(inp, WEIGHTS)
    via_pulp, direct = _dense(pulp_highs_model(lp)), _dense(highspy_model(lp))
    for got, want in zip(via_pulp, direct, strict=True):
        np.testing.assert_array_equal(got, want)
    kept = HighspyModel(lp).solve(None)
    cold = solve_plan(inp, WEIGHTS, solver="highs", pool=False)
    assert kept.status == cold.status == "optimal"
    assert float(lp.cost @ kept.col_value) == pytest.approx(cold.objective, rel=1e-9)
