"""Read a solved expansion LP back: builds, annual costs, utilisation and duals."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.plan.expansion.build import ExpansionLP
from models.plan.expansion.inputs import ExpansionInputs
from models.plan.inputs import FloatArray, PlanWeights
from models.plan.result import PlanResult, read_result
from models.plan.solve import RawSolution

__all__ = ["TERMS", "ExpansionResult", "read_expansion"]

TERMS = (
    "capex_servers_cny",
    "capex_bandwidth_cny",
    "energy_cny",
    "carbon_cny",
    "latency_cny",
    "transfer_cny",
    "unserved_cny",
)


@dataclass(frozen=True)
class ExpansionResult:
    """What to build, what it costs a year and what each constraint is worth.

    Per-cluster arrays have shape (C,); energy, cost and carbon are annual
    (typical days times their weights). Duals are in annual CNY.
    """

    status: str
    has_solution: bool
    objective_cny: float
    terms: dict[str, float]
    cluster_ids: tuple[str, ...]
    class_names: tuple[str, ...]
    cluster_west: np.ndarray
    installed_servers: FloatArray
    new_servers: FloatArray
    new_mw: FloatArray
    capex_cny_per_year: FloatArray
    utilisation: FloatArray  # annual busy server-hours / (hours x installed + new servers)
    load_sh: FloatArray
    energy_kwh: FloatArray
    grid_kwh: FloatArray
    cost_cny: FloatArray  # tariff x grid energy
    tco2: FloatArray
    capacity_value_cny_per_server_year: FloatArray  # sum of the capacity rows' duals
    build_limit_dual_cny_per_server: FloatArray  # value of raising a binding build limit by one server
    slo_dual: dict[str, float]  # CNY per sh of the class (max over typical days)
    target_duals: dict[str, float]
    target_units: dict[str, str]
    demand_sh: FloatArray  # (K,) annual demand per class
    unserved_sh: FloatArray  # (K,) annual unserved work per class
    bandwidth: pd.DataFrame  # region, cluster, new_gbps, capex_cny_per_year (rows only if built)
    n_variables: int
    n_constraints: int
    build_s: float
    solve_s: float
    solver: str
    day_plans: tuple[PlanResult, ...] = field(default_factory=tuple)
    diagnosis: str | None = None
    target_slack: dict[str, float] = field(default_factory=dict)  # infeasible: how far each target is off

    @property
    def served_share(self) -> dict[str, float]:
        """Per class: share of the year's demand the plan serves within its SLO route / deadline."""
        return {
            k: (1.0 - float(u) / float(d)) if d > 0 else 1.0
            for k, d, u in zip(self.class_names, self.demand_sh, self.unserved_sh, strict=True)
        }

    def to_frame(self) -> pd.DataFrame:
        """``expansion.parquet``: one row per cluster, then one per extended path."""
        df = pd.DataFrame(
            {
                "kind": "cluster",
                "cluster": list(self.cluster_ids),
                "region": None,
                "side": np.where(self.cluster_west, "west", "east"),
                "installed_servers": self.installed_servers,
                "new_servers": self.new_servers,
                "new_mw": self.new_mw,
                "new_gbps": 0.0,
                "capex_cny_per_year": self.capex_cny_per_year,
                "utilisation": self.utilisation,
                "energy_kwh": self.energy_kwh,
                "cost_cny": self.cost_cny,
                "tco2": self.tco2,
                "capacity_value_cny_per_server_year": self.capacity_value_cny_per_server_year,
            }
        )
        if len(self.bandwidth):
            bw = pd.DataFrame(
                {
                    "kind": "path",
                    "cluster": self.bandwidth["cluster"],
                    "region": self.bandwidth["region"],
                    "side": [
                        "west" if self.cluster_west[self.cluster_ids.index(c)] else "east"
                        for c in self.bandwidth["cluster"]
                    ],
                    "new_gbps": self.bandwidth["new_gbps"],
                    "capex_cny_per_year": self.bandwidth["capex_cny_per_year"],
                }
            )
            df = pd.concat([df, bw], ignore_index=True)
        num = [c for c in df.columns if c not in ("kind", "cluster", "region", "side")]
        df[num] = df[num].astype(float).fillna(0.0)
        df["region"] = df["region"].astype(object)
        return df


def _day_solution(
    sol: RawSolution, b_col0: int, b_row0: int, n_cols: int, n_rows: int, w: float
) -> RawSolution:
    """The part of the stacked solution that belongs to one day, duals per occurrence of the day."""
    return RawSolution(
        status=sol.status,
        has_solution=sol.has_solution,
        col_value=sol.col_value[b_col0 : b_col0 + n_cols],
        col_dual=sol.col_dual[b_col0 : b_col0 + n_cols] / w,
        row_dual=sol.row_dual[b_row0 : b_row0 + n_rows] / w,
        solve_s=0.0,
    )


def read_expansion(
    inp: ExpansionInputs,
    w: PlanWeights,
    m: ExpansionLP,
    sol: RawSolution,
    solver: str,
    build_s: float,
    diagnosis: str | None = None,
) -> ExpansionResult:
    """Annual totals from the days' plans (each read back with the operating planner's reader)."""
    nc = inp.n_clusters
    first = inp.days[0]
    nk = len(first.class_names)
    ok = sol.has_solution
    v = np.maximum(sol.col_value, 0.0) if ok else np.zeros(m.lp.n_cols)
    plans: list[PlanResult] = []
    load = np.zeros(nc)
    energy = np.zeros(nc)
    grid = np.zeros(nc)
    cost = np.zeros(nc)
    tco2 = np.zeros(nc)
    cap_value = np.zeros(nc)
    demand = np.zeros(nk)
    unserved = np.zeros(nk)
    terms = dict.fromkeys(TERMS, 0.0)
    slo: dict[str, float] = {}
    for b, day in zip(m.days, inp.days, strict=True):
        part = _day_solution(sol, b.col0, b.row0, b.lp.n_cols, b.lp.n_rows, b.weight)
        p = b.unpool(read_result(b.inputs, w, b.lp, part, solver, 0.0), day)
        plans.append(p)
        wt = b.weight
        load += wt * p.work_sh.sum(axis=(0, 1, 3))
        energy += wt * p.energy_kwh.sum(axis=1)
        grid += wt * p.grid_kwh.sum(axis=1)
        cost += wt * p.cost_cny.sum(axis=1)
        tco2 += wt * p.tco2.sum(axis=1)
        cap_value += wt * p.capacity_dual.sum(axis=1)
        demand += wt * day.demand_sh.sum(axis=(0, 2))
        unserved += wt * p.unserved_sh.sum(axis=0)
        for k in ("energy_cny", "carbon_cny", "latency_cny", "transfer_cny", "unserved_cny"):
            terms[k] += wt * p.terms[k]
        for k, val in p.slo_dual.items():
            slo[k] = max(slo.get(k, 0.0), float(val))
    n = v[m.n_col]
    capex = n * np.asarray(inp.capex_cny_per_server_year, dtype=float)
    terms["capex_servers_cny"] = float(capex.sum())
    y = v[m.bw_col]
    bw_cost = y * float(inp.bandwidth_cny_per_gbps_year or 0.0)
    terms["capex_bandwidth_cny"] = float(bw_cost.sum())
    built = y > 1e-6
    bandwidth = pd.DataFrame(
        {
            "region": np.asarray(first.region_ids, dtype=object)[m.bw_r[built]],
            "cluster": np.asarray(first.cluster_ids, dtype=object)[m.bw_c[built]],
            "new_gbps": y[built],
            "capex_cny_per_year": bw_cost[built],
        }
    )
    total_servers = np.asarray(inp.installed_servers, dtype=float) + n
    util = load / np.maximum(inp.hours_per_year * total_servers, 1e-12)
    rows = sol.row_dual if ok else np.zeros(m.lp.n_rows)
    tduals = {name: float(abs(rows[r])) for name, r in m.target_rows.items()}
    limit_dual = np.maximum(-(sol.col_dual[m.n_col] if ok else np.zeros(nc)), 0.0)
    return ExpansionResult(
        status=sol.status,
        has_solution=ok,
        objective_cny=float(m.lp.cost @ v) if ok else float("nan"),
        terms=terms,
        cluster_ids=first.cluster_ids,
        class_names=first.class_names,
        cluster_west=np.asarray(first.cluster_west, dtype=bool),
        installed_servers=np.asarray(inp.installed_servers, dtype=float),
        new_servers=n,
        new_mw=n * np.asarray(inp.mw_per_server, dtype=float),
        capex_cny_per_year=capex,
        utilisation=util,
        load_sh=load,
        energy_kwh=energy,
        grid_kwh=grid,
        cost_cny=cost,
        tco2=tco2,
        capacity_value_cny_per_server_year=cap_value,
        build_limit_dual_cny_per_server=limit_dual,
        slo_dual=slo,
        target_duals=tduals,
        target_units=dict(m.target_units),
        demand_sh=demand,
        unserved_sh=unserved,
        bandwidth=bandwidth,
        n_variables=m.lp.n_cols,
        n_constraints=m.lp.n_rows,
        build_s=build_s,
        solve_s=sol.solve_s,
        solver=solver,
        day_plans=tuple(plans),
        diagnosis=diagnosis,
    )
