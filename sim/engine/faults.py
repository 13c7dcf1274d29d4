"""Faults (config ``faults``): capacity lost at a cluster, or a link degraded, while they last.

:class:`Faults` runs one process per fault and cluster: at the fault's start it
changes what the engine has (its available servers, or the RTTs and bandwidth of
the cluster's links), and at its end it gives it back. What follows from a change
(jobs evicted and re-routed or lost, latency flows re-admitted, batch capacity)
is the engine's part (:class:`FaultHost`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Protocol

import simpy

from models.topology import Topology
from sim.config import Fault
from sim.engine.sharing import ProcessorSharing

__all__ = ["FaultHost", "Faults"]


class FaultHost(Protocol):
    """What a fault changes in the engine, and how the engine is told."""

    env: simpy.Environment
    base_servers: list[int]  # real servers installed, per cluster
    rtt_factor: list[list[float]]  # per region and cluster (1: as in the topology)
    link_of: list[list[int]]  # the link of each region -> cluster path
    links: list[ProcessorSharing]

    def set_available(self, c: int, available: int, evict: bool, on_outage: str | None) -> None:
        """Cluster ``c`` has ``available`` real servers from now (``evict``: its jobs leave;
        ``on_outage``: what becomes of jobs bound for it while it is down, None: as before)."""
        ...

    def rtt_changed(self) -> None:
        """Some RTT factors (and link capacities) changed."""
        ...


class Faults:
    """The faults of a run, applied to ``host`` while they last.

    Parameters
    ----------
    host : FaultHost
        The engine.
    topology : Topology
        The run's network (a site's fault hits each of its server pools).
    """

    def __init__(self, host: FaultHost, topology: Topology) -> None:
        self.host = host
        self.topology = topology
        self.loss: list[list[float]] = [[] for _ in range(topology.n_clusters)]  # shares lost, per fault

    def start(self, faults: list[Fault]) -> None:
        """Start one process per fault and server pool it hits."""
        for f in faults:
            for c in self.topology.site_indices(f.cluster):
                self.host.env.process(self._run(f, c))

    def _run(self, f: Fault, c: int) -> Generator[Any, Any, None]:
        env = self.host.env
        yield env.timeout(f.start_h * 3600.0)
        if f.kind == "link_degradation":
            self._degrade(c, f, f.factor)
            yield env.timeout(f.duration_h * 3600.0)
            self._degrade(c, f, 1.0 / f.factor)
            return
        fraction = 1.0 if f.kind == "outage" else f.fraction
        self.loss[c].append(fraction)
        outage = f.kind == "outage"
        self._apply(c, evict=outage, on_outage=f.on_outage if outage else None)
        yield env.timeout(f.duration_h * 3600.0)
        self.loss[c].remove(fraction)
        self._apply(c, evict=False, on_outage=None)

    def _apply(self, c: int, evict: bool, on_outage: str | None) -> None:
        keep = 1.0
        for fraction in self.loss[c]:
            keep *= 1.0 - fraction
        self.host.set_available(c, round(self.host.base_servers[c] * keep), evict, on_outage)

    def _degrade(self, c: int, f: Fault, factor: float) -> None:
        host, topo = self.host, self.topology
        regions = [topo.region_index(f.region)] if f.region else range(topo.n_regions)
        links = set()
        for r in regions:
            host.rtt_factor[r][c] *= factor
            links.add(host.link_of[r][c])
        for li in links:
            link = host.links[li]
            link.set_capacity(link.capacity / factor)
        host.rtt_changed()
