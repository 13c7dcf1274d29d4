"""Build the planning LP as sparse arrays (CSR), independent of any modelling library.

The same :class:`SparseLP` is handed to PuLP (``models.plan.solve``) or straight to
highspy, so both paths solve the identical model. :func:`build_lp` adds the model
block by block, as PyPSA's ``define_*`` functions do: each ``define_*`` below adds
one kind of column or row and returns the ids it made. Columns and rows are
numbered in the order the blocks are added, and that order is part of the
contract: the warm-started highspy model (``models.plan.solve``) updates a kept
model in place between windows, and the expansion LP (``models.plan.expansion``)
stacks day models by position. The objective is set last from its terms
(:mod:`models.plan.terms`). The formulation, with every symbol, is in ``docs/lp.md``.
"""

from __future__ import annotations

import numpy as np

from models.plan.inputs import FloatArray, PlanInputs, PlanWeights
from models.plan.sparse import INF, CooModel, CostTerm, IdArray, Layout, SparseLP
from models.plan.terms import CAP_SLACK_CNY, objective, objective_terms, route_cost
from models.plan.window import Window, prepare_window, route_mask

__all__ = [
    "CAP_SLACK_CNY",
    "FloatArray",
    "IdArray",
    "Layout",
    "SparseLP",
    "Window",
    "build_lp",
    "define_backlog_routing_columns",
    "define_bandwidth_rows",
    "define_batch_queue_rows",
    "define_cluster_columns",
    "define_cluster_rows",
    "define_demand_rows",
    "define_hard_caps",
    "define_objective",
    "define_queue_columns",
    "define_routing_columns",
    "prepare_window",
    "route_cost",
    "route_mask",
]


def define_routing_columns(m: CooModel, win: Window, nt: int) -> tuple[IdArray, ...]:
    """Route columns x[r, k, c, t]: work of (r, k) arriving in hour t placed on cluster c.

    One per allowed route (:func:`route_mask`) and demand-row hour, hour fastest.

    Returns
    -------
    x_r, x_k, x_c, x_t, x_col
    """
    ok = win.routes[:, :, :, None] & win.has_dem[:, :, None, :]
    x_r, x_k, x_c, x_t = (a.astype(np.int64) for a in np.nonzero(ok))
    return x_r, x_k, x_c, x_t, m.cols(len(x_r), timed=x_t, length=nt)


def define_backlog_routing_columns(m: CooModel, win: Window) -> tuple[IdArray, ...]:
    """Route columns of waiting batch work: (r, k) due by the end of hour j placed on cluster c.

    Returns
    -------
    bi, xb_r, xb_k, xb_c, xb_j, xb_col
        ``bi`` is the backlog demand row of each column.
    """
    okb = win.routes[win.bdem_r, win.bdem_k, :]  # (B, C)
    bi, xb_c = (a.astype(np.int64) for a in np.nonzero(okb))
    order = np.lexsort((win.bdem_j[bi], xb_c, win.bdem_k[bi], win.bdem_r[bi]))  # hour fastest
    bi, xb_c = bi[order], xb_c[order]
    xb_r, xb_k, xb_j = win.bdem_r[bi], win.bdem_k[bi], win.bdem_j[bi]
    xb_col = m.cols(len(bi), timed=xb_j, length=win.d_eff[xb_k])
    return bi, xb_r, xb_k, xb_c, xb_j, xb_col


def define_queue_columns(
    m: CooModel, win: Window, nc: int, nt: int
) -> tuple[IdArray, IdArray, list[IdArray]]:
    """Batch queue columns of each deadline group g.

    Returns
    -------
    z_col : (G, C, T)
        Batch work executed in hour t.
    b_col : (G, C, T)
        Backlog at the end of hour t.
    i_col : list of (C, T - s_min[g])
        Inflow of virtual arrival hour s.
    """
    ng = win.n_groups
    z_col = m.cols((ng, nc, nt), timed=True)
    b_col = m.cols((ng, nc, nt), timed=True)
    i_col = [m.cols((nc, nt - int(win.s_min[g])), timed=True) for g in range(ng)]
    return z_col, b_col, i_col


def define_cluster_columns(m: CooModel, w: PlanWeights, nc: int, nt: int) -> tuple[IdArray, ...]:
    """Cluster-hour columns: busy load L, active servers a, grid energy g, switching up/dn.

    Returns
    -------
    load_col, a_col, g_col : (C, T)
    up_col, dn_col : (C, T - 1)
        Empty (C, 0) unless switching is priced and the window has more than one hour.
    """
    load_col = m.cols((nc, nt), timed=True)
    a_col = m.cols((nc, nt), timed=True)
    g_col = m.cols((nc, nt), timed=True)
    if w.switching_cny_per_server > 0 and nt > 1:
        up_col = m.cols((nc, nt - 1), timed=True)
        dn_col = m.cols((nc, nt - 1), timed=True)
    else:
        up_col = dn_col = np.zeros((nc, 0), np.int64)
    return load_col, a_col, g_col, up_col, dn_col


def define_demand_rows(
    m: CooModel, win: Window, w: PlanWeights, nt: int, x: tuple[IdArray, ...], xb: tuple[IdArray, ...]
) -> tuple[IdArray, IdArray, IdArray]:
    """Demand rows: sum_c x + u = d, per (r, k, t) and per backlog (r, k, j).

    Adds the unserved columns u (one per row, after every other column so far) unless
    ``w.unserved_cny_per_sh`` is infinite (hard demand).

    Returns
    -------
    dem_row : (R, K, T)
        -1 where no row.
    bdem_row : (B,)
    u_col : (rows,)
        Demand rows first, then backlog rows; -1 when demand is hard.
    """
    x_r, x_k, _, x_t, x_col = x
    bi, _, _, _, _, xb_col = xb
    has_dem, demand = win.has_dem, win.demand
    dem_row = np.full(demand.shape, -1, dtype=np.int64)
    dem_t = np.nonzero(has_dem)[2]
    dem_row[has_dem] = m.rows(int(has_dem.sum()), demand[has_dem], demand[has_dem], timed=dem_t, length=nt)
    m.add(dem_row[x_r, x_k, x_t], x_col, 1.0)
    bdem_len = win.d_eff[win.bdem_k]
    bdem_row = m.rows(len(win.bdem_r), win.bdem_val, win.bdem_val, timed=win.bdem_j, length=bdem_len)
    m.add(bdem_row[bi], xb_col, 1.0)
    all_dem_rows = np.concatenate([dem_row[has_dem], bdem_row])
    if np.isfinite(w.unserved_cny_per_sh):
        u_pos = np.concatenate([dem_t, win.bdem_j])
        u_len = np.concatenate([np.full(len(dem_t), nt, np.int64), bdem_len])
        u_col = m.cols(len(all_dem_rows), timed=u_pos, length=u_len)
        m.add(all_dem_rows, u_col, 1.0)
    else:
        u_col = np.full(len(all_dem_rows), -1, dtype=np.int64)
    return dem_row, bdem_row, u_col


def define_batch_queue_rows(
    m: CooModel,
    win: Window,
    nc: int,
    nt: int,
    x: tuple[IdArray, ...],
    xb: tuple[IdArray, ...],
    queue: tuple[IdArray, IdArray, list[IdArray]],
) -> None:
    """Per batch queue group: inflow, balance and deadline rows (in that order, group by group).

    - inflow: I[s] = routed arrivals of virtual hour s (backlog due at j arrives at j + 1 - D);
    - balance: b[t] - b[t-1] + z[t] - I[t] = 0 (arrivals before the window join hour 0);
    - deadline: b[t] <= arrivals of the last D - 1 hours (work not yet due), t < T - 1.
    The last hour's backlog is bounded to 0 in :func:`build_lp`.

    A cyclic window (``PlanInputs.cyclic``: a typical day repeated) wraps instead:
    b[-1] is b[T-1], and with D < T every hour's deadline row counts the arrivals
    of the last D - 1 hours around the cycle (served FIFO, backlog no older than
    D - 1 hours is work within its deadline). With D >= T there is no deadline
    row: a periodic schedule that serves each period's arrivals has a version
    with the least backlog, which empties once a period, so no work waits
    longer than one period (T <= D hours); the costs do not depend on the backlog.
    """
    _, x_k, x_c, x_t, x_col = x
    _, _, xb_k, xb_c, xb_j, xb_col = xb
    z_col, b_col, i_col = queue
    xbatch = ~win.lat[x_k]
    for g in range(win.n_groups):
        d, s0 = int(win.group_deadline[g]), int(win.s_min[g])
        in_row = m.rows((nc, nt - s0), 0.0, 0.0, timed=True)  # I[s] - sum of routed arrivals of hour s = 0
        m.add(in_row, i_col[g], 1.0)
        sel = xbatch & (win.class_group[x_k] == g)
        m.add(in_row[x_c[sel], x_t[sel] - s0], x_col[sel], -1.0)
        selb = win.class_group[xb_k] == g
        m.add(in_row[xb_c[selb], xb_j[selb] + 1 - d - s0], xb_col[selb], -1.0)
        bal = m.rows((nc, nt), 0.0, 0.0, timed=True)  # b[t] - b[t-1] + z[t] - I[t] (- I[s<0] at t=0) = 0
        m.add(bal, b_col[g], 1.0)
        m.add(bal[:, 1:], b_col[g][:, :-1], -1.0)
        if win.cyclic and nt >= 2:  # b[-1] = b[T-1]: the period's end is its start
            m.add(bal[:, :1], b_col[g][:, -1:], -1.0)
        m.add(bal, z_col[g], 1.0)
        m.add(bal, i_col[g][:, -s0:] if s0 < 0 else i_col[g], -1.0)
        if s0 < 0:
            m.add(bal[:, :1], i_col[g][:, :-s0], -1.0)
        if win.cyclic:
            if 2 <= d < nt:  # b[t] <= sum of I[(t - o) mod T], o < D - 1
                dl = m.rows((nc, nt), -INF, 0.0, timed=True)
                m.add(dl, b_col[g], 1.0)
                tt = np.arange(nt)
                for o in range(d - 1):
                    m.add(dl, i_col[g][:, (tt - o) % nt], -1.0)
        elif d >= 2 and nt >= 2:  # b[t] <= sum of I[s] for s in (t - D + 1, t]
            dl = m.rows((nc, nt - 1), -INF, 0.0, timed=True)
            m.add(dl, b_col[g][:, :-1], 1.0)
            tt = np.arange(nt - 1)
            for o in range(d - 1):
                s = tt - o
                ok = s >= s0
                m.add(dl[:, ok], i_col[g][:, s[ok] - s0], -1.0)


def define_cluster_rows(
    m: CooModel,
    inp: PlanInputs,
    win: Window,
    x: tuple[IdArray, ...],
    z_col: IdArray,
    cl: tuple[IdArray, ...],
) -> tuple[IdArray, IdArray, IdArray]:
    """Cluster-hour rows: load, utilisation, capacity, grid energy, switching (in that order).

    - load: L = latency work routed + batch work executed;
    - utilisation: L <= rho_max a;
    - capacity: a <= servers available;
    - grid energy: g >= alpha a + beta L - green;
    - switching (when priced): a[t] - a[t-1] = up - dn.

    Returns
    -------
    load_row, cap_row, grid_row : (C, T)
    """
    nc, nt = inp.shape[2], inp.shape[3]
    _, x_k, x_c, x_t, x_col = x
    load_col, a_col, g_col, up_col, dn_col = cl
    load_row = m.rows((nc, nt), 0.0, 0.0, timed=True)  # L - sum latency x - sum_g z = 0
    m.add(load_row, load_col, 1.0)
    xl = win.lat[x_k]
    m.add(load_row[x_c[xl], x_t[xl]], x_col[xl], -1.0)
    for g in range(win.n_groups):
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
    m.add(grid_row, a_col, -win.alpha)
    m.add(grid_row, load_col, -win.beta)
    if up_col.size:
        sw = m.rows((nc, nt - 1), 0.0, 0.0, timed=True)  # a[t] - a[t-1] - up + dn = 0
        m.add(sw, a_col[:, 1:], 1.0)
        m.add(sw, a_col[:, :-1], -1.0)
        m.add(sw, up_col, -1.0)
        m.add(sw, dn_col, 1.0)
    return load_row, cap_row, grid_row


def define_bandwidth_rows(
    m: CooModel, inp: PlanInputs, win: Window, x: tuple[IdArray, ...], xb: tuple[IdArray, ...]
) -> IdArray:
    """Bandwidth rows: GB of batch data on a region -> cluster path per hour <= Gbit/s x 450.

    Batch data moves in the hour it is routed; only finite paths that carry data get a
    row. Backlog is work already waiting at the clusters, whose data moved when it was
    routed: it loads no path.

    Returns
    -------
    bw_row : (R, C, T)
        -1 where no row.
    """
    nr, _, nc, nt = inp.shape
    x_r, x_k, x_c, x_t, x_col = x
    data = np.asarray(inp.data_gb_per_sh, dtype=float)
    bw = np.asarray(inp.bandwidth_gbps, dtype=float)
    bw_row = np.full((nr, nc, nt), -1, dtype=np.int64)
    xd = ~win.lat[x_k] & (data[x_k] > 0) & np.isfinite(bw[x_r, x_c])
    need = np.zeros((nr, nc, nt), dtype=bool)
    need[x_r[xd], x_c[xd], x_t[xd]] = True
    limit = np.broadcast_to((bw * 3600.0 / 8.0)[:, :, None], need.shape)
    bw_row[need] = m.rows(int(need.sum()), -INF, limit[need], timed=np.nonzero(need)[2], length=nt)
    m.add(bw_row[x_r[xd], x_c[xd], x_t[xd]], x_col[xd], data[x_k[xd]])
    return bw_row


def define_hard_caps(
    m: CooModel, inp: PlanInputs, w: PlanWeights, win: Window, cl: tuple[IdArray, ...], elastic: bool
) -> tuple[dict[str, int], dict[str, int]]:
    """One row per optional hard cap of ``w``: max_tco2, min_green_share, min_west_share, hub quotas.

    With ``elastic`` each cap also gets a slack column relaxing it in its binding
    direction (priced in :func:`models.plan.terms.cap_slack`).

    Returns
    -------
    cap_rows, cap_slack_cols : dict
        Cap name -> its row, and -> its slack column (elastic only).
    """
    nc, nt = inp.shape[2], inp.shape[3]
    load_col, a_col, g_col, _, _ = cl
    cap_rows: dict[str, int] = {}
    cap_slack: dict[str, int] = {}

    def cap(name: str, lo: float, hi: float, cols: IdArray, vals: FloatArray) -> None:
        row = int(m.rows(1, lo, hi)[0])
        m.add(np.full(cols.size, row), cols.ravel(), vals.ravel())
        cap_rows[name] = row
        if elastic:  # slack that relaxes the cap in its binding direction
            sc = int(m.cols(1)[0])
            m.add(np.array([row]), np.array([sc]), -1.0 if np.isfinite(hi) else 1.0)
            cap_slack[name] = sc

    if w.max_tco2 is not None:
        cap("max_tco2", -INF, w.max_tco2, g_col, np.asarray(inp.grid_kgco2_per_kwh, dtype=float) / 1000.0)
    if w.min_green_share is not None:  # sum (e - g) >= s sum e, e = alpha a + beta L
        f = 1.0 - w.min_green_share
        cap(
            "min_green_share",
            0.0,
            INF,
            np.concatenate([a_col, load_col, g_col]),
            np.concatenate([f * win.alpha, f * win.beta, -np.ones((nc, nt))]),
        )
    if w.min_west_share is not None:  # sum_west L >= s sum L
        west = np.asarray(inp.cluster_west, dtype=bool)
        coef = np.where(west, 1.0 - w.min_west_share, -w.min_west_share)[:, None] * np.ones((nc, nt))
        cap("min_west_share", 0.0, INF, load_col, coef)
    for hub, q in sorted((w.hub_quota_sh or {}).items()):
        on = np.array([h == hub for h in inp.cluster_hub])
        cap(f"hub_quota_sh[{hub}]", -INF, float(q), load_col[on], np.ones((int(on.sum()), nt)))
    return cap_rows, cap_slack


def define_objective(
    inp: PlanInputs, w: PlanWeights, win: Window, layout: Layout, n_cols: int
) -> tuple[FloatArray, tuple[CostTerm, ...]]:
    """The objective, set once every column exists: the cost vector and the terms it sums.

    Each term (:mod:`models.plan.terms`) names its columns and their CNY per unit;
    the cost of a column is the sum over the terms that price it.
    """
    terms = objective_terms(inp, w, layout, win.alpha, win.beta)
    return objective(n_cols, terms), terms


def build_lp(inp: PlanInputs, w: PlanWeights, elastic: bool = False) -> SparseLP:
    """The planning LP of ``docs/lp.md``; ``elastic`` adds priced slack to every hard cap.

    Parameters
    ----------
    inp : PlanInputs
        One window.
    w : PlanWeights
        Objective weights and optional hard caps.
    elastic : bool
        Add a slack column to every hard cap (diagnosis of infeasible plans).

    Returns
    -------
    SparseLP
        Columns: routes, backlog routes, queues, cluster-hours, unserved, cap slack.
        Rows: demand, batch queues, cluster-hours, bandwidth, caps. In that order.
    """
    _, _, nc, nt = inp.shape
    win = prepare_window(inp)
    m = CooModel()
    x = define_routing_columns(m, win, nt)
    xb = define_backlog_routing_columns(m, win)
    queue = define_queue_columns(m, win, nc, nt)
    cl = define_cluster_columns(m, w, nc, nt)
    dem_row, bdem_row, u_col = define_demand_rows(m, win, w, nt, x, xb)
    define_batch_queue_rows(m, win, nc, nt, x, xb, queue)
    load_row, cap_row, grid_row = define_cluster_rows(m, inp, win, x, queue[0], cl)
    bw_row = define_bandwidth_rows(m, inp, win, x, xb)
    cap_rows, cap_slack = define_hard_caps(m, inp, w, win, cl, elastic)

    col_hi, row_lo, row_hi, indptr, indices, vals = m.finish()
    col_pos, col_len, row_pos, row_len = m.hour_runs()
    z_col, b_col, i_col = queue
    for g in range(win.n_groups):  # no backlog after the window (unless it wraps), nor with D = 1
        if not win.cyclic:
            col_hi[b_col[g][:, -1]] = 0.0
        if win.group_deadline[g] == 1:
            col_hi[b_col[g]] = 0.0
    x_r, x_k, x_c, x_t, x_col = x
    bi, xb_r, xb_k, xb_c, xb_j, xb_col = xb
    if win.bdem_at is not None:  # pinned backlog: served only where it waits
        col_hi[xb_col] = win.bdem_at[bi, xb_c]
    load_col, a_col, g_col, up_col, dn_col = cl
    layout = Layout(
        x_r=x_r, x_k=x_k, x_c=x_c, x_t=x_t, x_col=x_col,
        xb_r=xb_r, xb_k=xb_k, xb_c=xb_c, xb_j=xb_j, xb_col=xb_col,
        dem_row=dem_row, bdem_r=win.bdem_r, bdem_k=win.bdem_k, bdem_j=win.bdem_j, bdem_row=bdem_row,
        u_col=u_col, group_deadline=win.group_deadline, class_group=win.class_group, s_min=win.s_min,
        z_col=z_col, b_col=b_col, i_col=i_col,
        load_col=load_col, a_col=a_col, g_col=g_col, up_col=up_col, dn_col=dn_col,
        load_row=load_row, cap_row=cap_row, grid_row=grid_row, bw_row=bw_row,
        cap_rows=cap_rows, cap_slack_cols=cap_slack,
        col_pos=col_pos, col_len=col_len, row_pos=row_pos, row_len=row_len,
    )  # fmt: skip
    cost, terms = define_objective(inp, w, win, layout, m.n_cols)
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
        alpha=win.alpha,
        beta=win.beta,
        terms=terms,
    )
