"""Solve the expansion LP (PuLP + HiGHS by default) and say why it fails when it does."""

from __future__ import annotations

import time
from dataclasses import replace

from models.plan.expansion.build import ExpansionLP, build_expansion
from models.plan.expansion.inputs import ExpansionInputs, validate_expansion
from models.plan.expansion.result import ExpansionResult, read_expansion
from models.plan.inputs import PlanWeights
from models.plan.solve import PulpModel, RawSolution, check_solver, solve_highspy

__all__ = ["diagnose_targets", "solve_expansion"]

TOL = 1e-6


def _solve(m: ExpansionLP, solver: str, time_limit_s: float | None) -> RawSolution:
    if solver == "highspy":
        return solve_highspy(m.lp, time_limit_s)
    return PulpModel(m.lp).solve(solver, time_limit_s)


def solve_expansion(
    inp: ExpansionInputs,
    w: PlanWeights,
    solver: str = "highs",
    time_limit_s: float | None = None,
    pool: bool = True,
) -> ExpansionResult:
    """Choose the builds of least annual cost; never raises for an infeasible model.

    ``solver``: ``"highs"`` (PuLP + HiGHS, default), ``"cbc"`` or ``"highspy"`` (the
    same arrays straight to highspy). An infeasible model comes back with
    ``has_solution`` False and a ``diagnosis`` naming the targets to relax
    (:func:`diagnose_targets`). Raises :class:`~models.plan.inputs.PlanError` for
    malformed inputs or a missing solver.
    """
    validate_expansion(inp, w)
    check_solver(solver)
    t0 = time.perf_counter()
    m = build_expansion(inp, w, pool=pool)
    build_s = time.perf_counter() - t0
    sol = _solve(m, solver, time_limit_s)
    diag: str | None = None
    slack: dict[str, float] = {}
    if not sol.has_solution:
        diag, slack = diagnose_targets(inp, w, sol.status, solver, time_limit_s, pool)
    elif sol.status != "optimal":
        diag = f"solver stopped early ({sol.status}); the expansion is the best found"
    res = read_expansion(inp, w, m, sol, solver, build_s, diag)
    return replace(res, target_slack=slack)


def diagnose_targets(
    inp: ExpansionInputs,
    w: PlanWeights,
    status: str,
    solver: str = "highs",
    time_limit_s: float | None = None,
    pool: bool = True,
) -> tuple[str, dict[str, float]]:
    """Re-solve with priced slack on every target; name each target that needs some."""
    head = f"expansion is {status}"
    if status == "time_limit":
        return f"{head}: the solver stopped without a plan (try a longer time limit)", {}
    m = build_expansion(inp, w, elastic=True, pool=pool)
    sol = _solve(m, solver, time_limit_s)
    if not sol.has_solution:
        return f"{head}: the elastic re-solve also failed ({sol.status}); check the inputs", {}
    need = {n: float(sol.col_value[c]) for n, c in m.target_slack_cols.items() if sol.col_value[c] > TOL}
    if not need:
        return f"{head}: no target needed slack in the elastic model (numerical trouble?)", {}
    msgs = [
        f"target {n} cannot be met: it must be relaxed by {v:.4g} {m.target_units[n]}"
        for n, v in need.items()
    ]
    return f"{head}: " + "; ".join(msgs), need
