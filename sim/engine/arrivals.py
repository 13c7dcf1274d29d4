"""Batch jobs entering the engine at their arrival times.

:class:`ArrivalFeed` walks the generated job chunks (``models.demand``) in time
order and hands each job to the engine when the clock reaches its arrival. It
keeps one pending simpy timeout at a time and calls back, rather than running
a simpy process: a process resumes a generator for every job, a callback is a
plain call, and arrivals are the most frequent event of a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import simpy

from models.demand.workload import Jobs
from sim.engine.calls import call_later

OnArrival = Callable[[int, int, float, float, float], None]  # class, region, time s, service s, GB


class ArrivalFeed:
    """Feed the jobs of ``chunks`` (time-ordered) to ``on_arrival`` up to ``horizon_s``."""

    def __init__(
        self, env: simpy.Environment, chunks: Iterator[Jobs], horizon_s: float, on_arrival: OnArrival
    ) -> None:
        self.env = env
        self._chunks = chunks
        self.horizon_s = horizon_s
        self._on = on_arrival
        self._t: list[float] = []
        self._k: list[int] = []
        self._r: list[int] = []
        self._s: list[float] = []
        self._gb: list[float] = []
        self._j = 0

    def start(self) -> None:
        """Take the first arrivals once the clock runs (time 0)."""
        call_later(self.env, 0.0, self._fire)

    def _load(self) -> bool:
        """The next non-empty chunk, or False when there is none."""
        for arrays in self._chunks:
            t = arrays.arrival_s.tolist()
            if t:
                self._t, self._j = t, 0
                self._k = arrays.klass.tolist()
                self._r = arrays.region.tolist()
                self._s = arrays.service_s.tolist()
                self._gb = arrays.data_gb.tolist()
                return True
        return False

    def _fire(self, _ev: Any = None) -> None:
        now, horizon, on = self.env.now, self.horizon_s, self._on
        while True:
            ts, ks, rs, ss, gbs = self._t, self._k, self._r, self._s, self._gb
            for j in range(self._j, len(ts)):
                t = ts[j]
                if t >= horizon:
                    self._j = j
                    return
                if t > now:
                    self._j = j
                    call_later(self.env, t - now, self._fire)
                    return
                self._j = j + 1
                on(ks[j], rs[j], t, ss[j], gbs[j])
            if not self._load():
                return
