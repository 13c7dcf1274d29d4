"""Batch arrivals with ``engine.bundling: pool``: routed once a time step, bundled at each pool.

At the start of every time step (``engine.timestep_s``) the engine calls
:meth:`PoolFeed.step`: the policy's :meth:`~sim.engine.policy.Policy.route_batch`
gives each batch (class, region) stream its shares over the clusters, and
:class:`models.demand.pooled.PooledBundles` splits the step's real arrivals by
them and bundles each cluster's part of a class (from every region, one stream) at
that cluster's scale (real servers per
simulated server, ``engine.pool_job_scale``). Each bundle is handed to the engine
at its arrival time, with its cluster (-1: dropped) and the real jobs it stands for.

Shares are masked to each stream's candidates and normalised; a stream whose row
is all zeros, or that has no candidate, is dropped (bundled at the class's own
scale, so that its real jobs are counted). Classes replayed from traces are not
fed here: their jobs arrive one by one (:class:`~sim.engine.arrivals.ArrivalFeed`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import simpy

from models.demand.pooled import PooledBundles
from sim.engine.bounded import remember
from sim.engine.calls import Call, call_later
from sim.engine.policy import Policy
from sim.scenario import Scenario

__all__ = ["OnBundle", "PoolFeed", "pooled_classes"]

# class, region, cluster (-1: dropped), arrival s, service s, data GB, real jobs
OnBundle = Callable[[int, int, int, float, float, float, int], None]


def pooled_classes(scn: Scenario) -> list[int]:
    """The classes bundled at the pools: batch classes that draw arrivals (not replayed)."""
    return [k for k, spec in enumerate(scn.classes) if not spec.is_latency and spec.rate_per_h > 0.0]


class PoolFeed:
    """Route the batch classes' arrivals by shares each step and feed their bundles to ``on_bundle``.

    Parameters
    ----------
    env : simpy.Environment
        The engine's clock.
    scn : Scenario
        The run.
    policy : Policy
        Asked for :meth:`~sim.engine.policy.Policy.route_batch` once a step.
    scales : sequence of int
        Real servers per simulated server of each cluster (its bundle size).
    rng : numpy.random.Generator
        The run's batch-arrival generator.
    on_bundle : OnBundle
        Called at each bundle's arrival.
    """

    def __init__(
        self,
        env: simpy.Environment,
        scn: Scenario,
        policy: Policy,
        scales: Sequence[int],
        rng: np.random.Generator,
        on_bundle: OnBundle,
    ) -> None:
        self.env = env
        self.policy = policy
        self.on_bundle = on_bundle
        self.ks = pooled_classes(scn)
        n_r, n_c = scn.topology.n_regions, scn.topology.n_clusters
        self.n_c = n_c
        specs = [scn.classes[k] for k in self.ks]
        pool_scale = np.array([[*scales, spec.job_scale] for spec in specs], dtype=np.int64)
        self.bundles = PooledBundles(specs, scn.horizon_s, pool_scale.reshape(len(specs), n_c + 1), rng)
        self._seen: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # see _shares
        self.allowed = np.zeros((len(self.ks), n_r, n_c), dtype=bool)
        for i, k in enumerate(self.ks):
            for r in range(n_r):
                self.allowed[i, r, scn.candidates[k][r]] = True

    def step(self, t0: float, t1: float) -> None:
        """Route and bundle the arrivals of ``[t0, t1)``; schedule each bundle's arrival."""
        if not self.ks or t1 <= t0:
            return
        bundles = self.bundles.step(t0, t1, self._shares(self.policy.route_batch(t0)))
        now, env, fire, n_c, ks = self.env.now, self.env, self._fire, self.n_c, self.ks
        for t, k, r, c, s, svc, gb in bundles:
            call_later(env, max(0.0, t - now), fire, (ks[k], r, -1 if c == n_c else c, t, svc, gb, s))

    def _shares(self, routed: np.ndarray) -> np.ndarray:
        """The policy's batch shares masked to each stream's candidates and normalised, with the
        dropped column. A read-only array seen recently (a policy recalling a state's shares,
        e.g. ``spill_west``) gets the same array back, normalised once."""
        seen = self._seen.get(id(routed))
        if seen is not None and seen[0] is routed:
            return seen[1]
        raw = np.where(self.allowed, np.maximum(routed[self.ks], 0.0), 0.0)
        tot = raw.sum(axis=2)
        ok = tot > 0.0
        shares = np.zeros((*raw.shape[:2], self.n_c + 1))
        shares[:, :, : self.n_c] = raw / np.where(ok, tot, 1.0)[:, :, None]
        shares[:, :, self.n_c] = ~ok
        shares.flags.writeable = False
        if not routed.flags.writeable:  # the policy will not change it: worth keeping
            remember(self._seen, id(routed), (routed, shares), _SEEN)  # (kept: its id stays its own)
        return shares

    def _fire(self, ev: Call) -> None:
        value: Any = ev._value
        self.on_bundle(*value)


_SEEN = 256  # read-only share arrays kept with their normalised shares (PoolFeed._shares)
