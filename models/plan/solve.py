"""Solve a :class:`SparseLP` through PuLP (HiGHS or CBC) or straight through highspy.

PuLP 4 keeps its model in a Rust core. Variables are created in one batch and
every row is built from id/coefficient arrays (``AffineExpr.add_term_ids_coeffs``,
the batch path behind ``pulp.lpSum_vars``), so no Python expression objects are
made per term. :class:`PulpModel` keeps the built problem; when the next window
has the same sparsity structure only changed coefficients, right-hand sides,
bounds and the objective are rewritten (the rolling-horizon reuse).

The fast path, :class:`HighspyModel`, is defined through PuLP as well: PuLP's
HiGHS adapter writes the :class:`PulpModel` into a ``highspy.Highs``
(:func:`pulp_highs_model`), which is then kept across windows and changed in
place, warm-started from a previous basis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.plan.build import FloatArray, IdArray, SparseLP
from models.plan.inputs import PlanError

SOLVERS = ("highs", "cbc", "highspy")


@dataclass
class RawSolution:
    """A solver's answer, in the LP's column and row order."""

    status: str  # optimal | infeasible | unbounded | time_limit | not_solved | error
    has_solution: bool
    col_value: FloatArray
    col_dual: FloatArray  # reduced costs; empty when not read (the rolling planner reads none)
    row_dual: FloatArray
    solve_s: float


def _pulp() -> Any:
    import pulp

    _swallow_highs_banner()
    return pulp


_BANNER_DONE = False


def _swallow_highs_banner() -> None:
    """HiGHS prints a licence banner to stdout when the first ``Highs`` object of a
    process is made, whatever its options; make that first object with stdout
    pointed at /dev/null so a run's output stays the run's."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return
    _BANNER_DONE = True
    try:
        import highspy
    except ImportError:
        return
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def solver_available(solver: str) -> bool:
    if solver == "highspy":
        try:
            import highspy  # noqa: F401
        except ImportError:
            return False
        return True
    pulp = _pulp()
    if solver == "highs":
        return bool(pulp.HiGHS(msg=False).available())
    if solver == "cbc":
        return bool(pulp.COIN_CMD(msg=False).available())
    return False


def check_solver(solver: str) -> None:
    if solver not in SOLVERS:
        raise PlanError(f"unknown solver {solver!r}: expected one of {', '.join(SOLVERS)}")
    if not solver_available(solver):
        hint = {
            "highs": "pip install highspy",
            "highspy": "pip install highspy",
            "cbc": "pip install 'pulp[cbc]' (the cbcbox wheel) or put the cbc binary on PATH",
        }[solver]
        raise PlanError(f"solver {solver!r} is not available: {hint}")


class PulpModel:
    """A PuLP problem built from a :class:`SparseLP`, updatable in place.

    A PuLP constraint has one right-hand side, so every row must be an equality or
    have one infinite side (``build_lp``'s rows do); a ranged row is refused.
    """

    def __init__(self, lp: SparseLP) -> None:
        ranged = np.isfinite(lp.row_lo) & np.isfinite(lp.row_hi) & (lp.row_lo != lp.row_hi)
        if ranged.any():
            raise ValueError(f"row {int(np.flatnonzero(ranged)[0])} has two finite bounds: PuLP keeps one")
        pulp = _pulp()
        rc = pulp._rustcore
        self.prob = pulp.LpProblem("edwc_plan", pulp.LpMinimize)
        model = self.prob._model
        n = lp.n_cols
        self.vars = model.add_variables_batch(
            [f"v{j}" for j in range(n)], 0.0, float("inf"), rc.Category.Continuous
        )
        self.ids = np.fromiter((v.id() for v in self.vars), dtype=np.uint64, count=n)
        for j in np.nonzero(np.isfinite(lp.col_hi))[0]:
            self.vars[j].set_ub(float(lp.col_hi[j]))
        self.rows: list[Any] = []
        eq, le, ge = rc.Sense.Equal, rc.Sense.LessEqual, rc.Sense.GreaterEqual
        ids, ind, dat, ptr = self.ids, lp.indices, lp.data, lp.indptr
        rhs = self._rhs(lp)
        sense = np.where(lp.row_lo == lp.row_hi, 0, np.where(np.isfinite(lp.row_hi), 1, 2))
        senses = (eq, le, ge)
        add = model.add_constraint
        for i in range(lp.n_rows):
            e = rc.AffineExpr()
            a, b = ptr[i], ptr[i + 1]
            e.add_term_ids_coeffs(model, ids[ind[a:b]], dat[a:b])
            e.set_constant(-float(rhs[i]))
            e.set_sense(senses[sense[i]])
            self.rows.append(add(e))
        self.lp = lp
        self._set_objective(lp)

    @staticmethod
    def _rhs(lp: SparseLP) -> FloatArray:
        return np.where(np.isfinite(lp.row_hi), lp.row_hi, lp.row_lo)

    def _set_objective(self, lp: SparseLP) -> None:
        rc = _pulp()._rustcore
        nz = np.nonzero(lp.cost)[0]
        e = rc.AffineExpr()
        e.add_term_ids_coeffs(self.prob._model, self.ids[nz], lp.cost[nz])
        self.prob._model.set_objective(e)

    def same_structure(self, lp: SparseLP) -> bool:
        old = self.lp
        return (
            lp.n_cols == old.n_cols
            and lp.n_rows == old.n_rows
            and np.array_equal(lp.indptr, old.indptr)
            and np.array_equal(lp.indices, old.indices)
            and np.array_equal(lp.row_lo == lp.row_hi, old.row_lo == old.row_hi)
            and np.array_equal(np.isfinite(lp.row_hi), np.isfinite(old.row_hi))
        )

    def update(self, lp: SparseLP) -> None:
        """Rewrite what changed since the last window (same structure assumed)."""
        old = self.lp
        rows_of_nz = np.repeat(np.arange(lp.n_rows), np.diff(lp.indptr))
        for p in np.nonzero(lp.data != old.data)[0]:
            self.rows[rows_of_nz[p]].set_coefficient(self.vars[lp.indices[p]], float(lp.data[p]))
        rhs, old_rhs = self._rhs(lp), self._rhs(old)
        for i in np.nonzero(rhs != old_rhs)[0]:
            self.rows[i].set_rhs(float(rhs[i]))
        for j in np.nonzero(lp.col_hi != old.col_hi)[0]:
            self.vars[j].set_ub(float(lp.col_hi[j]))
        self._set_objective(lp)
        self.lp = lp

    def solve(self, solver: str, time_limit_s: float | None) -> RawSolution:
        pulp = _pulp()
        if solver == "cbc":
            s = pulp.COIN_CMD(msg=False, timeLimit=time_limit_s)
        else:
            s = pulp.HiGHS(msg=False, timeLimit=time_limit_s)
        t0 = time.perf_counter()
        stats = self.prob.solve(s)
        status = _status_from_pulp(str(stats.status_str))
        ok = bool(getattr(stats, "has_solution", status == "optimal"))
        n = self.lp.n_cols
        vals = np.fromiter((v.value or 0.0 for v in self.vars), dtype=float, count=n)
        djs = np.fromiter((v.dj or 0.0 for v in self.vars), dtype=float, count=n)
        pis = np.fromiter((c.pi or 0.0 for c in self.rows), dtype=float, count=len(self.rows))
        return RawSolution(status, ok, vals, djs, pis, time.perf_counter() - t0)


def _status_from_pulp(s: str) -> str:
    s = s.lower().replace(" ", "_")
    table = {
        "optimal": "optimal",
        "infeasible": "infeasible",
        "unbounded": "unbounded",
        "time_limit": "time_limit",
        "timelimit": "time_limit",
        "not_solved": "not_solved",
        "undefined": "undefined",
    }
    return table.get(s, s)


def _configure(h: Any) -> None:
    """The options of every HiGHS model the planner solves."""
    h.setOptionValue("output_flag", False)
    # scale by powers of two to max value 1 (docs/lp.md: 16 % fewer warm iterations than the default)
    h.setOptionValue("simplex_scale_strategy", 4)


def highspy_model(lp: SparseLP) -> Any:
    """A ``highspy.Highs`` holding ``lp`` (row-wise matrix passed in one call)."""
    import highspy

    _swallow_highs_banner()
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    _configure(h)
    m = highspy.HighsLp()
    m.num_col_ = lp.n_cols
    m.num_row_ = lp.n_rows
    m.col_cost_ = lp.cost
    m.col_lower_ = lp.col_lo
    m.col_upper_ = np.where(np.isfinite(lp.col_hi), lp.col_hi, highspy.kHighsInf)
    m.row_lower_ = np.where(np.isfinite(lp.row_lo), lp.row_lo, -highspy.kHighsInf)
    m.row_upper_ = np.where(np.isfinite(lp.row_hi), lp.row_hi, highspy.kHighsInf)
    m.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    m.a_matrix_.num_col_ = lp.n_cols
    m.a_matrix_.num_row_ = lp.n_rows
    m.a_matrix_.start_ = lp.indptr.astype(np.int32)
    m.a_matrix_.index_ = lp.indices.astype(np.int32)
    m.a_matrix_.value_ = lp.data
    h.passModel(m)
    return h


def pulp_highs_model(lp: SparseLP) -> Any:
    """A ``highspy.Highs`` holding ``lp`` as defined through PuLP, not yet solved.

    The problem is :class:`PulpModel`'s; PuLP's own HiGHS adapter
    (``pulp.HiGHS.createAndConfigureSolver`` and ``buildSolverModel``, the steps of
    its ``actualSolve`` before the solve) writes it into HiGHS. Columns and rows keep
    ``lp``'s order, so the kept model is then updated from ``lp``'s arrays. The same
    model as :func:`highspy_model` (tested): bounds, costs and coefficients equal.
    """
    pulp = _pulp()
    model = PulpModel(lp)
    adapter = pulp.HiGHS(msg=False)
    adapter.createAndConfigureSolver(model.prob)
    adapter.buildSolverModel(model.prob)
    h = model.prob.solverModel
    _configure(h)
    return h


def same_structure(a: SparseLP, b: SparseLP) -> bool:
    """Same columns, rows and sparsity pattern (coefficients and bounds may differ)."""
    return (
        a.n_cols == b.n_cols
        and a.n_rows == b.n_rows
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
    )


NEAR_ITERATIONS = 1000  # Dantzig pivots tried from a near-optimal basis before steepest edge takes over


class HighspyModel:
    """A ``highspy.Highs`` kept between windows of the same structure.

    The model is defined through PuLP (:func:`pulp_highs_model`) when the structure
    is new; from then on HiGHS's copy is the one kept and changed in place.
    :meth:`update` rewrites costs, bounds and the coefficients that changed;
    HiGHS then starts the next solve from the previous optimal basis (a warm
    start), which on consecutive rolling-horizon windows needs a fraction of
    a cold solve's simplex iterations.
    """

    def __init__(self, lp: SparseLP) -> None:
        self.lp = lp
        self.h = pulp_highs_model(lp)
        self.iterations = 0  # simplex iterations of the last solve
        self._fallback: Any = None  # basis to restart from when a near-optimal start is not
        self.restarts = 0  # near-optimal starts that did not reach the optimum in NEAR_ITERATIONS

    def update(self, lp: SparseLP, shift_h: int = 0, basis: Any = None) -> None:
        """Write ``lp``'s costs, bounds and changed coefficients into the kept model.

        ``shift_h`` > 0 moves the previous basis that many hours earlier (the window
        moved on by ``shift_h`` hours; see :func:`shift_statuses`) before the solve.
        ``basis`` (a ``highspy.HighsBasis`` of this structure, e.g. :meth:`basis` of
        the window one day earlier) replaces the previous one as the warm start.
        """
        import highspy

        inf = highspy.kHighsInf
        h, old = self.h, self.lp
        shifted = None
        if shift_h > 0:
            b = h.getBasis()
            if b.valid:
                shifted = (
                    shift_statuses(_statuses(b.col_status), lp.layout.col_pos, lp.layout.col_len, shift_h),
                    shift_statuses(_statuses(b.row_status), lp.layout.row_pos, lp.layout.row_len, shift_h),
                )
        # only what changed (a bound or cost written anew costs HiGHS as much as a changed one)
        cols = np.flatnonzero(lp.cost != old.cost).astype(np.int32)
        if cols.size:
            h.changeColsCost(cols.size, cols, lp.cost[cols])
        cols = np.flatnonzero((lp.col_lo != old.col_lo) | (lp.col_hi != old.col_hi)).astype(np.int32)
        if cols.size:
            hi = lp.col_hi[cols]
            h.changeColsBounds(cols.size, cols, lp.col_lo[cols], np.where(np.isfinite(hi), hi, inf))
        rows = np.flatnonzero((lp.row_lo != old.row_lo) | (lp.row_hi != old.row_hi)).astype(np.int32)
        if rows.size:
            lo, hi = lp.row_lo[rows], lp.row_hi[rows]
            h.changeRowsBounds(
                rows.size, rows, np.where(np.isfinite(lo), lo, -inf), np.where(np.isfinite(hi), hi, inf)
            )
        nz = np.flatnonzero(lp.data != old.data)
        nz_rows = np.searchsorted(lp.indptr, nz, side="right") - 1  # the row of each changed entry
        for i, j, a in zip(nz_rows.tolist(), lp.indices[nz].tolist(), lp.data[nz].tolist(), strict=True):
            h.changeCoeff(i, j, a)
        if shifted is not None:
            members = list(highspy.HighsBasisStatus.__members__.values())
            nb = highspy.HighsBasis()
            nb.col_status = [members[i] for i in shifted[0]]
            nb.row_status = [members[i] for i in shifted[1]]
            nb.valid = True  # a permutation within hour runs: as many basic variables as before
            h.setBasis(nb)
        self._fallback = None
        if basis is not None:
            self._fallback = h.getBasis()  # the previous window's optimal basis, if this one is not near
            h.setBasis(basis)
        self.lp = lp

    def basis(self) -> Any:
        """The model's current basis (a ``highspy.HighsBasis``), to warm-start a later solve."""
        return self.h.getBasis()

    def set_basis(self, basis: Any) -> None:
        """Start the next solve from ``basis`` (one of this structure)."""
        self._fallback = None
        self.h.setBasis(basis)

    def solve(self, time_limit_s: float | None, near_optimal: bool = False) -> RawSolution:
        """Solve from the basis in place.

        ``near_optimal``: the basis is expected to be a few pivots from the optimum
        (that of the window one day earlier). The dual simplex then prices with
        Dantzig's rule, which needs no edge weights: steepest edge would first
        compute one weight per row (as costly as ~1,000 iterations on the national
        window) to save pivots there are few of. After ``NEAR_ITERATIONS`` without
        reaching the optimum it starts again from the previous window's basis
        (:meth:`update` kept it; on a model just built, from where it stopped) with
        the default pricing, so a basis that was not near costs at most that detour.
        """
        import highspy

        h = self.h
        t0 = time.perf_counter()
        its = 0
        if near_optimal:
            h.setOptionValue("simplex_dual_edge_weight_strategy", 0)
            h.setOptionValue("simplex_iteration_limit", NEAR_ITERATIONS)
            limit = float(time_limit_s) if time_limit_s is not None else highspy.kHighsInf
            h.setOptionValue("time_limit", limit)
            h.run()
            its = int(h.getInfo().simplex_iteration_count)
            h.setOptionValue("simplex_dual_edge_weight_strategy", -1)
            h.setOptionValue("simplex_iteration_limit", highspy.kHighsIInf)
            if time_limit_s is not None:
                time_limit_s = max(0.0, time_limit_s - (time.perf_counter() - t0))
            if h.getModelStatus() != highspy.HighsModelStatus.kIterationLimit:  # optimal, or a real stop
                self.iterations = its
                return _read_highs(h, self.lp, t0, reduced_costs=False)
            self.restarts += 1
            if self._fallback is not None:
                h.clearSolver()  # HiGHS 1.16 does not return from a run after setBasis on a stopped solve
                h.setBasis(self._fallback)
        sol = _run_highs(h, self.lp, time_limit_s, t0, reduced_costs=False)
        self.iterations = its + int(h.getInfo().simplex_iteration_count)
        return sol


def _statuses(seq: Any) -> IdArray:
    return np.fromiter((int(x) for x in seq), dtype=np.int64, count=len(seq))


def shift_statuses(status: IdArray, pos: IdArray, length: IdArray, by: int) -> IdArray:
    """Basis statuses moved ``by`` hours earlier, cyclically within each hour run.

    Entry j at hour position ``pos[j]`` of a run of ``length[j]`` takes the status
    of the entry at position ``(pos + by) mod length`` of the same run; the hours
    new to the window take those of the hours that left it (the same hour of
    the day for a 24 h window). Entries without an hour keep their status.
    """
    n = len(status)
    j = np.arange(n)
    timed = length > 0
    safe = np.where(timed, length, 1)
    p2 = (pos + by) % safe
    cand = np.clip(j - pos + p2, 0, max(n - 1, 0))
    ok = timed & (pos[cand] == p2) & (length[cand] == length)
    out: IdArray = status[np.where(ok, cand, j)]
    return out


def solve_highspy(lp: SparseLP, time_limit_s: float | None) -> RawSolution:
    """Solve without PuLP (the benchmark's floor and the fast path ``solver='highspy'``)."""
    return _run_highs(highspy_model(lp), lp, time_limit_s)


def _run_highs(
    h: Any, lp: SparseLP, time_limit_s: float | None, t0: float | None = None, reduced_costs: bool = True
) -> RawSolution:
    import highspy

    t0 = time.perf_counter() if t0 is None else t0
    h.setOptionValue("time_limit", float(time_limit_s) if time_limit_s is not None else highspy.kHighsInf)
    h.run()
    return _read_highs(h, lp, t0, reduced_costs)


def _read_highs(h: Any, lp: SparseLP, t0: float, reduced_costs: bool = True) -> RawSolution:
    """The solved model's status, values and duals; ``t0``: when the solve began.

    ``reduced_costs=False`` leaves ``col_dual`` empty (reading a vector back from
    HiGHS costs ~1 ms per 30,000 columns).
    """
    import highspy

    st = h.getModelStatus()
    ms = highspy.HighsModelStatus
    status = {
        ms.kOptimal: "optimal",
        ms.kInfeasible: "infeasible",
        ms.kUnbounded: "unbounded",
        ms.kUnboundedOrInfeasible: "infeasible_or_unbounded",
        ms.kTimeLimit: "time_limit",
        ms.kModelEmpty: "optimal",
    }.get(st, "error")
    sol = h.getSolution()
    ok = status == "optimal" or (status == "time_limit" and bool(sol.value_valid))
    n, m = lp.n_cols, lp.n_rows
    cv = np.fromiter(sol.col_value, dtype=float, count=n) if ok and n else np.zeros(n)
    if not reduced_costs:
        cd = np.zeros(0)
    else:
        cd = np.fromiter(sol.col_dual, dtype=float, count=n) if ok and n else np.zeros(n)
    rd = np.fromiter(sol.row_dual, dtype=float, count=m) if ok and m else np.zeros(m)
    return RawSolution(status, ok, cv, cd, rd, time.perf_counter() - t0)
