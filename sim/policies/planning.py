"""The rolling-horizon planner inside a run: inputs from the scenario and the engine, records out.

Every ``policy.replan_h`` hours the :class:`Planner` forecasts the next
``policy.lookahead_h`` hours of demand (:func:`models.demand.profiles.forecast_work`,
with the optional forecast error), adds the batch work actually waiting in
the clusters' queues, takes the clusters' current capacity, and solves the LP
(:mod:`models.plan.planner`). The hours of each plan that are executed before the next
replan are kept: they make ``plan.parquet``, the shadow prices and the
planned side of the planned-vs-realised comparison.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.demand.profiles import forecast_work
from models.plan.inputs import PlanError, PlanInputs, PlanWeights
from models.plan.planner import RollingPlanner
from models.plan.result import PlanResult
from sim.policies.lp_params import LpParams
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.engine.policy import EngineView


def plan_weights(scn: Scenario, params: LpParams) -> PlanWeights:
    """The LP's weights: ``policy.weights`` (the planner's names), the carbon price, the caps."""
    cfg = scn.config
    kw = cfg.policy.weights.planner_kwargs()
    # the bandwidth price is a cost of moving data unless the config weighs transfers itself
    kw.setdefault("transfer_cny_per_gb", scn.bandwidth_cny_per_gb)
    return PlanWeights(carbon_price_cny_per_t=cfg.energy.carbon_price_cny_per_t, **kw, **params.caps())


_PLAN_COLUMNS = ["region", "class", "cluster", "hour", "work_sh", "energy_kwh", "cost_cny", "tco2"]


@dataclass(frozen=True)
class Executed:
    """What the run keeps of one solve: the hours it executed, and the solve's figures.

    Compact on purpose: a year of hourly replans keeps 8,760 of these, where the whole
    plans would take ~2 MB each on the national baseline (17 GB a year).
    """

    t0_hour: int
    hours: int  # hours executed before the next replan
    status: str
    has_solution: bool
    n_hours: int  # hours the solve planned (its window)
    terms: dict[str, float]  # the objective's terms over the window (CNY)
    n_variables: int
    n_constraints: int
    build_s: float
    solve_s: float
    slo_dual: dict[str, float]
    carbon_cap_dual: float | None
    rows: dict[str, np.ndarray]  # plan.parquet columns of the executed hours
    hourly: dict[str, np.ndarray]  # (C, hours): load_sh, energy_kwh, cost_cny, tco2, dual

    @classmethod
    def of(cls, t0_hour: int, hours: int, plan: PlanResult) -> Executed:
        """Keep the first ``hours`` hours of ``plan`` (the RollingPlanner's plans start at ``t0_hour``)."""
        head = plan.head(hours)  # copies: the whole window's arrays can go
        hourly = {
            "load_sh": head.work_sh.sum(axis=(0, 1)),
            "energy_kwh": head.energy_kwh,
            "cost_cny": head.cost_cny,
            "tco2": head.tco2,
            "dual": head.capacity_dual,
        }
        rows = head.to_columns()  # none without a solution: its arrays are zeros
        return cls(
            t0_hour, hours, plan.status, plan.has_solution, plan.n_hours, dict(plan.terms),
            plan.n_variables, plan.n_constraints, plan.build_s, plan.solve_s, dict(plan.slo_dual),
            plan.carbon_cap_dual, rows, hourly,
        )  # fmt: skip


@dataclass
class Planner:
    scn: Scenario
    rolling: RollingPlanner
    rho_max: float
    forecast_sigma: float
    rng: np.random.Generator
    executed: list[Executed] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def __post_init__(self) -> None:
        scn = self.scn
        self.hours = scn.n_hours
        topo = scn.topology
        classes = scn.classes
        self.is_latency = np.array([c.is_latency for c in classes])
        self.slo_ms = np.array([c.slo_ms if c.is_latency else math.inf for c in classes])
        self.deadline_h = np.array(
            [0 if c.is_latency else max(1, math.ceil(c.deadline_h)) for c in classes], dtype=np.int64
        )
        # GB per real server-hour: data of one real job over its server-hours
        self.data_gb_per_sh = np.array(
            [c.data_gb / (c.service_mean_s / 3600.0) if c.service_mean_s > 0 else 0.0 for c in classes]
        )
        self.bandwidth = scn.link_gbps[scn.link_of].astype(float)
        self.topo = topo
        # the carbon factor the LP prices and caps: energy.carbon_signal (average or marginal)
        self.carbon = scn.energy.carbon_kgco2_per_kwh(scn.config.energy.carbon_signal)

    def window(self, t0: int, lookahead: int, engine: EngineView | None) -> PlanInputs:
        scn = self.scn
        t1 = min(self.hours, t0 + lookahead)
        n = t1 - t0
        demand = forecast_work(
            scn.classes,
            n,
            start_h=t0,
            error_sigma=self.forecast_sigma,
            rng=self.rng if self.forecast_sigma else None,
        )
        # real servers, installed minus failed
        cap_now = np.array(engine.available, dtype=float) if engine is not None else scn.servers.astype(float)
        e = scn.energy
        backlog = self._backlog(engine, t0, n) if engine is not None else None
        return PlanInputs(
            region_ids=self.topo.region_ids,
            cluster_ids=self.topo.cluster_ids,
            class_names=scn.class_names,
            is_latency=self.is_latency,
            slo_ms=self.slo_ms,
            deadline_h=self.deadline_h,
            demand_sh=demand,
            data_gb_per_sh=self.data_gb_per_sh,
            rtt_ms=self.topo.rtt_ms,
            capacity_servers=np.repeat(cap_now[:, None], n, axis=1),
            cluster_west=self.topo.cluster_west,
            cluster_hub=self.topo.cluster_hub,
            pue=e.pue[:, t0:t1],
            tariff_cny_per_kwh=e.tariff_cny_per_kwh[:, t0:t1],
            grid_kgco2_per_kwh=self.carbon[:, t0:t1],
            green_kw=e.green_kw[:, t0:t1],
            bandwidth_gbps=self.bandwidth,
            idle_w=scn.watts("idle_w"),
            peak_w=scn.watts("peak_w"),
            allowed=scn.type_mask,
            rho_max=self.rho_max,
            # pinned: the engine does not move queued jobs, so the plan serves them where they wait
            backlog_sh=None if backlog is None else backlog.sum(axis=2),
            backlog_at_sh=backlog,
        )

    def _backlog(self, engine: EngineView, t0: int, n: int) -> np.ndarray:
        """Batch work waiting in the clusters' queues now, (R, K, C, n): by region, class, the
        cluster whose queue holds it and the hours left to its deadline (bucket j: due by the
        end of window hour j), in real server-hours."""
        out = np.zeros((self.topo.n_regions, len(self.scn.classes), self.topo.n_clusters, n))
        # real server-hours per simulated server-second: the class's type's scale, or the pool's own
        pooled = self.scn.config.engine.bundling == "pool"
        scale = [c.slot_servers / 3600.0 for c in self.scn.classes]
        pool_scale = (self.scn.scales / 3600.0).tolist()
        for (c, r, k, due_h), work in engine.waiting_work().items():
            if self.is_latency[k]:
                continue
            # hours left at t0: ceil(arrival / 3600 + deadline_h) - t0
            j = min(n - 1, max(0, due_h - t0 - 1))
            out[r, k, c, j] += work * (pool_scale[c] if pooled else scale[k])
        return out  # zeros too: the LP's structure then stays the same between windows

    def replan(self, t0: int, replan_h: int, lookahead: int, engine: EngineView | None) -> PlanResult:
        t = time.perf_counter()
        inputs = self.window(t0, lookahead, engine)
        plan = self.rolling.replan(t0, inputs)
        self.wall_s += time.perf_counter() - t
        if self.rolling.message:
            self.messages.append(self.rolling.message)
        self.executed.append(Executed.of(t0, min(replan_h, self.hours - t0, plan.n_hours), plan))
        return plan

    # ------------------------------------------------------------------ outputs
    def frame(self) -> pd.DataFrame:
        """``plan.parquet``: the executed hours, one row per region, class, cluster, hour."""
        parts = [ex.rows for ex in self.executed if ex.has_solution]
        cols = _PLAN_COLUMNS
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype=float if c not in cols[:3] else object) for c in cols})
        return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in cols})

    def hourly(self) -> dict[str, np.ndarray]:
        """Planned (C, H) arrays over the run: load, energy, cost (facility x tariff), carbon, duals."""
        c_n, h_n = self.topo.n_clusters, self.hours
        out = {k: np.full((c_n, h_n), np.nan) for k in ("load_sh", "energy_kwh", "cost_cny", "tco2", "dual")}
        for ex in self.executed:
            if not ex.has_solution:
                continue
            sl = slice(ex.t0_hour, ex.t0_hour + ex.hours)
            for k, v in ex.hourly.items():
                out[k][:, sl] = v
        return out

    def shadow_prices(self) -> pd.DataFrame:
        """Capacity duals per cluster-hour (CNY per extra server for that hour)."""
        h = self.hourly()["dual"]
        c, t = np.nonzero(~np.isnan(h))
        return pd.DataFrame(
            {
                "cluster": np.asarray(self.topo.cluster_ids, dtype=object)[c],
                "hour": t.astype(np.int64),
                "capacity_cny_per_server_h": h[c, t],
            }
        )

    def window_duals(self) -> pd.DataFrame:
        """``plan_duals.parquet``: per solve, the SLO dual of each latency class and the carbon-cap dual."""
        rows: list[dict[str, Any]] = []
        for p in self.executed:
            if not p.has_solution:
                continue
            for cls, v in p.slo_dual.items():
                rows.append({"t0_hour": p.t0_hour, "kind": "slo", "class": cls, "value": float(v),
                             "unit": "CNY per server-hour of the class"})  # fmt: skip
            if p.carbon_cap_dual is not None:
                rows.append({"t0_hour": p.t0_hour, "kind": "carbon_cap", "class": None,
                             "value": float(p.carbon_cap_dual), "unit": "CNY per tCO2 of cap"})  # fmt: skip
        cols = ["t0_hour", "kind", "class", "value", "unit"]
        return pd.DataFrame(rows, columns=cols).astype({"t0_hour": "int64", "value": "float64"})

    def summary(self) -> dict[str, Any]:
        plans = self.executed
        statuses: dict[str, int] = {}
        for p in plans:
            statuses[p.status] = statuses.get(p.status, 0) + 1
        terms: dict[str, float] = {}
        for ex in self.executed:
            for k, v in ex.terms.items():
                terms[k] = terms.get(k, 0.0) + float(v) * ex.hours / max(ex.n_hours, 1)
        hourly = self.hourly()
        dual = hourly["dual"]
        slo: dict[str, list[float]] = {}
        carbon = [p.carbon_cap_dual for p in plans if p.carbon_cap_dual is not None]
        for p in plans:
            for k, v in p.slo_dual.items():
                slo.setdefault(k, []).append(float(v))
        return {
            "solver": self.rolling.solver,
            "solves": len(plans),
            "statuses": statuses,
            "failures": self.rolling.failures,
            "messages": self.messages[-5:],
            "objective_terms_cny": terms,
            "n_variables_max": max((p.n_variables for p in plans), default=0),
            "n_constraints_max": max((p.n_constraints for p in plans), default=0),
            "build_s": sum(p.build_s for p in plans),
            "solve_s": sum(p.solve_s for p in plans),
            "planner_wall_s": self.wall_s,
            "shadow_prices": {
                "capacity_cny_per_server_h_mean": {
                    cid: _nanmean(dual[c]) for c, cid in enumerate(self.topo.cluster_ids)
                },
                "slo_cny_per_sh_mean": {k: float(np.mean(v)) for k, v in slo.items()},
                "carbon_cap_cny_per_t_mean": float(np.mean(carbon)) if carbon else None,
            },
        }


def _nanmean(x: np.ndarray) -> float | None:
    return float(np.nanmean(x)) if np.isfinite(x).any() else None


def make_planner(scn: Scenario, params: LpParams, rng: np.random.Generator) -> Planner:
    """The run's planner for the ``lp`` policy's parameters (solver checked: exit 2 if missing)."""
    try:
        rolling = RollingPlanner(
            plan_weights(scn, params), solver=params.solver, time_limit_s=params.time_limit_s
        )
    except PlanError as exc:
        from models.errors import InputError

        raise InputError(scn.source, "policy.params.solver", str(exc)) from None
    return Planner(scn, rolling, params.rho_max, params.forecast_error, rng)
