"""Build the planning LP as sparse arrays (CSR), independent of any modelling library.

The same :class:`SparseLP` is handed to PuLP (``models.plan.solve``) or straight to
highspy, so both paths solve the identical model. Every block of columns and
rows keeps the index arrays needed to read the solution back. The formulation,
with every symbol, is in ``docs/lp.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from models.energy.site import it_power_kw
from models.plan.inputs import FloatArray, PlanInputs, PlanWeights

__all__ = ["FloatArray", "IdArray", "Layout", "SparseLP", "build_lp", "route_cost", "route_mask"]

IdArray = NDArray[np.int64]
INF = float("inf")
CAP_SLACK_CNY = 1e7  # elastic mode: price of one unit of cap violation (diagnosis only)


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


@dataclass
class SparseLP:
    """min cost·x  s.t.  row_lo <= A x <= row_hi,  col_lo <= x <= col_hi (A in CSR)."""

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

    @property
    def n_cols(self) -> int:
        return len(self.cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lo)


class _Coo:
    """Columns, rows and coefficient triplets, appended block by block."""

    def __init__(self) -> None:
        self.n_cols = 0
        self.n_rows = 0
        self.cost: list[FloatArray] = []
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
        cost: float | FloatArray = 0.0,
        hi: float = INF,
        timed: bool | IdArray = False,
        length: int | IdArray = 0,
    ) -> IdArray:
        n = int(np.prod(shape))
        ids = np.arange(self.n_cols, self.n_cols + n, dtype=np.int64).reshape(shape)
        self.n_cols += n
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), ids.shape).ravel().copy())
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

    def finish(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, IdArray, IdArray, FloatArray]:
        ri = np.concatenate(self.ri) if self.ri else np.zeros(0, np.int64)
        ci = np.concatenate(self.ci) if self.ci else np.zeros(0, np.int64)
        v = np.concatenate(self.v) if self.v else np.zeros(0)
        order = np.lexsort((ci, ri))
        ri, ci, v = ri[order], ci[order], v[order]
        indptr = np.zeros(self.n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(ri, minlength=self.n_rows), out=indptr[1:])
        return (
            np.concatenate(self.cost),
            np.concatenate(self.col_hi),
            np.concatenate(self.row_lo),
            np.concatenate(self.row_hi),
            indptr,
            ci,
            v,
        )


def route_mask(inp: PlanInputs) -> NDArray[np.bool_]:
    """(R, K, C): cluster c may serve class k from region r (its RTT alone meets the SLO)."""
    return np.asarray(inp.rtt_ms)[:, None, :] <= np.asarray(inp.slo_ms, dtype=float)[None, :, None]


def route_cost(inp: PlanInputs, w: PlanWeights) -> FloatArray:
    """(R, K, C) CNY per server-hour routed from region r to cluster c for class k.

    Transfer (CNY/GB x GB per sh) for every class, plus latency (CNY per ms and sh x
    RTT) for latency classes. The one definition of the routing cost: the LP's route
    columns take it, and batch pooling checks that it does not depend on the region.
    """
    lat = np.asarray(inp.is_latency, dtype=bool)
    rtt = np.asarray(inp.rtt_ms, dtype=float)
    unit = w.transfer_cny_per_gb * np.asarray(inp.data_gb_per_sh, dtype=float)  # (K,)
    latency = np.where(lat[None, :, None], w.latency_cny_per_ms_sh * rtt[:, None, :], 0.0)
    return np.asarray(unit[None, :, None] + latency)


def build_lp(inp: PlanInputs, w: PlanWeights, elastic: bool = False) -> SparseLP:
    """The planning LP of ``docs/lp.md``; ``elastic`` adds priced slack to every hard cap."""
    nr, nk, nc, nt = inp.shape
    lat = np.asarray(inp.is_latency, dtype=bool)
    demand = np.asarray(inp.demand_sh, dtype=float)
    data = np.asarray(inp.data_gb_per_sh, dtype=float)
    pue = np.asarray(inp.pue, dtype=float)
    # facility energy e = alpha a + beta L: the power law per powered (a) and busy (L) server-hour
    alpha = pue * it_power_kw(1.0, 0.0, inp.idle_w, inp.peak_w)
    beta = pue * it_power_kw(0.0, 1.0, inp.idle_w, inp.peak_w)
    m = _Coo()

    # latency backlog joins the demand of hour 0 (latency work is served in its arrival hour)
    backlog = None if inp.backlog_sh is None else np.asarray(inp.backlog_sh, dtype=float)
    if backlog is not None:
        demand = demand.copy()
        demand[:, lat, 0] += backlog[:, lat, :].sum(axis=2)

    # batch queue groups: one per distinct effective deadline min(D, T)
    d_eff = np.minimum(np.asarray(inp.deadline_h, dtype=np.int64), nt)
    group_deadline = np.unique(d_eff[~lat]).astype(np.int64)
    class_group = np.full(nk, -1, dtype=np.int64)
    for g, d in enumerate(group_deadline):
        class_group[(~lat) & (d_eff == d)] = g
    ng = len(group_deadline)
    # backlog: (r, k, j) due by the end of hour j, entered as a virtual arrival at s = j + 1 - D
    if backlog is not None:
        bj = np.minimum(np.arange(backlog.shape[2]), nt - 1)
        bsum = np.zeros((nr, nk, nt))
        for j in range(backlog.shape[2]):
            bsum[:, :, bj[j]] += backlog[:, :, j]
        bsum[:, lat, :] = 0.0
        for k in np.nonzero(~lat)[0]:  # work due after the class deadline: due at the deadline
            dk = int(d_eff[k])
            bsum[:, k, dk - 1] += bsum[:, k, dk:].sum(axis=1)
            bsum[:, k, dk:] = 0.0
        # one row per hour j < D for every batch (r, k) with backlog or demand, so that the
        # structure stays the same from window to window (zero rows are cheap)
        pair = (bsum > 0).any(axis=2) | ((demand > 0).any(axis=2) & ~lat[None, :])
        has_b = pair[:, :, None] & (np.arange(nt)[None, None, :] < d_eff[None, :, None])
        bdem_r, bdem_k, bdem_j = (a.astype(np.int64) for a in np.nonzero(has_b))
        bdem_val = bsum[bdem_r, bdem_k, bdem_j]
    else:
        bdem_r = bdem_k = bdem_j = np.zeros(0, np.int64)
        bdem_val = np.zeros(0)
    s_min = np.array([1 - d if len(bdem_r) else 0 for d in group_deadline], dtype=np.int64)

    # --- columns ---
    # every hour of a (region, class) with demand somewhere in the window gets its row and
    # routes (zero demand is a zero right-hand side): the structure then does not change
    # between rolling windows, and the solver model can be updated in place
    routes = route_mask(inp)
    has_dem = np.broadcast_to((demand > 0).any(axis=2)[:, :, None], demand.shape)
    x_r, x_k, x_c, x_t = (
        a.astype(np.int64) for a in np.nonzero(routes[:, :, :, None] & has_dem[:, :, None, :])
    )
    rcost = route_cost(inp, w)
    x_col = m.cols(len(x_r), rcost[x_r, x_k, x_c], timed=x_t, length=nt)
    okb = routes[bdem_r, bdem_k, :]  # (B, C)
    bi, xb_c = (a.astype(np.int64) for a in np.nonzero(okb))
    order = np.lexsort((bdem_j[bi], xb_c, bdem_k[bi], bdem_r[bi]))  # hour fastest
    bi, xb_c = bi[order], xb_c[order]
    xb_r, xb_k, xb_j = bdem_r[bi], bdem_k[bi], bdem_j[bi]
    xb_col = m.cols(len(bi), rcost[xb_r, xb_k, xb_c], timed=xb_j, length=d_eff[xb_k])
    z_col = m.cols((ng, nc, nt), timed=True)
    b_col = m.cols((ng, nc, nt), timed=True)
    i_col = [m.cols((nc, nt - int(s_min[g])), timed=True) for g in range(ng)]
    # energy cost = tariff x facility energy e = alpha a + beta L (green or not, as the run accounts it);
    # carbon = grid energy g x grid factor, priced at the carbon price
    tariff = np.asarray(inp.tariff_cny_per_kwh, dtype=float)
    load_col = m.cols((nc, nt), tariff * beta, timed=True)
    a_col = m.cols((nc, nt), tariff * alpha, timed=True)
    grid_factor = np.asarray(inp.grid_kgco2_per_kwh, dtype=float)
    g_col = m.cols((nc, nt), w.carbon_price_cny_per_t * grid_factor / 1000, timed=True)
    if w.switching_cny_per_server > 0 and nt > 1:
        up_col = m.cols((nc, nt - 1), w.switching_cny_per_server, timed=True)
        dn_col = m.cols((nc, nt - 1), w.switching_cny_per_server, timed=True)
    else:
        up_col = dn_col = np.zeros((nc, 0), np.int64)

    # --- demand rows: sum_c x + u = d ---
    dem_row = np.full((nr, nk, nt), -1, dtype=np.int64)
    dem_t = np.nonzero(has_dem)[2]
    dem_row[has_dem] = m.rows(int(has_dem.sum()), demand[has_dem], demand[has_dem], timed=dem_t, length=nt)
    m.add(dem_row[x_r, x_k, x_t], x_col, 1.0)
    bdem_len = d_eff[bdem_k]
    bdem_row = m.rows(len(bdem_r), bdem_val, bdem_val, timed=bdem_j, length=bdem_len)
    m.add(bdem_row[bi], xb_col, 1.0)
    all_dem_rows = np.concatenate([dem_row[has_dem], bdem_row])
    if np.isfinite(w.unserved_cny_per_sh):
        u_pos = np.concatenate([dem_t, bdem_j])
        u_len = np.concatenate([np.full(len(dem_t), nt, np.int64), bdem_len])
        u_col = m.cols(len(all_dem_rows), w.unserved_cny_per_sh, timed=u_pos, length=u_len)
        m.add(all_dem_rows, u_col, 1.0)
    else:
        u_col = np.full(len(all_dem_rows), -1, dtype=np.int64)

    # --- batch queues: inflow, balance, deadline ---
    xbatch = ~lat[x_k]
    for g in range(ng):
        d, s0 = int(group_deadline[g]), int(s_min[g])
        ns = nt - s0
        in_row = m.rows((nc, ns), 0.0, 0.0, timed=True)  # I[s] - sum of routed arrivals of hour s = 0
        m.add(in_row, i_col[g], 1.0)
        sel = xbatch & (class_group[x_k] == g)
        m.add(in_row[x_c[sel], x_t[sel] - s0], x_col[sel], -1.0)
        selb = class_group[xb_k] == g
        m.add(in_row[xb_c[selb], xb_j[selb] + 1 - d - s0], xb_col[selb], -1.0)
        bal = m.rows((nc, nt), 0.0, 0.0, timed=True)  # b[t] - b[t-1] + z[t] - I[t] (- I[s<0] at t=0) = 0
        m.add(bal, b_col[g], 1.0)
        m.add(bal[:, 1:], b_col[g][:, :-1], -1.0)
        m.add(bal, z_col[g], 1.0)
        m.add(bal, i_col[g][:, -s0:] if s0 < 0 else i_col[g], -1.0)
        if s0 < 0:
            m.add(bal[:, :1], i_col[g][:, :-s0], -1.0)
        # deadline: b[t] <= sum of I[s] for s in (t - D + 1, t]  (arrivals not yet due); b[T-1] = 0
        if d >= 2 and nt >= 2:
            dl = m.rows((nc, nt - 1), -INF, 0.0, timed=True)
            m.add(dl, b_col[g][:, :-1], 1.0)
            tt = np.arange(nt - 1)
            for o in range(d - 1):
                s = tt - o
                ok = s >= s0
                m.add(dl[:, ok], i_col[g][:, s[ok] - s0], -1.0)
        # b has upper bound 0 at the last hour and whenever D == 1 (set below)

    # --- cluster-hour rows ---
    load_row = m.rows((nc, nt), 0.0, 0.0, timed=True)  # L - sum latency x - sum_g z = 0
    m.add(load_row, load_col, 1.0)
    xl = lat[x_k]
    m.add(load_row[x_c[xl], x_t[xl]], x_col[xl], -1.0)
    for g in range(ng):
        m.add(load_row, z_col[g], -1.0)
    util = m.rows((nc, nt), -INF, 0.0, timed=True)  # L - rho a <= 0
    m.add(util, load_col, 1.0)
    m.add(util, a_col, -inp.rho_max)
    capacity = np.asarray(inp.capacity_servers, dtype=float)
    cap_row = m.rows((nc, nt), -INF, capacity, timed=True)  # a <= capacity
    m.add(cap_row, a_col, 1.0)
    green = np.asarray(inp.green_kw, dtype=float)
    grid_row = m.rows((nc, nt), -green, INF, timed=True)  # g - alpha a - beta L >= -green
    m.add(grid_row, g_col, 1.0)
    m.add(grid_row, a_col, -alpha)
    m.add(grid_row, load_col, -beta)
    if up_col.size:
        sw = m.rows((nc, nt - 1), 0.0, 0.0, timed=True)  # a[t] - a[t-1] - up + dn = 0
        m.add(sw, a_col[:, 1:], 1.0)
        m.add(sw, a_col[:, :-1], -1.0)
        m.add(sw, up_col, -1.0)
        m.add(sw, dn_col, 1.0)

    # --- bandwidth on region->cluster paths (batch data moves in the hour it is routed) ---
    bw = np.asarray(inp.bandwidth_gbps, dtype=float)
    bw_row = np.full((nr, nc, nt), -1, dtype=np.int64)
    xd = xbatch & (data[x_k] > 0) & np.isfinite(bw[x_r, x_c])
    xbd = (data[xb_k] > 0) & np.isfinite(bw[xb_r, xb_c])
    need = np.zeros((nr, nc, nt), dtype=bool)
    need[x_r[xd], x_c[xd], x_t[xd]] = True
    need[xb_r[xbd], xb_c[xbd], 0] = True
    limit = np.broadcast_to((bw * 3600.0 / 8.0)[:, :, None], need.shape)
    bw_row[need] = m.rows(int(need.sum()), -INF, limit[need], timed=np.nonzero(need)[2], length=nt)
    m.add(bw_row[x_r[xd], x_c[xd], x_t[xd]], x_col[xd], data[x_k[xd]])
    m.add(bw_row[xb_r[xbd], xb_c[xbd], 0], xb_col[xbd], data[xb_k[xbd]])

    # --- optional hard caps ---
    cap_rows: dict[str, int] = {}
    cap_slack: dict[str, int] = {}

    def cap(name: str, lo: float, hi: float, cols: IdArray, vals: FloatArray) -> None:
        row = int(m.rows(1, lo, hi)[0])
        m.add(np.full(cols.size, row), cols.ravel(), vals.ravel())
        cap_rows[name] = row
        if elastic:  # slack that relaxes the cap in its binding direction
            sc = int(m.cols(1, CAP_SLACK_CNY)[0])
            m.add(np.array([row]), np.array([sc]), -1.0 if np.isfinite(hi) else 1.0)
            cap_slack[name] = sc

    if w.max_tco2 is not None:
        cap("max_tco2", -INF, w.max_tco2, g_col, grid_factor / 1000.0)
    if w.min_green_share is not None:  # sum (e - g) >= s sum e, e = alpha a + beta L
        f = 1.0 - w.min_green_share
        cap(
            "min_green_share",
            0.0,
            INF,
            np.concatenate([a_col, load_col, g_col]),
            np.concatenate([f * alpha, f * beta, -np.ones((nc, nt))]),
        )
    if w.min_west_share is not None:  # sum_west L >= s sum L
        west = np.asarray(inp.cluster_west, dtype=bool)
        coef = np.where(west, 1.0 - w.min_west_share, -w.min_west_share)[:, None] * np.ones((nc, nt))
        cap("min_west_share", 0.0, INF, load_col, coef)
    for hub, q in sorted((w.hub_quota_sh or {}).items()):
        on = np.array([h == hub for h in inp.cluster_hub])
        cap(f"hub_quota_sh[{hub}]", -INF, float(q), load_col[on], np.ones((int(on.sum()), nt)))

    cost, col_hi, row_lo, row_hi, indptr, indices, vals = m.finish()
    col_pos, col_len, row_pos, row_len = m.hour_runs()
    for g in range(ng):
        col_hi[b_col[g][:, -1]] = 0.0
        if group_deadline[g] == 1:
            col_hi[b_col[g]] = 0.0
    layout = Layout(
        x_r=x_r,
        x_k=x_k,
        x_c=x_c,
        x_t=x_t,
        x_col=x_col,
        xb_r=xb_r,
        xb_k=xb_k,
        xb_c=xb_c,
        xb_j=xb_j,
        xb_col=xb_col,
        dem_row=dem_row,
        bdem_r=bdem_r,
        bdem_k=bdem_k,
        bdem_j=bdem_j,
        bdem_row=bdem_row,
        u_col=u_col,
        group_deadline=group_deadline,
        class_group=class_group,
        s_min=s_min,
        z_col=z_col,
        b_col=b_col,
        i_col=i_col,
        load_col=load_col,
        a_col=a_col,
        g_col=g_col,
        up_col=up_col,
        dn_col=dn_col,
        load_row=load_row,
        cap_row=cap_row,
        grid_row=grid_row,
        bw_row=bw_row,
        cap_rows=cap_rows,
        cap_slack_cols=cap_slack,
        col_pos=col_pos,
        col_len=col_len,
        row_pos=row_pos,
        row_len=row_len,
    )
    return SparseLP(
        cost=cost,
        col_lo=np.zeros(len(cost)),
        col_hi=col_hi,
        row_lo=row_lo,
        row_hi=row_hi,
        indptr=indptr,
        indices=indices,
        data=vals,
        layout=layout,
        alpha=alpha,
        beta=beta,
    )
