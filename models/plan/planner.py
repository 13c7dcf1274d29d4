"""The LP planner: where and when forecast work should run (PuLP, HiGHS by default).

Public API (the formulation is in ``docs/lp.md``):

- :class:`PlanInputs`, :class:`PlanWeights` — one window's arrays and the objective knobs
- :func:`solve_plan` — build, solve and read back one window -> :class:`PlanResult`
- :class:`RollingPlanner` — replan every few hours, keeping the last plan when a solve fails
- :class:`PlanError` — bad input arrays or a solver that is not installed

The module is pure: no simpy, no files.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from models.plan.build import SparseLP, build_lp
from models.plan.diagnose import diagnose_failure, diagnose_unserved
from models.plan.inputs import PlanError, PlanInputs, PlanWeights, validate
from models.plan.pool import (
    can_pool_batch,
    latency_groups,
    pool_batch,
    pool_latency,
    unpool_latency,
    unpool_result,
)
from models.plan.result import TERMS, PlanResult, read_result
from models.plan.solve import (
    SOLVERS,
    HighspyModel,
    PulpModel,
    RawSolution,
    check_solver,
    same_structure,
    solve_highspy,
)

__all__ = [
    "SOLVERS",
    "TERMS",
    "PlanCache",
    "PlanError",
    "PlanInputs",
    "PlanResult",
    "PlanWeights",
    "RollingPlanner",
    "solve_plan",
]


class PlanCache:
    """Keeps the last model so the next window with the same structure is updated, not rebuilt.

    With PuLP the problem object is reused (PuLP's HiGHS adapter still builds a
    fresh solver model for every solve); with ``solver='highspy'`` the HiGHS
    model itself is kept and warm-started from the previous basis, or, with
    ``basis_period_h`` > 0, from the optimal basis of the window that started
    that many hours earlier (the same hours of the day: its demand, tariff and
    PUE profiles line up with this window's, where the previous window's are
    an hour out of step), when there is one of the same structure.

    Where that window's tariffs were not within ``TARIFF_RTOL`` of this one's,
    hour for hour (a time-of-use schedule that changed, e.g. on the first day of
    a season), its basis may be a poor start. It is tried; once such a start
    was not near (it restarted, see :meth:`HighspyModel.solve`), windows with
    changed tariffs start from the previous window's basis at once, without the
    detour, for one period, then try again. Tariffs that change every day but
    keep the period bases near (an hourly price profile) thus keep them.
    """

    def __init__(self, shift_basis: bool = False, basis_period_h: int = 0) -> None:
        self.model: PulpModel | None = None
        self.highs: HighspyModel | None = None
        self.shift_basis = shift_basis
        self.shift_h = 0  # hours the window moved since the last solve (set by RollingPlanner)
        self.basis_period_h = basis_period_h
        self.t0_hour: int | None = None  # the window's start (set by RollingPlanner)
        self.tariff: np.ndarray | None = None  # the window's (C, T) tariffs (set by RollingPlanner)
        # (phase, structure) -> (optimal basis, the tariffs of its window)
        self.bases: OrderedDict[tuple[int, ...], tuple[Any, np.ndarray | None]] = OrderedDict()
        self.reused = 0
        self.rebuilt = 0
        self.iterations = 0
        self.period_starts = 0  # solves warm-started from the basis one period earlier
        self.tariff_skips = 0  # period bases not used: tariffs changed, and such a start was not near
        self.trial_failed_h: int | None = None  # the window of the last such start that was not near
        self.restarts = 0  # period starts that were not near (see HighspyModel.solve)

    def period_key(self, lp: SparseLP) -> tuple[int, ...] | None:
        """The window's phase in the period and its structure, or None when off."""
        if self.basis_period_h <= 0 or self.t0_hour is None:
            return None
        return (
            self.t0_hour % self.basis_period_h,
            lp.n_cols,
            lp.n_rows,
            hash(lp.indptr.tobytes()),
            hash(lp.indices.tobytes()),
        )

    def period_basis(self, key: tuple[int, ...] | None) -> tuple[Any, bool]:
        """The basis to start this window from, one period earlier, if it is not the previous
        window's (replans every period or a multiple of it keep their previous basis as before),
        and whether that start is a trial (its window's tariffs were not this one's)."""
        if key is None or self.shift_h % self.basis_period_h == 0:
            return None, False
        kept = self.bases.get(key)
        if kept is None:
            return None, False
        basis, tariff = kept
        trial = not _same_tariffs(tariff, self.tariff)
        failed = self.trial_failed_h
        if trial and failed is not None and (self.t0_hour or 0) - failed < self.basis_period_h:
            self.tariff_skips += 1
            return None, False
        return basis, trial

    def tried(self, restarted: bool) -> None:
        """The outcome of a trial period start: near, or not (it restarted)."""
        self.trial_failed_h = self.t0_hour if restarted else None

    def remember(self, key: tuple[int, ...], basis: Any) -> None:
        self.bases[key] = (basis, self.tariff)
        self.bases.move_to_end(key)
        while len(self.bases) > 4 * self.basis_period_h:  # a few structures' worth
            self.bases.popitem(last=False)


TARIFF_RTOL = 0.1  # tariffs within 10 %, hour for hour, are the same schedule (PlanCache)


def _same_tariffs(kept: np.ndarray | None, now: np.ndarray | None) -> bool:
    """Tariffs of two windows alike, hour for hour, to within ``TARIFF_RTOL``."""
    if kept is None or now is None:
        return kept is now
    return kept.shape == now.shape and bool(np.all(np.abs(now - kept) <= TARIFF_RTOL * np.abs(kept)))


def _solve_lp(lp: SparseLP, solver: str, time_limit_s: float | None, cache: PlanCache | None) -> RawSolution:
    if solver == "highspy":
        if cache is None:
            return solve_highspy(lp, time_limit_s)
        key = cache.period_key(lp)
        basis, trial = cache.period_basis(key)
        if basis is not None:
            cache.period_starts += 1
        if cache.highs is not None and same_structure(cache.highs.lp, lp):
            cache.highs.update(lp, cache.shift_h if cache.shift_basis and basis is None else 0, basis)
            cache.reused += 1
        else:
            cache.highs = HighspyModel(lp)
            if basis is not None:
                cache.highs.set_basis(basis)
            cache.rebuilt += 1
        before = cache.highs.restarts
        sol = cache.highs.solve(time_limit_s, near_optimal=basis is not None)
        cache.iterations += cache.highs.iterations
        restarted = cache.highs.restarts > before
        cache.restarts += int(restarted)
        if trial:
            cache.tried(restarted)
        if key is not None and sol.status == "optimal":
            cache.remember(key, cache.highs.basis())
        return sol
    if cache is not None and cache.model is not None and cache.model.same_structure(lp):
        cache.model.update(lp)
        cache.reused += 1
        model = cache.model
    else:
        model = PulpModel(lp)
        if cache is not None:
            cache.model = model
            cache.rebuilt += 1
    return model.solve(solver, time_limit_s)


def solve_plan(
    inp: PlanInputs,
    w: PlanWeights,
    solver: str = "highs",
    time_limit_s: float | None = None,
    cache: PlanCache | None = None,
    pool: bool = True,
) -> PlanResult:
    """Plan one window. Never raises for an infeasible model: see ``status`` and ``diagnosis``.

    ``solver``: ``"highs"`` (PuLP + highspy, default), ``"cbc"`` (PuLP + CBC) or
    ``"highspy"`` (the same LP passed straight to highspy, no PuLP). Raises
    :class:`PlanError` for malformed inputs or a solver that is not installed.
    With ``pool`` (default), latency classes with the same SLO and transfer cost
    are planned as one class, and batch demand as one pooled region when no
    path bandwidth can bind (:mod:`models.plan.pool`): the same optimum from a
    smaller model.
    """
    validate(inp, w)
    check_solver(solver)
    return _plan(inp, w, solver, time_limit_s, cache, pool, outer=True)


def _plan(
    inp: PlanInputs,
    w: PlanWeights,
    solver: str,
    time_limit_s: float | None,
    cache: PlanCache | None,
    pool: bool,
    outer: bool,
) -> PlanResult:
    """:func:`solve_plan` on validated inputs. A pooled form is solved by an inner call
    (``outer=False``), which leaves the diagnosis to the outer one: only it knows the real
    regions and classes."""
    groups = latency_groups(inp) if pool else []
    if groups:
        merged = _plan(pool_latency(inp, groups), w, solver, time_limit_s, cache, True, False)
        if merged.has_solution:
            return _diagnosed(unpool_latency(merged, inp, groups), inp, merged.status, outer)
    if pool and can_pool_batch(inp, w):
        pooled = _plan(pool_batch(inp), w, solver, time_limit_s, cache, False, False)
        if pooled.has_solution:
            return _diagnosed(unpool_result(pooled, inp), inp, pooled.status, outer)
        # no plan: solve the full model, whose diagnosis names the real regions
    t0 = time.perf_counter()
    lp = build_lp(inp, w)
    build_np = time.perf_counter() - t0
    sol = _solve_lp(lp, solver, time_limit_s, cache)
    # the PuLP path's solve time includes building its model; split it out for the report
    build_s = build_np + (time.perf_counter() - t0 - build_np - sol.solve_s)
    if sol.has_solution:
        return _diagnosed(read_result(inp, w, lp, sol, solver, build_s), inp, sol.status, outer)
    diag = None
    if outer:
        diag = diagnose_failure(inp, w, sol.status, lambda m: _solve_lp(m, solver, time_limit_s, None))
    return read_result(inp, w, lp, sol, solver, build_s, diagnosis=diag)


def _diagnosed(res: PlanResult, inp: PlanInputs, status: str, outer: bool) -> PlanResult:
    """``res`` with its diagnosis: the work it leaves unserved and why, and an early stop."""
    if not outer:
        return res
    diag = diagnose_unserved(inp, res.unserved_sh, res.cap_duals)
    if status != "optimal":
        stop = f"solver stopped early ({status}); plan is the best found"
        diag = f"{stop}; {diag}" if diag else stop
    return replace(res, diagnosis=diag)


def _shift(a: np.ndarray, by: int, axis: int) -> np.ndarray:
    """Move hour ``by`` to hour 0 along ``axis``; hours past the old horizon are zero."""
    out = np.zeros_like(a)
    n = a.shape[axis]
    if 0 <= by < n:
        src = [slice(None)] * a.ndim
        dst = [slice(None)] * a.ndim
        src[axis] = slice(by, n)
        dst[axis] = slice(0, n - by)
        out[tuple(dst)] = a[tuple(src)]
    return out


@dataclass
class RollingPlanner:
    """Rolling-horizon planning state (pure; the engine calls :meth:`replan`).

    The default solver is the fast path: one ``highspy.Highs`` model kept between
    windows, updated in place (costs, bounds, right-hand sides, changed
    coefficients) and warm-started from the optimal basis of the window
    ``basis_period_h`` (24) hours earlier, which planned the same hours of the
    day (unless its tariffs differ and such starts were not near: :class:`PlanCache`),
    or else from the previous window's; it is rebuilt only when the window's
    structure changes. ``basis_period_h=0`` keeps only the previous
    window's basis. ``solver="highs"`` is the cold PuLP reference.
    ``shift_basis`` moves the kept basis by the hours the window moved before
    the solve (measured slower on the baseline: ``docs/lp.md``).

    Keeps the latest successful plan. When a solve fails, the previous plan's
    remaining hours are shifted to the new window start and kept, and
    :attr:`message` says so.
    """

    weights: PlanWeights
    solver: str = "highspy"
    time_limit_s: float | None = None
    shift_basis: bool = False
    basis_period_h: int = 24
    pool: bool = True
    plan: PlanResult | None = None
    message: str | None = None
    failures: int = 0

    def __post_init__(self) -> None:
        check_solver(self.solver)
        self.cache = PlanCache(self.shift_basis, self.basis_period_h)

    def replan(self, t0_hour: int, inputs_window: PlanInputs) -> PlanResult:
        """Plan the window starting at ``t0_hour``, warm-started from the last window's model."""
        self.cache.shift_h = t0_hour - self.plan.t0_hour if self.plan is not None else 0
        self.cache.t0_hour = t0_hour
        self.cache.tariff = np.array(inputs_window.tariff_cny_per_kwh, dtype=float)
        new = solve_plan(inputs_window, self.weights, self.solver, self.time_limit_s, self.cache, self.pool)
        new = replace(new, t0_hour=t0_hour)
        if new.has_solution:
            self.plan, self.message = new, new.diagnosis
            return new
        self.failures += 1
        prev = self.plan
        if prev is None:
            self.message = f"hour {t0_hour}: plan failed and there is no previous plan: {new.diagnosis}"
            self.plan = new
            return new
        by = t0_hour - prev.t0_hour
        kept = replace(
            prev,
            t0_hour=t0_hour,
            status=f"kept_previous({new.status})",
            work_sh=_shift(prev.work_sh, by, 3),
            routed_sh=_shift(prev.routed_sh, by, 3),
            active_servers=_shift(prev.active_servers, by, 1),
            energy_kwh=_shift(prev.energy_kwh, by, 1),
            grid_kwh=_shift(prev.grid_kwh, by, 1),
            cost_cny=_shift(prev.cost_cny, by, 1),
            tco2=_shift(prev.tco2, by, 1),
            capacity_dual=_shift(prev.capacity_dual, by, 1),
            diagnosis=f"hour {t0_hour}: new plan {new.status}, kept the plan of hour {prev.t0_hour} "
            f"shifted by {by} h: {new.diagnosis}",
        )
        self.message = kept.diagnosis
        self.plan = kept
        return kept
