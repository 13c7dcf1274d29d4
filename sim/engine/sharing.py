"""Processor sharing in virtual time, for server pools and network links.

:class:`ProcessorSharing` serves every present job at once. With total weight
``W`` of the jobs present, each unit of weight progresses at

    rate = min(per_job_cap, capacity / W)

(work units per second). A job of weight ``w`` and work ``x`` leaves when it
has received ``x`` units: its weight only counts against the shared capacity.
A cluster in processor-sharing mode has ``capacity`` = servers,
``per_job_cap`` = 1 and weight 1 per job (so ``min(n, c)`` servers are busy);
a network link has ``capacity`` = Gbps, ``per_job_cap`` = the per-flow limit
and a job's weight is the number of real transfers it bundles.

Implementation: a virtual clock ``V`` advances at ``rate``; a job arriving
at ``V0`` with work ``x`` finishes when ``V`` reaches ``V0 + x``. Finish
tags live in a heap, so each arrival or departure costs O(log n), and one
pending simpy timeout (re-armed on every change) marks the next departure.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

import simpy

from sim.engine.calls import Call, call_later

INF = float("inf")


class ProcessorSharing:
    """Weighted processor sharing with a per-job rate cap and changeable capacity."""

    __slots__ = (
        "_heap",
        "_last_t",
        "_seq",
        "_tags",
        "_version",
        "capacity",
        "env",
        "on_done",
        "per_job_cap",
        "v",
        "weight",
    )

    def __init__(
        self, env: simpy.Environment, capacity: float, per_job_cap: float, on_done: Callable[[Any], None]
    ) -> None:
        self.env = env
        self.capacity = float(capacity)
        self.per_job_cap = float(per_job_cap)
        self.on_done = on_done
        self.v = 0.0  # virtual time: work received by each unit of weight so far
        self.weight = 0.0
        self._last_t = env.now
        self._heap: list[tuple[float, int, Any]] = []
        self._tags: dict[int, tuple[float, float, float]] = {}  # id(job) -> (tag, weight, v_start)
        self._seq = 0
        self._version = 0

    def __len__(self) -> int:
        return len(self._tags)

    def rate(self) -> float:
        """Work units per second each unit of weight receives now."""
        if self.weight <= 0.0:
            return 0.0
        return min(self.per_job_cap, self.capacity / self.weight)

    def _advance(self) -> None:
        now = self.env.now
        if now > self._last_t:
            self.v += (now - self._last_t) * self.rate()
            self._last_t = now

    def add(self, job: Any, work: float, weight: float = 1.0) -> None:
        """Start sharing for ``job`` with ``work`` units to do."""
        self._advance()
        tag = self.v + work
        self._seq += 1
        heapq.heappush(self._heap, (tag, self._seq, job))
        self._tags[id(job)] = (tag, weight, self.v)
        self.weight += weight
        self._rearm()

    def received(self, job: Any) -> float:
        """Work ``job`` has received so far (it must be present)."""
        self._advance()
        return self.v - self._tags[id(job)][2]

    def remove(self, job: Any) -> float:
        """Take ``job`` out before it is done; return the work it had received."""
        self._advance()
        _tag, weight, v0 = self._tags.pop(id(job))
        self.weight -= weight
        self._heap = [e for e in self._heap if e[2] is not job]
        heapq.heapify(self._heap)
        self._rearm()
        return self.v - v0

    def set_capacity(self, capacity: float) -> None:
        self._advance()
        self.capacity = float(capacity)
        self._rearm()

    def jobs(self) -> list[Any]:
        return [e[2] for e in self._heap]

    def _rearm(self) -> None:
        self._version += 1
        if not self._heap:
            return
        rate = self.rate()
        if rate <= 0.0:
            return
        delay = max(0.0, (self._heap[0][0] - self.v) / rate)
        call_later(self.env, delay, self._fire, self._version)

    def _fire(self, ev: Call) -> None:
        if ev._value != self._version:  # a later change re-armed the clock
            return
        self._advance()
        heap = self._heap
        done = []
        # finish every job whose tag is reached (tolerance for float round-off)
        eps = 1e-9 * max(1.0, abs(self.v))
        while heap and heap[0][0] <= self.v + eps:
            _tag, _, job = heapq.heappop(heap)
            _, weight, _ = self._tags.pop(id(job))
            self.weight -= weight
            done.append(job)
        if not heap:
            self.weight = 0.0
        self._rearm()
        for job in done:
            self.on_done(job)
