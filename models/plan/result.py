"""Read a solved planning LP back into arrays: :class:`PlanResult`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from models.plan.build import FloatArray, SparseLP
from models.plan.inputs import PlanInputs, PlanWeights
from models.plan.solve import RawSolution
from models.plan.terms import TERMS, route_cost

__all__ = ["TERMS", "PlanResult", "fifo_split", "read_result"]


@dataclass(frozen=True)
class PlanResult:
    """A plan for one window. Arrays are zeros when ``has_solution`` is False."""

    status: str
    has_solution: bool
    objective: float
    terms: dict[str, float]  # the objective split into its terms (CNY; models.plan.terms), summing to it
    region_ids: tuple[str, ...]
    class_names: tuple[str, ...]
    cluster_ids: tuple[str, ...]
    work_sh: FloatArray  # (R, K, C, T) placed work by execution hour
    routed_sh: FloatArray  # (R, K, C, T) placed work by arrival hour (what fractions() divides)
    unserved_sh: FloatArray  # (R, K) over the window (incl. backlog)
    active_servers: FloatArray  # (C, T)
    energy_kwh: FloatArray  # (C, T) facility energy
    grid_kwh: FloatArray  # (C, T)
    cost_cny: FloatArray  # (C, T) tariff x facility energy
    tco2: FloatArray  # (C, T)
    capacity_dual: FloatArray  # (C, T) CNY per extra server available in that cluster-hour (>= 0)
    slo_dual: dict[str, float]  # latency class -> CNY/sh gain of admitting the next-nearest cluster
    carbon_cap_dual: float | None  # CNY per tCO2 of extra cap (>= 0), None without max_tco2
    cap_duals: dict[str, float]  # every hard cap's dual (>= 0 when binding)
    n_variables: int
    n_constraints: int
    build_s: float
    solve_s: float
    solver: str
    diagnosis: str | None = None
    t0_hour: int = 0
    backlog_routed_sh: FloatArray = field(default_factory=lambda: np.zeros(0))  # (R, K, C)

    @property
    def n_hours(self) -> int:
        return int(self.active_servers.shape[1])

    def head(self, hours: int) -> PlanResult:
        """The plan of its first ``hours`` hours (copies, so the whole window's arrays can go).

        Window totals (``unserved_sh``, ``terms``, ``objective``) and the backlog's
        placement stay those of the whole window.
        """
        h = max(0, min(int(hours), self.n_hours))

        def cut(a: FloatArray) -> FloatArray:
            return np.array(a[..., :h])

        return replace(
            self,
            work_sh=cut(self.work_sh),
            routed_sh=cut(self.routed_sh),
            active_servers=cut(self.active_servers),
            energy_kwh=cut(self.energy_kwh),
            grid_kwh=cut(self.grid_kwh),
            cost_cny=cut(self.cost_cny),
            tco2=cut(self.tco2),
            capacity_dual=cut(self.capacity_dual),
        )

    def fractions(self, r: int, k: int, t: int) -> FloatArray:
        """(C,) shares of the work of region r, class k arriving in hour t, by cluster.

        Zeros when nothing of it is placed (no demand, or all unserved): the
        caller then falls back to its own rule.
        """
        row = self.routed_sh[r, k, :, t]
        s = float(row.sum())
        return row / s if s > 1e-12 else np.zeros_like(row)

    def to_frame(self) -> pd.DataFrame:
        """One row per region, class, cluster, hour with placed work (nonzero rows only).

        Cluster-hour energy, cost and carbon are shared out by each row's share of
        the cluster-hour load (idle power included).
        """
        return pd.DataFrame(self.to_columns())

    def to_columns(self) -> dict[str, np.ndarray]:
        """:meth:`to_frame`'s columns as arrays (cheaper to keep and to concatenate)."""
        w = self.work_sh
        r, k, c, t = np.nonzero(w > 1e-9)
        load = w.sum(axis=(0, 1))  # (C, T)
        share = w[r, k, c, t] / np.maximum(load[c, t], 1e-12)
        return {
            "region": np.asarray(self.region_ids, dtype=object)[r],
            "class": np.asarray(self.class_names, dtype=object)[k],
            "cluster": np.asarray(self.cluster_ids, dtype=object)[c],
            "hour": (t + self.t0_hour).astype(np.int64),
            "work_sh": w[r, k, c, t],
            "energy_kwh": self.energy_kwh[c, t] * share,
            "cost_cny": self.cost_cny[c, t] * share,
            "tco2": self.tco2[c, t] * share,
        }


def fifo_split(arr_sh: FloatArray, z: FloatArray) -> FloatArray:
    """Split executed work ``z[..., t]`` over arrival slots in first-in-first-out order.

    ``arr_sh[..., s]`` arrives in slot s (slots sorted by due time); returns
    M[..., s, t], the part of slot s executed in hour t. Leading axes are
    independent queues (e.g. one per cluster), split at once.
    """
    a_cum = np.concatenate([np.zeros((*arr_sh.shape[:-1], 1)), np.cumsum(arr_sh, axis=-1)], axis=-1)
    z_cum = np.concatenate([np.zeros((*z.shape[:-1], 1)), np.cumsum(z, axis=-1)], axis=-1)
    hi = np.minimum(a_cum[..., 1:, None], z_cum[..., None, 1:])
    lo = np.maximum(a_cum[..., :-1, None], z_cum[..., None, :-1])
    return np.asarray(np.maximum(hi - lo, 0.0))


def read_result(
    inp: PlanInputs,
    w: PlanWeights,
    lp: SparseLP,
    sol: RawSolution,
    solver: str,
    build_s: float,
    diagnosis: str | None = None,
) -> PlanResult:
    nr, nk, nc, nt = inp.shape
    L = lp.layout
    v = np.maximum(sol.col_value, 0.0) if sol.has_solution else np.zeros(lp.n_cols)
    y = sol.row_dual if sol.has_solution else np.zeros(lp.n_rows)
    lat = np.asarray(inp.is_latency, dtype=bool)

    routed = np.zeros((nr, nk, nc, nt))
    routed[L.x_r, L.x_k, L.x_c, L.x_t] = v[L.x_col] + 0.0  # one column each (+ 0.0: no -0.0)
    work = np.where(lat[None, :, None, None], routed, 0.0)
    broute = np.zeros((nr, nk, nc))
    np.add.at(broute, (L.xb_r, L.xb_k, L.xb_c), v[L.xb_col])
    # batch: FIFO over each queue's virtual arrival slots recovers the (r, k) of executed work,
    # all clusters of a deadline group at once
    for g, d in enumerate(L.group_deadline):
        s0 = int(L.s_min[g])
        ks = np.nonzero(L.class_group == g)[0]
        slots = np.zeros((nc, nr, len(ks), nt - s0))  # (c, r, k, s - s0)
        slots[..., -s0 if s0 < 0 else 0 :] = routed[:, ks].transpose(2, 0, 1, 3)
        sel = L.class_group[L.xb_k] == g
        if sel.any():
            kk = np.searchsorted(ks, L.xb_k[sel])
            at = (L.xb_c[sel], L.xb_r[sel], kk, L.xb_j[sel] + 1 - int(d) - s0)
            np.add.at(slots, at, v[L.xb_col[sel]])
        tot = slots.sum(axis=(1, 2))  # (C, S)
        on = np.flatnonzero(tot.sum(axis=1) > 0)  # clusters that execute some of the group
        if not on.size:
            continue
        m = fifo_split(tot[on], v[L.z_col[g, on]])  # (C_on, S, T)
        frac = slots[on] / np.maximum(tot[on, None, None, :], 1e-300)  # (C_on, R, Kg, S)
        for i, c in enumerate(on):
            work[:, ks, c, :] += np.einsum("rks,st->rkt", frac[i], m[i])

    unserved = np.zeros((nr, nk))
    if np.all(L.u_col >= 0) and len(L.u_col):
        rr, kk, _ = np.nonzero(L.dem_row >= 0)
        nd = len(rr)
        np.add.at(unserved, (rr, kk), v[L.u_col[:nd]])
        np.add.at(unserved, (L.bdem_r, L.bdem_k), v[L.u_col[nd:]])

    a = v[L.a_col]
    load = v[L.load_col]
    energy = lp.alpha * a + lp.beta * load
    # the grid energy the plan implies (g may sit above it where nothing prices it)
    grid = np.maximum(energy - np.asarray(inp.green_kw, dtype=float), 0.0)
    tariff = np.asarray(inp.tariff_cny_per_kwh, dtype=float)
    tco2 = np.asarray(inp.grid_kgco2_per_kwh, dtype=float) * grid / 1000.0
    cost = tariff * energy  # facility energy x tariff, as the run accounts it
    # each term's value at the solution, from the same coefficients as the cost vector
    terms = lp.term_values(v)
    cap_duals = {name: float(abs(y[row])) for name, row in L.cap_rows.items()}
    return PlanResult(
        status=sol.status,
        has_solution=sol.has_solution,
        objective=float(lp.cost @ v) if sol.has_solution else float("nan"),
        terms=terms,
        region_ids=inp.region_ids,
        class_names=inp.class_names,
        cluster_ids=inp.cluster_ids,
        work_sh=work,
        routed_sh=routed,
        unserved_sh=unserved,
        active_servers=a,
        energy_kwh=energy,
        grid_kwh=grid,
        cost_cny=cost,
        tco2=tco2,
        capacity_dual=np.maximum(-y[L.cap_row], 0.0),
        slo_dual=_slo_dual(inp, w, lp, y),
        carbon_cap_dual=cap_duals.get("max_tco2"),
        cap_duals=cap_duals,
        n_variables=lp.n_cols,
        n_constraints=lp.n_rows,
        build_s=build_s,
        solve_s=sol.solve_s,
        solver=solver,
        diagnosis=diagnosis,
        backlog_routed_sh=broute,
    )


def _slo_dual(inp: PlanInputs, w: PlanWeights, lp: SparseLP, y: FloatArray) -> dict[str, float]:
    """Per latency class: the largest gain (CNY per sh) of routing to the next-nearest excluded cluster.

    Prices the missing column x[r,k,c*,t] at the optimal duals: its reduced cost is
    cost - pi_demand[r,k,t] + pi_load[c*,t]; the gain is max(0, -reduced cost),
    the maximum over regions and hours. 0 when no excluded route would pay.
    """
    L = lp.layout
    rtt = np.asarray(inp.rtt_ms, dtype=float)
    rcost = route_cost(inp, w)
    regions = np.arange(rtt.shape[0])
    out: dict[str, float] = {}
    for k in np.nonzero(np.asarray(inp.is_latency, dtype=bool))[0]:
        masked = np.where(rtt > float(inp.slo_ms[k]), rtt, np.inf)
        c = np.argmin(masked, axis=1)  # (R,) each region's nearest excluded cluster
        rows = L.dem_row[:, k]  # (R, T)
        ok = (rows >= 0) & np.isfinite(masked[regions, c])[:, None]
        rc = rcost[regions, k, c][:, None] - y[rows] + y[L.load_row[c]]  # (R, T) reduced costs
        out[inp.class_names[k]] = max(0.0, float(np.max(-rc[ok]))) if ok.any() else 0.0
    return out
