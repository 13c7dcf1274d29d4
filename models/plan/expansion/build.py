"""Build the expansion LP: the operating LP of every typical day, stacked, plus what is built.

Each typical day is the operational planner's own LP (:func:`models.plan.build.build_lp`:
SLO routes, deadlines, capacity x rho_max, PUE, green supply, bandwidth), its costs
multiplied by the number of days it stands for. The days share the build columns:

- ``n[c]`` new servers: in every capacity row ``a[d,c,t] - n[c] <= N0[c]``; in every grid
  row the green supply new servers bring (``g >= e - G0 - gamma n``);
- ``y[r,c]`` new Gbit/s on a path (optional): in every bandwidth row of the path;
- annual target rows (``Targets``) over weighted sums of the days' columns.

The whole model is one :class:`~models.plan.build.SparseLP`, so the PuLP and highspy
paths of :mod:`models.plan.solve` solve it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from models.plan.build import CAP_SLACK_CNY, IdArray, SparseLP, build_lp
from models.plan.expansion.inputs import ExpansionInputs
from models.plan.inputs import FloatArray, PlanInputs, PlanWeights
from models.plan.pool import (
    can_pool_batch,
    latency_groups,
    pool_batch,
    pool_latency,
    unpool_latency,
    unpool_result,
)
from models.plan.result import PlanResult

__all__ = ["DayBlock", "ExpansionLP", "build_expansion"]

INF = float("inf")
GB_PER_GBPS_HOUR = 3600.0 / 8.0


@dataclass
class DayBlock:
    """One typical day inside the stacked model: its own LP and where it sits."""

    inputs: PlanInputs  # as built (latency classes and batch demand possibly pooled)
    lp: SparseLP  # the day's LP with unscaled costs (its layout indexes day-local positions)
    col0: int
    row0: int
    weight: float
    latency_groups: list[list[int]] = field(default_factory=list)  # classes merged (pool_latency)
    latency_inputs: PlanInputs | None = None  # the day after merging them, before batch pooling

    def unpool(self, res: PlanResult, day: PlanInputs) -> PlanResult:
        """The day's plan of the LP as built, shared back to the regions and classes of ``day``."""
        lat_inp = self.latency_inputs if self.latency_inputs is not None else day
        if self.inputs is not lat_inp:
            res = unpool_result(res, lat_inp)
        return unpool_latency(res, day, self.latency_groups) if self.latency_groups else res


@dataclass
class ExpansionLP:
    """The stacked model and the index maps needed to read it back."""

    lp: SparseLP
    days: list[DayBlock]
    n_col: IdArray  # (C,) new servers
    bw_r: IdArray  # paths that may be extended
    bw_c: IdArray
    bw_col: IdArray
    target_rows: dict[str, int] = field(default_factory=dict)
    target_slack_cols: dict[str, int] = field(default_factory=dict)
    target_units: dict[str, str] = field(default_factory=dict)


def _day_lp(
    day: PlanInputs, w: PlanWeights, pool: bool
) -> tuple[PlanInputs, SparseLP, list[list[int]], PlanInputs]:
    """A day's LP: latency classes the LP cannot tell apart merged, batch demand pooled (exact)."""
    groups = latency_groups(day) if pool else []
    lat_inp = pool_latency(day, groups) if groups else day
    inp = pool_batch(lat_inp) if pool and can_pool_batch(lat_inp, w) else lat_inp
    return inp, build_lp(inp, w), groups, lat_inp


def build_expansion(
    inp: ExpansionInputs, w: PlanWeights, elastic: bool = False, pool: bool = True
) -> ExpansionLP:
    """The expansion LP of ``docs/expansion.md``; ``elastic`` prices slack on every target."""
    nc = inp.n_clusters
    w_op = replace(w, max_tco2=None, min_green_share=None, min_west_share=None, hub_quota_sh=None)
    blocks: list[DayBlock] = []
    cost, col_hi, row_lo, row_hi = [], [], [], []
    ri, ci, vv = [], [], []
    n_cols = n_rows = 0
    for d, day in enumerate(inp.days):
        dinp, lp, groups, lat_inp = _day_lp(day, w_op, pool)
        weight = float(inp.day_weight[d])
        blocks.append(DayBlock(dinp, lp, n_cols, n_rows, weight, groups, lat_inp))
        cost.append(lp.cost * weight)
        col_hi.append(lp.col_hi)
        row_lo.append(lp.row_lo)
        row_hi.append(lp.row_hi)
        ri.append(np.repeat(np.arange(lp.n_rows, dtype=np.int64), np.diff(lp.indptr)) + n_rows)
        ci.append(lp.indices + n_cols)
        vv.append(lp.data)
        n_cols += lp.n_cols
        n_rows += lp.n_rows

    def new_cols(n: int, c: float | FloatArray, hi: float | FloatArray) -> IdArray:
        nonlocal n_cols
        ids = np.arange(n_cols, n_cols + n, dtype=np.int64)
        n_cols += n
        cost.append(np.broadcast_to(np.asarray(c, dtype=float), (n,)).copy())
        col_hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (n,)).copy())
        return ids

    def new_row(lo: float, hi: float) -> int:
        nonlocal n_rows
        row_lo.append(np.array([lo]))
        row_hi.append(np.array([hi]))
        n_rows += 1
        return n_rows - 1

    def add(rows: IdArray | int, cols: IdArray | int, vals: float | FloatArray) -> None:
        r, c, v = np.broadcast_arrays(np.asarray(rows), np.asarray(cols), np.asarray(vals, dtype=float))
        ri.append(r.ravel().astype(np.int64))
        ci.append(c.ravel().astype(np.int64))
        vv.append(v.ravel().astype(float))

    # --- new servers: a[d,c,t] - n[c] <= N0[c]; green they bring enters the grid rows ---
    n_col = new_cols(nc, inp.capex_cny_per_server_year, inp.new_server_limit())
    for d, b in enumerate(blocks):
        L = b.lp.layout
        add(L.cap_row + b.row0, n_col[:, None], -1.0)
        if inp.green_kw_per_new_server is not None:
            add(L.grid_row + b.row0, n_col[:, None], -inp.green_kw_per_new_server[d])
    # --- a site's server pools share its limits: sum n[c] <= N_site, sum mw[c] n[c] <= MW_site ---
    site_servers, site_mw = inp.site_servers(), inp.site_mw()
    for site, cols in inp.site_columns().items():
        if len(cols) < 2:
            continue  # a one-pool site's limits are its column's bounds (new_server_limit)
        if np.isfinite(site_servers[site]):
            add(new_row(-INF, float(site_servers[site])), n_col[cols], 1.0)
        if np.isfinite(site_mw[site]):
            add(new_row(-INF, float(site_mw[site])), n_col[cols], np.asarray(inp.mw_per_server)[cols])

    # --- new path bandwidth: sum nu x - 450 y[r,c] <= 450 B0 ---
    nr = len(inp.days[0].region_ids)
    bw_r = bw_c = bw_col = np.zeros(0, np.int64)
    if inp.bandwidth_cny_per_gbps_year is not None:
        has = np.zeros((nr, nc), dtype=bool)
        for b in blocks:
            rows = b.lp.layout.bw_row[:nr]  # pooled region (if any) has no bandwidth rows
            has |= (rows >= 0).any(axis=2)
        bw_r, bw_c = (a.astype(np.int64) for a in np.nonzero(has))
        bw_col = new_cols(len(bw_r), inp.bandwidth_cny_per_gbps_year, inp.max_new_gbps)
        idx = np.full((nr, nc), -1, dtype=np.int64)
        idx[bw_r, bw_c] = bw_col
        for b in blocks:
            rows = b.lp.layout.bw_row[:nr]
            r, c, t = np.nonzero(rows >= 0)
            add(rows[r, c, t] + b.row0, idx[r, c], -GB_PER_GBPS_HOUR)

    # --- annual targets ---
    trows: dict[str, int] = {}
    tslack: dict[str, int] = {}
    units: dict[str, str] = {}
    tg = inp.targets
    ids = inp.cluster_ids

    def target(name: str, lo: float, hi: float, unit: str) -> int:
        row = new_row(lo, hi)
        trows[name] = row
        units[name] = unit
        if elastic:
            sc = int(new_cols(1, CAP_SLACK_CNY, INF)[0])
            add(row, sc, -1.0 if np.isfinite(hi) else 1.0)
            tslack[name] = sc
        return row

    idle_kws = inp.days[0].idle_kw
    dyn_kws = inp.days[0].peak_kw - idle_kws
    if tg.pue_max is not None:  # sum w (PUE - cap) IT <= 0
        for j in (int(x) for x in np.nonzero(np.isfinite(tg.pue_max))[0]):
            row = target(f"pue_max[{ids[j]}]", -INF, 0.0, "kWh of facility energy above the cap")
            for b in blocks:
                L = b.lp.layout
                f = b.weight * (np.asarray(b.inputs.pue[j], dtype=float) - float(tg.pue_max[j]))
                add(row, L.a_col[j] + b.col0, f * idle_kws[j])
                add(row, L.load_col[j] + b.col0, f * dyn_kws[j])
    if tg.min_occupancy is not None:  # sum w L - occ H n >= occ H N0
        hours = inp.hours_per_year
        for j in (int(x) for x in np.nonzero(np.isfinite(tg.min_occupancy))[0]):
            occ = float(tg.min_occupancy[j])
            row = target(
                f"min_occupancy[{ids[j]}]", occ * hours * float(inp.installed_servers[j]), INF, "server-hours"
            )
            for b in blocks:
                add(row, b.lp.layout.load_col[j] + b.col0, b.weight)
            add(row, int(n_col[j]), -occ * hours)
    if tg.min_green_share is not None:  # sum w ((1 - s) e - g) >= 0 over the clusters counted
        s = tg.min_green_share
        on = np.ones(nc, bool) if tg.green_clusters is None else np.asarray(tg.green_clusters, dtype=bool)
        row = target("min_green_share", 0.0, INF, "kWh of green energy")
        for b in blocks:
            L = b.lp.layout
            add(row, L.a_col[on] + b.col0, (1.0 - s) * b.weight * b.lp.alpha[on])
            add(row, L.load_col[on] + b.col0, (1.0 - s) * b.weight * b.lp.beta[on])
            add(row, L.g_col[on] + b.col0, -b.weight)
    if tg.min_west_share is not None:  # sum w ((1 - s) L_west - s L_east) >= 0
        s = tg.min_west_share
        west = np.asarray(inp.days[0].cluster_west, dtype=bool)
        row = target("min_west_share", 0.0, INF, "server-hours of share-weighted load")
        for b in blocks:
            coef = np.where(west, 1.0 - s, -s)[:, None] * b.weight
            add(row, b.lp.layout.load_col + b.col0, np.broadcast_to(coef, b.lp.layout.load_col.shape))

    r_all = np.concatenate(ri)
    c_all = np.concatenate(ci)
    v_all = np.concatenate(vv)
    order = np.lexsort((c_all, r_all))
    r_all, c_all, v_all = r_all[order], c_all[order], v_all[order]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_all, minlength=n_rows), out=indptr[1:])
    first = blocks[0].lp
    lp = SparseLP(
        cost=np.concatenate(cost),
        col_lo=np.zeros(n_cols),
        col_hi=np.concatenate(col_hi),
        row_lo=np.concatenate(row_lo),
        row_hi=np.concatenate(row_hi),
        indptr=indptr,
        indices=c_all,
        data=v_all,
        layout=first.layout,  # day 0's layout (the solvers do not read it); see ExpansionLP.days
        alpha=first.alpha,
        beta=first.beta,
    )
    return ExpansionLP(lp, blocks, n_col, bw_r, bw_c, bw_col, trows, tslack, units)
