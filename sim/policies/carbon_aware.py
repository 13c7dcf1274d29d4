"""The ``carbon_aware`` policy: any routing policy, plus temporal shifting of deferrable batch work.

Placement is delegated to the policy named by ``route`` (default
``nearest``). When a batch job reaches its cluster, it is held until the
start of the hour whose *forecast* carbon factor (``energy.carbon_signal``:
average or marginal), averaged over the hours the job will run, is lowest
among the starts that still meet its deadline
(:func:`models.energy.signal_forecast.cleanest_start`). This is the
forecast-based strategy of the temporal-shifting literature; with
``threshold_kgco2_per_kwh`` a job also starts at once when the current factor
is at or below the threshold (the threshold strategy). Latency work is never
held.

Holding every job for the same clean hour piles work onto it (the herding
limit of temporal shifting). With ``max_utilisation`` (default 0.8) the policy
books, per cluster and hour, the server time of the batch jobs it has placed
in time, and skips start hours whose booking would exceed that share of the
cluster's servers; a job reaching a cluster that is already that busy starts
at once. ``max_utilisation: null`` books nothing. The booking does not see
latency work, so a cluster that latency work keeps busy can still queue held
work behind it; the ``lp`` policy plans capacity exactly.

The forecast is issued once per hour for every cluster and the next
``horizon_h`` hours (default: the longest batch deadline); the current hour
is known and later hours carry the forecast model's mean-1 lognormal error
(``forecast_error``, the sigma also used by the ``lp`` policy's demand
forecast), drawn from the run's policy stream. ``forecast_error: 0`` is a
perfect forecast, with which the held work lands where the ``lp`` policy's
optimal deferral puts it when capacity does not bind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from models.energy.signal_forecast import cleanest_start, forecast_signal
from models.errors import InputError
from sim.policies.base import Policy
from sim.policies.params import CarbonAwareParams, ParamError
from sim.policies.registry import policy_class
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.engine.job import Job
    from sim.engine.policy import EngineView, PolicyOutputs


class CarbonAware(Policy):
    name = "carbon_aware"
    params: ClassVar[Mapping[str, Any]] = CarbonAwareParams.defaults()

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        p = CarbonAwareParams.parse(params)
        if p.route == cls.name:
            raise ParamError("route", f"must name another policy (e.g. nearest, greenest), got {p.route!r}")

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        super().__init__(scenario, params, rng)
        cfg = self.cfg = CarbonAwareParams.parse(params)
        inner_cls = policy_class(cfg.route, scenario.source)
        inner_params = dict(cfg.route_params)
        unknown = sorted(set(inner_params) - set(inner_cls.params))
        key = "policy.params.route_params"
        try:
            if unknown:
                raise ValueError(f"policy '{inner_cls.name}' has no parameter {unknown[0]!r}")
            inner_cls.check_params(inner_params)
        except ParamError as exc:
            raise InputError(scenario.source, f"{key}.{exc.key}", exc.message) from None
        except ValueError as exc:
            raise InputError(scenario.source, key, str(exc)) from None
        self.inner = inner_cls(scenario, inner_params, rng)
        self.signal = scenario.energy.carbon_kgco2_per_kwh(scenario.config.energy.carbon_signal)
        self.sigma = cfg.forecast_error
        self.threshold = cfg.threshold_kgco2_per_kwh
        deadlines = [c.deadline_h for c in scenario.classes if not c.is_latency]
        longest = max((math.ceil(d) for d in deadlines if math.isfinite(d)), default=24)
        self.horizon = cfg.horizon_h or max(1, longest)
        self._hour = -1
        self._forecast = np.zeros((scenario.topology.n_clusters, 0))
        mu = cfg.max_utilisation
        n_h = self.signal.shape[1]
        # simulated server-seconds each cluster-hour may take of placed batch work
        self._cap_s = None if mu is None else float(mu) * scenario.slots.astype(float) * 3600.0
        self._max_util = 1.0 if mu is None else float(mu)
        self._booked = np.zeros((scenario.topology.n_clusters, n_h + 1))
        self.held_jobs = 0
        self.shifted_h = 0.0  # total hours of delay imposed on held jobs

    def bind(self, engine: EngineView) -> None:
        super().bind(engine)
        self.inner.bind(engine)

    def route(self, region: int, klass: int, now_s: float) -> int:
        return self.inner.route(region, klass, now_s)

    def route_flows(self, now_s: float) -> np.ndarray:
        """Latency flows go where the placing policy sends them (only batch work is held)."""
        return self.inner.route_flows(now_s)

    def route_batch(self, now_s: float) -> np.ndarray:
        """Batch arrivals (``engine.bundling: pool``) go where the placing policy sends them."""
        return self.inner.route_batch(now_s)

    def outputs(self) -> PolicyOutputs | None:
        """The routing policy's records (e.g. the ``lp`` plan)."""
        return self.inner.outputs()

    def _forecast_at(self, hour: int) -> np.ndarray:
        if hour != self._hour:
            end = min(self.signal.shape[1], hour + self.horizon)
            self._forecast = forecast_signal(self.signal[:, hour:end], self.sigma, self.rng)
            self._hour = hour
        return self._forecast

    def _room(self, c: int, hour: int, hold_s: float, n: int) -> np.ndarray:
        """Per start hour (from ``hour``), whether the job's run fits under the cluster's booking cap."""
        assert self._cap_s is not None
        booked = self._booked[c, hour : hour + n]
        free = self._cap_s[c] - booked
        w = max(1, math.ceil(hold_s / 3600.0 - 1e-9))
        need = min(hold_s, 3600.0)
        fits = free >= need
        # a start fits when every hour of its run fits (hours past the forecast count as free)
        ok = np.ones(n, dtype=bool)
        for j in range(min(w, n)):
            ok[: n - j] &= fits[j:]
        return ok

    def _book(self, c: int, hour: int, hold_s: float, start_s: float) -> None:
        """Book the job's server time, hour by hour from ``start_s``."""
        t, left = start_s, hold_s
        last = self._booked.shape[1] - 1
        while left > 0 and hour <= last:
            in_hour = min(left, (hour + 1) * 3600.0 - t)
            self._booked[c, hour] += in_hour
            left -= in_hour
            t = (hour + 1) * 3600.0
            hour += 1

    def release_s(self, job: Job, now_s: float) -> float:
        """Hold a batch job until the forecast-cleanest start within its deadline."""
        inner = self.inner.release_s(job, now_s)
        spec = self.scenario.classes[job.k]
        if spec.is_latency:
            return inner
        now = max(now_s, inner)
        hour = int(now // 3600.0)
        if hour >= self.signal.shape[1]:
            return inner
        f = self._forecast_at(hour)[job.c]
        run_h = job.hold / 3600.0
        latest_s = job.arrival + spec.deadline_h * 3600.0 - job.hold  # latest start meeting the deadline
        # the start (the top of hour ``hour + h``) must be no later than latest_s
        last = int((latest_s - hour * 3600.0) // 3600.0) if math.isfinite(latest_s) else f.shape[0] - 1
        if self._cap_s is not None:
            allowed = self._room(job.c, hour, job.hold, f.shape[0])
            if self.utilisation(job.c) >= self._max_util:
                allowed[1:] = False  # a cluster already this busy has no room to take work later
        else:
            allowed = None
        h = cleanest_start(f, run_h, last, self.threshold, allowed)
        self._book(job.c, hour + h, job.hold, now if h <= 0 else (hour + h) * 3600.0)
        if h <= 0:
            return inner
        start = (hour + h) * 3600.0
        self.held_jobs += 1
        self.shifted_h += (start - now) / 3600.0
        return start
