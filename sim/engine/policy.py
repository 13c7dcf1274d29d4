"""The policy interface the engine calls: :class:`Policy`, and the engine state it may read.

The engine defines this interface and never imports a concrete policy: whoever
drives the engine (a run, a test, a benchmark) hands it a :class:`Policy`
instance. Routing policies live in :mod:`sim.policies`.

A policy is a class with a ``name``, the ``params`` it accepts (with their
defaults), and a :meth:`Policy.route` method the engine calls once per batch
job. Latency classes are request flows (:mod:`sim.engine.flows`): once per
time step (and whenever capacity changes mid-step) the engine calls
:meth:`Policy.route_flows`, which returns each latency flow's shares over the
clusters. Its default asks :meth:`Policy.route_flow` for every latency class
and region, which in turn defaults to one :meth:`Policy.route` call (share 1
to the chosen cluster), so a policy that only implements ``route`` routes
flows too. Policies only ever choose among the *candidates*: the clusters
whose RTT meets the class's SLO (latency work) or every cluster (batch work).
Admission control then sheds what a cluster cannot serve within the SLO to
the next candidate, then rejects it.

With ``engine.bundling: pool`` batch classes are routed as flows too: once per time
step the engine calls :meth:`Policy.route_batch` (default: :meth:`Policy.route_flow`
per batch class and region, so one :meth:`Policy.route` call each) and splits the
step's batch arrivals by its shares; :meth:`Policy.route` is then called per job
only to re-route a job whose cluster went down.

Interface changes with request-level flows: ``route_flows`` and
``route_flow`` are new (optional to override); the engine view is in real
servers: ``base_servers``, ``available``, ``online(c)``, ``busy_servers(c)``
(latency load + batch jobs), and ``set_power_target`` takes real servers
(``base_slots`` and simulated ``available`` were the batch pools' units before).
``busy_all()`` and ``online_all()`` read every cluster at once, for a policy
that decides every flow of a step together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import simpy

from sim.engine.job import Job
from sim.engine.pools import Pool
from sim.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd


class EngineView(Protocol):
    """What a policy may read (and steer) of the running engine."""

    env: simpy.Environment
    up: list[bool]
    pools: list[Pool]  # batch pools (simulated servers, ``engine.job_scale`` real ones each)
    base_servers: list[int]  # real servers per cluster, installed
    available: list[int]  # real servers installed minus failed, per cluster

    def utilisation(self, c: int) -> float:
        """Busy share (latency flows and batch jobs) of cluster ``c``'s available servers now."""
        ...

    def busy_servers(self, c: int) -> float:
        """Real servers of cluster ``c`` busy now (latency load + batch jobs)."""
        ...

    def online(self, c: int) -> int:
        """Real servers of cluster ``c`` that can serve work now (available, powered, booted)."""
        ...

    def busy_all(self) -> list[float]:
        """:meth:`busy_servers` of every cluster, in one call."""
        ...

    def online_all(self) -> list[int]:
        """:meth:`online` of every cluster, in one call."""
        ...

    def waiting_jobs(self) -> list[Job]:
        """Jobs queued at clusters, not yet started."""
        ...

    def waiting_work(self) -> dict[tuple[int, int, int, int], float]:
        """The queued jobs' remaining hold (simulated server-seconds; x the class's
        ``slot_servers`` for real ones) by (cluster, region, class, due hour), where the due
        hour is ``ceil(arrival_s / 3600 + deadline_h)``; kept as jobs queue, so cheap to read."""
        ...

    def set_power_target(self, c: int, servers: int | None) -> None:
        """Keep ``servers`` real servers of cluster ``c`` powered (``None``: all available).

        Only with ``energy.power_management: planned``, for a policy whose
        ``plans_power`` is True (:class:`sim.engine.power.Planned`): switching off
        stops new work on those servers at once (busy ones finish first);
        switching on takes ``energy.power_control.boot_s``. Transitions are counted.
        """
        ...


@dataclass(frozen=True)
class PolicyOutputs:
    """What a policy adds to the run's records, beyond what the engine measures itself.

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        Run-folder file name (one of :data:`sim.runfolder.layout.POLICY_TABLES`,
        e.g. ``plan.parquet``) -> the table, with that file's columns.
    planned : dict of str to numpy.ndarray, optional
        The plan per cluster and hour of the run, arrays of shape
        (clusters, hours), NaN where nothing was planned: ``load_sh`` (busy
        real server-hours), ``energy_kwh``, ``cost_cny``, ``tco2``. They give
        ``timeseries.parquet`` its ``planned_*`` columns and the summary its
        planned-vs-realised comparison.
    summary : dict, optional
        The planner's record; ``summary.json`` keeps it under ``plan``.
    """

    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    planned: Mapping[str, np.ndarray] | None = None
    summary: Mapping[str, Any] | None = None


class Policy:
    """Base class of routing policies.

    Subclasses set ``name``, declare ``params`` (name -> default) and
    implement :meth:`route`; they may override :meth:`check_params` to
    validate values (raise ``ValueError`` with what was expected).
    """

    name: ClassVar[str] = ""
    params: ClassVar[Mapping[str, Any]] = {}
    #: True for a policy that sets power targets (``energy.power_management: planned``)
    plans_power: ClassVar[bool] = False

    def __init__(self, scenario: Scenario, params: Mapping[str, Any], rng: np.random.Generator) -> None:
        self.scenario = scenario
        self.rng = rng
        self.p: dict[str, Any] = {**self.params, **params}
        self.up: list[bool] = [True] * scenario.topology.n_clusters
        self.engine: EngineView | None = None

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> None:
        """Validate parameter values; raise ValueError naming the problem."""

    def bind(self, engine: EngineView) -> None:
        """Called once by the engine before the run, giving access to its live state.

        ``engine.up[c]`` is False while cluster ``c`` is down and
        ``engine.utilisation(c)`` is its busy share now.
        """
        self.engine = engine
        self.up = engine.up

    def route(self, region: int, klass: int, now_s: float) -> int:
        """Return the index of the cluster for a job, or -1 to drop it.

        Only called when the job has at least one candidate; must return a
        candidate that is up (``self.up``), or -1.
        """
        raise NotImplementedError

    def route_flows(self, now_s: float) -> np.ndarray:
        """Shares of every latency flow over the clusters from ``now_s`` on.

        Returns an array ``(classes, regions, clusters)``; the engine reads the
        rows of latency classes that have candidates and normalises each row
        (a row of zeros rejects the flow). Called once per time step, and again
        whenever a cluster's available servers change mid-step. The default
        calls :meth:`route_flow` for each latency class and region.
        """
        return self._each_flow(now_s, latency=True)

    def route_batch(self, now_s: float) -> np.ndarray:
        """Shares of every batch class's arrivals over the clusters from ``now_s`` on.

        Called once per time step with ``engine.bundling: pool`` only (with
        bundling at arrival the engine calls :meth:`route` per job): the
        step's arrivals of class k from region r go to the clusters in the
        proportions of row ``[k, r]``, normalised; a row of zeros drops them.
        Same shape as :meth:`route_flows`, whose batch rows it fills; the
        default calls :meth:`route_flow` (so :meth:`route`) for each batch class
        and region, once a step.
        """
        return self._each_flow(now_s, latency=False)

    def _each_flow(self, now_s: float, latency: bool) -> np.ndarray:
        scn = self.scenario
        topo = scn.topology
        out = np.zeros((len(scn.classes), topo.n_regions, topo.n_clusters))
        for k, spec in enumerate(scn.classes):
            if spec.is_latency != latency:
                continue
            for r in range(topo.n_regions):
                if scn.candidates[k][r].size == 0:
                    continue
                for c, share in self.route_flow(r, k, now_s):
                    out[k, r, c] += share
        return out

    def route_flow(self, region: int, klass: int, now_s: float) -> list[tuple[int, float]]:
        """Shares ``[(cluster, share), ...]`` of one flow, latency or (with ``engine.bundling:
        pool``) batch (default: all to :meth:`route`)."""
        c = self.route(region, klass, now_s)
        return [(c, 1.0)] if c >= 0 else []

    def release_s(self, job: Job, now_s: float) -> float:
        """Earliest time a job that reached its cluster may join the queue (default: at once).

        A policy that shifts work in time (``lp``) holds jobs until then.
        """
        return 0.0

    def outputs(self) -> PolicyOutputs | None:
        """What this policy contributes to the run folder, read once after the run.

        The default is nothing; a planning policy (``lp``) returns its plan
        tables, its planned cluster-hours and its summary.
        """
        return None

    def first_up(self, ranked: list[int]) -> int:
        """The first cluster of ``ranked`` that is up, or -1."""
        up = self.up
        for c in ranked:
            if up[c]:
                return c
        return -1

    def utilisation(self, c: int) -> float:
        return self.engine.utilisation(c) if self.engine is not None else 0.0
