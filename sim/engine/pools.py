"""The servers of one cluster: FCFS (with optional preemptive priority) or processor sharing.

A pool holds ``capacity`` simulated servers. Jobs :meth:`arrive`, wait if no
server is free, are served for their ``remaining`` hold time and leave through
the engine's ``on_finish``. Capacity can change at any time (faults); an
outage calls :meth:`evict_all`, which hands back every queued and running job.

FCFS pools keep one queue per workload class and serve the earliest arrival
among the classes allowed to start, which lets two rules apply:

- ``class_cap[k]``: at most this many servers busy with class ``k`` at once
  (per-class utilisation targets);
- ``priority[k]`` (lower is more urgent) with ``preemptive=True``: a more
  urgent job arriving to a full pool preempts the most recently started job
  of the least urgent class, which resumes later where it stopped
  (preemptive-resume priority).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import simpy

from sim.engine.job import Job
from sim.engine.sharing import ProcessorSharing

OnEvent = Callable[[Job], None]


def _nothing() -> None:
    return None


class Pool:
    """Interface shared by the pool kinds.

    ``settled`` is called after every departure once the pool has started
    whatever could start (the engine logs the pool's state there).
    """

    capacity: int
    busy: float
    n_queued: int
    settled: Callable[[], None] = staticmethod(_nothing)

    def arrive(self, job: Job) -> None:
        raise NotImplementedError

    def set_capacity(self, capacity: int) -> None:
        raise NotImplementedError

    def evict_all(self) -> list[Job]:
        raise NotImplementedError

    def close(self) -> None:
        """At the horizon: credit running jobs with the service received so far."""
        raise NotImplementedError

    def queued_jobs(self) -> list[Job]:
        """The jobs waiting for a server."""
        raise NotImplementedError


class FcfsPool(Pool):
    def __init__(
        self,
        env: simpy.Environment,
        capacity: int,
        n_classes: int,
        on_start: OnEvent,
        on_finish: OnEvent,
        class_share: Sequence[float] | None = None,
        priority: Sequence[int] | None = None,
        preemptive: bool = False,
    ) -> None:
        self.env = env
        self.capacity = int(capacity)
        self.on_start = on_start
        self.on_finish = on_finish
        self.busy = 0
        self.n_queued = 0
        self._share = list(class_share) if class_share is not None else [1.0] * n_classes
        self._prio = list(priority) if priority is not None else [0] * n_classes
        self._preemptive = preemptive and len(set(self._prio)) > 1
        self._queues: list[deque[Job]] = [deque() for _ in range(n_classes)]
        self._busy_k = [0] * n_classes
        self._running: list[dict[Job, simpy.Event]] = [{} for _ in range(n_classes)]
        self._seq = 0
        self._simple = all(s >= 1.0 for s in self._share) and len(set(self._prio)) == 1
        self._caps: list[int] = []
        self._set_caps()
        # classes by urgency, most urgent first (stable in class order)
        self._by_prio = sorted(range(n_classes), key=lambda k: self._prio[k])

    def _set_caps(self) -> None:
        self._caps = [self.capacity if s >= 1.0 else int(s * self.capacity) for s in self._share]

    # -- arrivals and dispatch -------------------------------------------------
    def arrive(self, job: Job) -> None:
        self._seq += 1
        job.seq = self._seq
        k = job.k
        if self._simple:  # one FCFS queue for every class
            if self.busy < self.capacity and not self.n_queued:
                self._start(job)
                return
            self._queues[0].append(job)
            self.n_queued += 1
            return
        self._queues[k].append(job)
        self.n_queued += 1
        if self._preemptive and self.busy >= self.capacity:
            self._maybe_preempt(k)
        self._dispatch()

    def _pick(self) -> int:
        """The class whose head job starts next, or -1."""
        best, best_prio, best_seq = -1, 0, 0
        for k in self._by_prio:
            q = self._queues[k]
            if not q or self._busy_k[k] >= self._caps[k]:
                continue
            p, s = self._prio[k], q[0].seq
            if best < 0 or p < best_prio or (p == best_prio and s < best_seq):
                best, best_prio, best_seq = k, p, s
        return best

    def _dispatch(self) -> None:
        while self.busy < self.capacity and self.n_queued:
            if self._simple:
                k = 0
            else:
                k = self._pick()
                if k < 0:
                    return
            job = self._queues[k].popleft()
            self.n_queued -= 1
            self._start(job)

    def _start(self, job: Job) -> None:
        k = job.k
        self.busy += 1
        self._busy_k[k] += 1
        job.seg_start = self.env.now
        ev = self.env.timeout(job.remaining, value=job)
        ev.callbacks.append(self._finish)
        self._running[k][job] = ev
        self.on_start(job)

    def _finish(self, ev: simpy.Event) -> None:
        job: Job = ev._value
        running = self._running[job.k]
        if running.get(job) is not ev:  # preempted or evicted meanwhile
            return
        del running[job]
        self.busy -= 1
        self._busy_k[job.k] -= 1
        job.served += self.env.now - job.seg_start
        job.remaining = 0.0
        self.on_finish(job)
        if self.n_queued:
            self._dispatch()
        self.settled()

    def _maybe_preempt(self, k: int) -> None:
        p = self._prio[k]
        for victim_k in reversed(self._by_prio):
            if self._prio[victim_k] <= p:
                return
            running = self._running[victim_k]
            if running:
                job, _ = running.popitem()  # most recently started
                self._stop(job)
                self._queues[victim_k].appendleft(job)
                self.n_queued += 1
                return

    def _stop(self, job: Job) -> None:
        """Take a running job off its server (its finish event goes stale)."""
        elapsed = self.env.now - job.seg_start
        job.served += elapsed
        job.remaining = max(0.0, job.remaining - elapsed)
        self.busy -= 1
        self._busy_k[job.k] -= 1

    # -- capacity changes --------------------------------------------------------
    def set_capacity(self, capacity: int) -> None:
        """Change the number of servers.

        Jobs running above the new capacity are preempted (the least urgent
        class first, the most recently started first) and wait at the head of
        their queue to resume where they stopped (preemptive resume): the
        servers were taken by latency flows, a fault or power management.
        """
        self.capacity = int(capacity)
        self._set_caps()
        while self.busy > self.capacity:
            for k in reversed(self._by_prio):
                running = self._running[k]
                if running:
                    job, _ = running.popitem()  # most recently started
                    self._stop(job)
                    if self._simple:
                        self._queues[0].appendleft(job)
                    else:
                        self._queues[k].appendleft(job)
                    self.n_queued += 1
                    break
        self._dispatch()

    def evict_all(self) -> list[Job]:
        out: list[Job] = []
        for running in self._running:
            for job in list(running):
                self._stop(job)
                out.append(job)
            running.clear()
        for q in self._queues:
            out.extend(q)
            q.clear()
        self.n_queued = 0
        return out

    def queued_jobs(self) -> list[Job]:
        return [job for q in self._queues for job in q]

    def close(self) -> None:
        now = self.env.now
        for running in self._running:
            for job in running:
                got = now - job.seg_start
                job.served += got
                job.remaining = max(0.0, job.remaining - got)
                job.seg_start = now


class PsPool(Pool):
    """Processor sharing over ``capacity`` servers: n jobs each get min(1, c/n) of a server."""

    def __init__(self, env: simpy.Environment, capacity: int, on_start: OnEvent, on_finish: OnEvent) -> None:
        self.env = env
        self.capacity = int(capacity)
        self.on_start = on_start
        self.on_finish = on_finish
        self._ps = ProcessorSharing(env, capacity, 1.0, self._done)
        self.busy = 0.0
        self.n_queued = 0

    def _update(self) -> None:
        n = len(self._ps)
        self.busy = float(min(n, self.capacity))
        self.n_queued = max(0, n - self.capacity)

    def arrive(self, job: Job) -> None:
        job.seg_start = self.env.now
        self._ps.add(job, job.remaining)
        self._update()
        self.on_start(job)

    def _done(self, job: Job) -> None:
        job.served += job.remaining
        job.remaining = 0.0
        self._update()
        self.on_finish(job)
        self.settled()

    def set_capacity(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self._ps.set_capacity(capacity)
        self._update()

    def evict_all(self) -> list[Job]:
        out = []
        for job in self._ps.jobs():
            got = self._ps.remove(job)
            job.served += got
            job.remaining = max(0.0, job.remaining - got)
            out.append(job)
        self._update()
        return out

    def queued_jobs(self) -> list[Job]:
        return []  # processor sharing: every present job is in service

    def close(self) -> None:
        for job in self._ps.jobs():
            got = self._ps.received(job)
            job.served += got
            job.remaining = max(0.0, job.remaining - got)
