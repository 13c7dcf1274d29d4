"""The planning LP's containers: :class:`SparseLP`, its :class:`Layout`, and the builder they come from.

:class:`CooModel` hands out column and row ids block by block and collects the
coefficient triplets; :func:`models.plan.build.build_lp` fills it and turns it
into a :class:`SparseLP` in CSR form, which PuLP or highspy solve unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from models.plan.inputs import FloatArray

__all__ = ["INF", "CooModel", "CostTerm", "FloatArray", "IdArray", "Layout", "SparseLP"]

IdArray = NDArray[np.int64]
INF = float("inf")


@dataclass
class Layout:
    """Where each variable and constraint block lives, and what it is indexed by."""

    # route columns x: one per (r, k, c, t) with a feasible route and demand > 0
    x_r: IdArray
    x_k: IdArray
    x_c: IdArray
    x_t: IdArray
    x_col: IdArray
    # backlog route columns: (r, k, c, j) work due by the end of window hour j
    xb_r: IdArray
    xb_k: IdArray
    xb_c: IdArray
    xb_j: IdArray
    xb_col: IdArray
    # demand rows (r, k, t) and backlog demand rows (r, k, j)
    dem_row: IdArray  # (R, K, T), -1 when no row (no demand)
    bdem_r: IdArray
    bdem_k: IdArray
    bdem_j: IdArray
    bdem_row: IdArray
    u_col: IdArray  # unserved column per demand row (all rows, demand then backlog); -1 when hard
    group_deadline: IdArray  # (G,) effective deadline of each batch queue group
    class_group: IdArray  # (K,) group of a batch class, -1 for latency
    s_min: IdArray  # (G,) first virtual arrival hour of each group (<= 0)
    z_col: IdArray  # (G, C, T) executed batch work
    b_col: IdArray  # (G, C, T) backlog at the end of hour t
    i_col: list[IdArray]  # per group (C, T - s_min) inflow of virtual arrival hour s
    load_col: IdArray  # (C, T)
    a_col: IdArray  # (C, T)
    g_col: IdArray  # (C, T)
    up_col: IdArray  # (C, T-1) or empty
    dn_col: IdArray
    load_row: IdArray  # (C, T)
    cap_row: IdArray  # (C, T)
    grid_row: IdArray  # (C, T)
    bw_row: IdArray  # (R, C, T), -1 when no row
    cap_rows: dict[str, int] = field(default_factory=dict)  # name -> row of each hard cap
    cap_slack_cols: dict[str, int] = field(default_factory=dict)
    # hour runs, for shifting a basis in time: column/row j is position col_pos[j] of a run of
    # col_len[j] consecutive indices, one per hour (-1 / 0 for columns and rows without an hour)
    col_pos: IdArray = field(default_factory=lambda: np.zeros(0, np.int64))
    col_len: IdArray = field(default_factory=lambda: np.zeros(0, np.int64))
    row_pos: IdArray = field(default_factory=lambda: np.zeros(0, np.int64))
    row_len: IdArray = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass(frozen=True)
class CostTerm:
    """One named part of an LP's objective: CNY per unit of each of some columns.

    Parameters
    ----------
    name : str
        The term's name in reports (``energy_cny``, ``unserved_cny``, ...).
    cols : IdArray
        Column ids (flat; a column appears at most once per term).
    coef : FloatArray
        CNY per unit of each column, aligned with ``cols``.
    """

    name: str
    cols: IdArray
    coef: FloatArray

    def value(self, x: FloatArray) -> float:
        """The term's value (CNY) at the column values ``x``."""
        return float(self.coef @ x[self.cols])


@dataclass
class SparseLP:
    """min cost·x  s.t.  row_lo <= A x <= row_hi,  col_lo <= x <= col_hi (A in CSR).

    ``cost`` is the sum of ``terms`` (:mod:`models.plan.terms`): the value of
    each term at a solution is what the plan reports, and they add up to
    ``cost @ x``.
    """

    cost: FloatArray
    col_lo: FloatArray
    col_hi: FloatArray
    row_lo: FloatArray
    row_hi: FloatArray
    indptr: IdArray
    indices: IdArray
    data: FloatArray
    layout: Layout
    alpha: FloatArray  # (C, T) kWh per active server-hour (PUE x idle)
    beta: FloatArray  # (C, T) extra kWh per busy server-hour (PUE x (peak - idle))
    terms: tuple[CostTerm, ...] = ()

    def term_values(self, x: FloatArray) -> dict[str, float]:
        """Each objective term's value (CNY) at the column values ``x``, by name."""
        return {t.name: t.value(x) for t in self.terms}

    @property
    def n_cols(self) -> int:
        return len(self.cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lo)


class CooModel:
    """Columns, rows and coefficient triplets of an LP, appended block by block.

    Column and row ids are handed out in the order blocks are added; the cost
    vector is not kept here but set afterwards from the objective terms
    (:mod:`models.plan.terms`).
    """

    def __init__(self) -> None:
        self.n_cols = 0
        self.n_rows = 0
        self.col_hi: list[FloatArray] = []
        self.row_lo: list[FloatArray] = []
        self.row_hi: list[FloatArray] = []
        self.ri: list[IdArray] = []
        self.ci: list[IdArray] = []
        self.v: list[FloatArray] = []
        self.col_pos: list[IdArray] = []
        self.col_len: list[IdArray] = []
        self.row_pos: list[IdArray] = []
        self.row_len: list[IdArray] = []

    @staticmethod
    def _hours(ids: IdArray, timed: bool | IdArray, length: int | IdArray) -> tuple[IdArray, IdArray]:
        """Position in the hour run and run length of each id (the last axis is the hour when timed)."""
        n = ids.size
        if isinstance(timed, np.ndarray):
            return timed.astype(np.int64).ravel(), np.broadcast_to(np.asarray(length, np.int64), (n,)).copy()
        if timed and ids.ndim >= 1 and ids.shape[-1] > 0:
            run = ids.shape[-1]
            pos = np.broadcast_to(np.arange(run, dtype=np.int64), ids.shape).ravel()
            return pos.copy(), np.full(n, run, np.int64)
        return np.full(n, -1, np.int64), np.zeros(n, np.int64)

    def cols(
        self,
        shape: tuple[int, ...] | int,
        hi: float = INF,
        timed: bool | IdArray = False,
        length: int | IdArray = 0,
    ) -> IdArray:
        n = int(np.prod(shape))
        ids = np.arange(self.n_cols, self.n_cols + n, dtype=np.int64).reshape(shape)
        self.n_cols += n
        self.col_hi.append(np.full(n, hi))
        pos, ln = self._hours(ids, timed, length)
        self.col_pos.append(pos)
        self.col_len.append(ln)
        return ids

    def rows(
        self,
        shape: tuple[int, ...] | int,
        lo: float | FloatArray,
        hi: float | FloatArray,
        timed: bool | IdArray = False,
        length: int | IdArray = 0,
    ) -> IdArray:
        n = int(np.prod(shape))
        ids = np.arange(self.n_rows, self.n_rows + n, dtype=np.int64).reshape(shape)
        self.n_rows += n
        self.row_lo.append(np.broadcast_to(np.asarray(lo, dtype=float), ids.shape).ravel().copy())
        self.row_hi.append(np.broadcast_to(np.asarray(hi, dtype=float), ids.shape).ravel().copy())
        pos, ln = self._hours(ids, timed, length)
        self.row_pos.append(pos)
        self.row_len.append(ln)
        return ids

    def hour_runs(self) -> tuple[IdArray, IdArray, IdArray, IdArray]:
        def cat(parts: list[IdArray]) -> IdArray:
            return np.concatenate(parts) if parts else np.zeros(0, np.int64)

        return cat(self.col_pos), cat(self.col_len), cat(self.row_pos), cat(self.row_len)

    def add(self, rows: IdArray, cols: IdArray, vals: float | FloatArray) -> None:
        r, c, v = np.broadcast_arrays(np.asarray(rows), np.asarray(cols), np.asarray(vals, dtype=float))
        keep = (r >= 0) & (c >= 0)
        self.ri.append(r[keep].astype(np.int64))
        self.ci.append(c[keep].astype(np.int64))
        self.v.append(v[keep].astype(float))

    def finish(self) -> tuple[FloatArray, FloatArray, FloatArray, IdArray, IdArray, FloatArray]:
        """Column upper bounds, row bounds and the matrix in CSR (rows, then columns, sorted)."""
        ri = np.concatenate(self.ri) if self.ri else np.zeros(0, np.int64)
        ci = np.concatenate(self.ci) if self.ci else np.zeros(0, np.int64)
        v = np.concatenate(self.v) if self.v else np.zeros(0)
        order, indptr, indices = _csr_pattern(ri, ci, self.n_rows, self.n_cols)
        return (
            np.concatenate(self.col_hi),
            np.concatenate(self.row_lo),
            np.concatenate(self.row_hi),
            indptr,
            indices,
            v[order],
        )


_last_pattern: tuple[IdArray, IdArray, int, IdArray, IdArray, IdArray] | None = None


def _csr_pattern(ri: IdArray, ci: IdArray, n_rows: int, n_cols: int) -> tuple[IdArray, IdArray, IdArray]:
    """The CSR order of triplets (``order``), ``indptr`` and ``indices`` (read-only arrays).

    Consecutive windows of a rolling horizon have the same triplet positions, so the
    last pattern is kept and reused when ``ri`` and ``ci`` are equal to its own (a
    comparison instead of a sort of ~10^5 keys); the result never depends on it.
    """
    global _last_pattern
    last = _last_pattern  # one read: another thread may replace it
    if last is not None and last[2] == n_rows and np.array_equal(last[0], ri) and np.array_equal(last[1], ci):
        return last[3], last[4], last[5]
    order = np.argsort(ri * max(n_cols, 1) + ci, kind="stable")  # by row, then column
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(ri, minlength=n_rows), out=indptr[1:])
    indices = ci[order]
    for arr in (ri, ci, order, indptr, indices):
        arr.setflags(write=False)
    _last_pattern = (ri, ci, n_rows, order, indptr, indices)
    return order, indptr, indices
