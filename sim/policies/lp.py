"""The ``lp`` policy: follow the rolling-horizon plan of the LP (:mod:`models.plan.planner`).

Every ``policy.replan_h`` hours the planner solves the next
``policy.lookahead_h`` hours (:mod:`sim.policies.planning`). Within an hour, jobs of
region r and class k are spread over clusters in the plan's proportions by a
deficit counter (each job goes to the cluster furthest below its planned
share so far), which follows the fractions closely and deterministically.
When the plan has no room for a job (no planned share, or every planned
cluster is down or full with a queue) the job goes to the nearest candidate.

Batch work the plan shifts in time (e.g. into cheap night hours) is held at
its cluster until the planned execution hour (``defer: true``).

With ``energy.power_management: planned`` the policy also sets each cluster's
powered servers every hour to the plan's active servers x ``power_headroom``
(at least ``min_powered_share``); other modes leave power to the engine.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from models.plan.result import PlanResult
from sim.engine.policy import PolicyOutputs
from sim.policies.base import Policy, ranked_candidates
from sim.policies.lp_params import LpParams
from sim.policies.planning import Planner, make_planner
from sim.runfolder import layout
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.engine.job import Job
    from sim.engine.policy import EngineView


class LpPolicy(Policy):
    """Follow the rolling-horizon plan; parameters: :class:`~sim.policies.lp_params.LpParams`."""

    name = "lp"
    plans_power = True
    params: ClassVar[Mapping[str, Any]] = LpParams.defaults()

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        LpParams.parse(params)

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        self.cfg = LpParams.parse(params)
        self.planner: Planner = make_planner(scenario, self.cfg, scenario.streams.forecast)
        self._nearest = ranked_candidates(scenario, np.zeros(scenario.topology.n_clusters))
        self._defer = self.cfg.defer
        self.plan: PlanResult | None = None
        self._t0 = 0
        self._hour = -1
        self._shares: list[list[list[tuple[int, float]]]] = []
        self._assigned: list[list[dict[int, int]]] = []
        self._release: dict[tuple[int, int, int, int], float] = {}
        self.fallbacks = 0

    # ------------------------------------------------------------------ planning loop
    def bind(self, engine: EngineView) -> None:
        super().bind(engine)
        cfg = self.scenario.config.policy
        # The first plan is made before the simulation starts, so a config that
        # makes the problem impossible stops the run as bad input (exit 2).
        first = self.planner.replan(0, cfg.replan_h, cfg.lookahead_h, engine)
        if not first.has_solution and first.status in ("infeasible", "unbounded"):
            from models.errors import InputError

            raise InputError(
                self.scenario.source,
                "policy",
                f"the plan is {first.status}: {first.diagnosis or 'no diagnosis'}",
            )
        self._install(first, 0)
        engine.env.process(self._loop(engine))
        if self.scenario.config.energy.power_management == "planned":
            engine.env.process(self._power(engine))

    def _power(self, engine: EngineView) -> Generator[Any, Any, None]:
        """Each hour, power the servers the plan keeps active (at least ``min_powered_share``)."""
        floor = [max(1, math.ceil(self.cfg.min_powered_share * s)) for s in engine.base_servers]
        headroom = self.cfg.power_headroom
        hour = 0
        while True:
            plan = self.plan
            h = hour - self._t0
            for c in range(len(engine.pools)):
                if plan is None or not 0 <= h < plan.n_hours:
                    engine.set_power_target(c, None)
                else:
                    need = math.ceil(float(plan.active_servers[c, h]) * headroom - 1e-9)
                    engine.set_power_target(c, min(engine.base_servers[c], max(floor[c], need)))
            hour += 1
            yield engine.env.timeout(hour * 3600.0 - engine.env.now)

    def _loop(self, engine: EngineView) -> Generator[Any, Any, None]:
        cfg = self.scenario.config.policy
        t0 = cfg.replan_h
        while t0 < self.planner.hours:
            yield engine.env.timeout(t0 * 3600.0 - engine.env.now)
            self._install(self.planner.replan(t0, cfg.replan_h, cfg.lookahead_h, engine), t0)
            t0 += cfg.replan_h

    def _install(self, plan: PlanResult, t0: int) -> None:
        self.plan = plan if plan.has_solution else None
        self._t0 = t0
        self._hour = -1
        self._release.clear()

    def _hour_shares(self, h: int) -> None:
        """Planned shares of every (class, region) for plan hour ``h``."""
        plan = self.plan
        assert plan is not None
        routed = plan.routed_sh[:, :, :, h]  # (R, K, C)
        tot = routed.sum(axis=2)
        n_r, n_k = tot.shape
        self._shares = [
            [
                [(int(c), float(routed[r, k, c] / tot[r, k])) for c in np.flatnonzero(routed[r, k] > 1e-9)]
                if tot[r, k] > 1e-9
                else []
                for r in range(n_r)
            ]
            for k in range(n_k)
        ]
        self._assigned = [[{} for _ in range(n_r)] for _ in range(n_k)]
        self._hour = h

    def outputs(self) -> PolicyOutputs:
        """The executed plan: ``plan.parquet``, shadow prices, duals, planned cluster-hours, summary."""
        planner = self.planner
        return PolicyOutputs(
            tables={
                layout.PLAN: planner.frame(),
                layout.SHADOW_PRICES: planner.shadow_prices(),
                layout.PLAN_DUALS: planner.window_duals(),
            },
            planned=planner.hourly(),
            summary={**planner.summary(), "fallback_jobs": self.fallbacks},
        )

    # ------------------------------------------------------------------ routing
    def route(self, region: int, klass: int, now_s: float) -> int:
        plan = self.plan
        h = int(now_s // 3600.0) - self._t0
        if plan is not None and 0 <= h < plan.n_hours:
            if h != self._hour:
                self._hour_shares(h)
            shares = self._shares[klass][region]
            if shares:
                assigned = self._assigned[klass][region]
                total = sum(assigned.values()) + 1
                best, best_gap = -1, -math.inf
                for c, f in shares:
                    if not self.up[c] or self._full(c):
                        continue
                    gap = f * total - assigned.get(c, 0)
                    if gap > best_gap:
                        best, best_gap = c, gap
                if best >= 0:
                    assigned[best] = assigned.get(best, 0) + 1
                    return best
        self.fallbacks += 1
        return self.first_up(self._nearest[klass][region])

    def route_flows(self, now_s: float) -> np.ndarray:
        """Latency flows follow the plan's shares of the hour; without a plan, the nearest candidate."""
        return self._plan_rows(now_s, latency=True)

    def route_batch(self, now_s: float) -> np.ndarray:
        """Batch arrivals (``engine.bundling: pool``) follow the plan's shares of the hour, as
        latency flows do; without a plan, the nearest candidate."""
        return self._plan_rows(now_s, latency=False)

    def _plan_rows(self, now_s: float, latency: bool) -> np.ndarray:
        scn = self.scenario
        plan = self.plan
        h = int(now_s // 3600.0) - self._t0
        out = np.zeros((len(scn.classes), scn.topology.n_regions, scn.topology.n_clusters))
        up = np.asarray(self.up, dtype=bool)
        routed = plan.routed_sh[:, :, :, h] if plan is not None and 0 <= h < plan.n_hours else None
        for k, spec in enumerate(scn.classes):
            if spec.is_latency != latency:
                continue
            for r in range(scn.topology.n_regions):
                if scn.candidates[k][r].size == 0:
                    continue
                if routed is not None:
                    row = np.where(up, routed[r, k], 0.0)
                    if row.sum() > 1e-9:
                        out[k, r] = row
                        continue
                self.fallbacks += 1
                c = self.first_up(self._nearest[k][r])
                if c >= 0:
                    out[k, r, c] = 1.0
        return out

    def _full(self, c: int) -> bool:
        engine = self.engine
        if engine is None:
            return False
        pool = engine.pools[c]
        return pool.saturated()

    def release_s(self, job: Job, now_s: float) -> float:
        """When a batch job may start: the start of the hour the plan executes its work."""
        plan = self.plan
        if not self._defer or plan is None or self.scenario.classes[job.k].is_latency:
            return 0.0
        h = int(job.arrival // 3600.0) - self._t0
        if not 0 <= h < plan.n_hours:
            return 0.0
        key = (job.r, job.k, job.c, h)
        rel = self._release.get(key)
        if rel is None:
            rel = self._release_hour(job.r, job.k, job.c, h)
            self._release[key] = rel
        return rel

    def _release_hour(self, r: int, k: int, c: int, h: int) -> float:
        plan = self.plan
        assert plan is not None
        before = float(plan.routed_sh[r, k, c, :h].sum())  # FIFO: work of earlier hours goes first
        executed = np.cumsum(plan.work_sh[r, k, c, :])
        if executed[-1] <= 1e-9:
            return 0.0
        e = int(np.searchsorted(executed, before + 1e-9, side="right"))
        e = max(h, min(e, plan.n_hours - 1))
        return (self._t0 + e) * 3600.0
