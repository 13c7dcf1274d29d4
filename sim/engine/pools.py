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

import math
from collections import deque
from collections.abc import Callable, Sequence

import simpy

from sim.engine.calls import Call, call_later
from sim.engine.job import Job
from sim.engine.sharing import ProcessorSharing

OnEvent = Callable[[Job], None]
_MIN_FRAC = 1e-6  # a partial server slower than this is none


def _nothing() -> None:
    return None


class Pool:
    """Interface shared by the pool kinds.

    ``settled`` is called after every departure once the pool has started
    whatever could start (the engine logs the pool's state there).
    """

    capacity: int  # whole simulated servers
    size: float  # simulated servers, a fraction included
    busy: float
    n_queued: int
    settled: Callable[[], None] = staticmethod(_nothing)

    def saturated(self) -> bool:
        """No server at all, or every one busy with work waiting."""
        raise NotImplementedError

    def arrive(self, job: Job) -> None:
        raise NotImplementedError

    def set_capacity(self, capacity: float) -> None:
        raise NotImplementedError

    def evict_all(self) -> list[Job]:
        raise NotImplementedError

    def close(self) -> None:
        """At the horizon: credit running jobs with the service received so far."""
        raise NotImplementedError

    def queued_jobs(self) -> list[Job]:
        """The jobs waiting for a server."""
        raise NotImplementedError

    def queued_work(self) -> dict[tuple[int, int, int], float]:
        """Work waiting for a server, in simulated server-seconds, by (region, class, due hour).

        The due hour is :attr:`Job.due_h <sim.engine.job.Job>`. Kept as jobs queue and
        start, so reading it does not visit the jobs.
        """
        raise NotImplementedError


class FcfsPool(Pool):
    """FCFS servers, whole ones and at most one partial one.

    A capacity of ``x`` simulated servers is ``floor(x)`` whole servers and,
    if ``x`` is not whole, one partial server that serves at speed
    ``x - floor(x)``: a pool of scaled servers keeps exactly the real servers
    it stands for (``n / S`` of them), not ``floor(n / S)``. A job starts on a
    whole server if one is free, else on the partial one, and moves to the
    first whole server that frees (the earliest-started job is served by the
    fastest server); the work it received there counts at the partial speed.
    """

    def __init__(
        self,
        env: simpy.Environment,
        capacity: float,
        n_classes: int,
        on_start: OnEvent,
        on_finish: OnEvent,
        class_share: Sequence[float] | None = None,
        priority: Sequence[int] | None = None,
        preemptive: bool = False,
    ) -> None:
        self.env = env
        self.on_start = on_start
        self.on_finish = on_finish
        self.capacity = 0  # whole servers
        self.frac = 0.0  # speed of the partial server (0: none)
        self.size = 0.0
        self.busy = 0.0  # whole busy servers + the partial one's speed when busy
        self._n_whole = 0
        self.n_queued = 0
        self._part: Job | None = None  # the job on the partial server
        self._part_ev: Call | None = None
        self._share = list(class_share) if class_share is not None else [1.0] * n_classes
        self._prio = list(priority) if priority is not None else [0] * n_classes
        self._preemptive = preemptive and len(set(self._prio)) > 1
        self._queues: list[deque[Job]] = [deque() for _ in range(n_classes)]
        self._work: dict[tuple[int, int, int], list[float]] = {}  # queued: key -> [jobs, work]
        self._busy_k = [0] * n_classes
        self._running: list[dict[Job, Call]] = [{} for _ in range(n_classes)]
        self._seq = 0
        self._simple = all(s >= 1.0 for s in self._share) and len(set(self._prio)) == 1
        self._caps: list[int] = []
        self._set_size(capacity)
        # classes by urgency, most urgent first (stable in class order)
        self._by_prio = sorted(range(n_classes), key=lambda k: self._prio[k])

    def _set_size(self, size: float) -> None:
        size = max(0.0, float(size))
        whole = math.floor(size + 1e-9)
        frac = size - whole
        if frac < _MIN_FRAC:
            frac = 0.0
        self.size = whole + frac
        self.capacity = whole
        self.frac = frac
        self._caps = [whole + 1 if s >= 1.0 else int(s * whole) for s in self._share]  # + 1: the partial

    def _sync_busy(self) -> None:
        self.busy = self._n_whole + (self.frac if self._part is not None else 0.0)

    def _free(self) -> bool:
        """A server is free: a whole one, or the partial one."""
        return self._n_whole < self.capacity or (self.frac > 0.0 and self._part is None)

    def saturated(self) -> bool:
        return self.size == 0.0 or (not self._free() and self.n_queued > 0)

    # -- arrivals and dispatch -------------------------------------------------
    def arrive(self, job: Job) -> None:
        self._seq += 1
        job.seq = self._seq
        k = job.k
        if self._simple:  # one FCFS queue for every class
            if not self.n_queued and self._free():
                self._start(job)
                return
            self._queues[0].append(job)
            self.n_queued += 1
            self._add_work(job)
            return
        self._queues[k].append(job)
        self.n_queued += 1
        self._add_work(job)
        if self._preemptive and self._n_whole >= self.capacity:
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
        while self.n_queued and self._free():
            if self._simple:
                k = 0
            else:
                k = self._pick()
                if k < 0:
                    return
            job = self._queues[k].popleft()
            self.n_queued -= 1
            self._take_work(job)
            self._start(job)

    def _start(self, job: Job) -> None:
        k = job.k
        self._busy_k[k] += 1
        job.seg_start = self.env.now
        if self._n_whole < self.capacity:
            self._n_whole += 1
            ev = call_later(self.env, job.remaining, self._finish, job)
            self._running[k][job] = ev
        else:  # the partial server
            ev = call_later(self.env, job.remaining / self.frac, self._finish_part, job)
            self._part = job
            self._part_ev = ev
        self._sync_busy()
        self.on_start(job)

    def _finish(self, ev: Call) -> None:
        job: Job = ev._value
        running = self._running[job.k]
        if running.get(job) is not ev:  # preempted or evicted meanwhile
            return
        del running[job]
        self._n_whole -= 1
        self._busy_k[job.k] -= 1
        job.served += self.env.now - job.seg_start
        job.remaining = 0.0
        if self._part is not None and self._n_whole < self.capacity:
            self._start(self._stop_part())  # the partial server's job moves to the whole one
        self._sync_busy()
        self.on_finish(job)
        if self.n_queued:
            self._dispatch()
        self.settled()

    def _finish_part(self, ev: Call) -> None:
        if ev is not self._part_ev:  # moved, preempted or evicted meanwhile
            return
        job = self._stop_part()
        job.remaining = 0.0
        self.on_finish(job)
        if self.n_queued:
            self._dispatch()
        self.settled()

    def _stop_part(self) -> Job:
        """Take the job off the partial server, crediting the work it received there."""
        job = self._part
        assert job is not None
        got = (self.env.now - job.seg_start) * self.frac
        job.served += got
        job.remaining = max(0.0, job.remaining - got)
        self._busy_k[job.k] -= 1
        self._part = None
        self._part_ev = None
        self._sync_busy()
        return job

    def _requeue(self, job: Job) -> None:
        self._queues[0 if self._simple else job.k].appendleft(job)
        self.n_queued += 1
        self._add_work(job)

    def _add_work(self, job: Job) -> None:
        key = (job.r, job.k, job.due_h)
        e = self._work.get(key)
        if e is None:
            self._work[key] = [1.0, job.remaining]
        else:
            e[0] += 1.0
            e[1] += job.remaining

    def _take_work(self, job: Job) -> None:
        key = (job.r, job.k, job.due_h)
        e = self._work[key]
        if e[0] == 1.0:
            del self._work[key]  # exactly none left, whatever the rounding of the sum
        else:
            e[0] -= 1.0
            e[1] -= job.remaining  # the remaining it queued with: it changes only in service

    def _maybe_preempt(self, k: int) -> None:
        """Every whole server is busy: free one for class ``k`` from a less urgent job (the
        least urgent class, the most recently started), or else the partial server."""
        p = self._prio[k]
        for victim_k in reversed(self._by_prio):
            if self._prio[victim_k] <= p:
                break
            running = self._running[victim_k]
            if running:
                job, _ = running.popitem()
                self._stop(job)
                self._requeue(job)
                return
        part = self._part
        if self.frac > 0.0 and part is not None and self._prio[part.k] > p:
            self._requeue(self._stop_part())

    def _stop(self, job: Job) -> None:
        """Take a running job off its whole server (its finish event goes stale)."""
        elapsed = self.env.now - job.seg_start
        job.served += elapsed
        job.remaining = max(0.0, job.remaining - elapsed)
        self._n_whole -= 1
        self._busy_k[job.k] -= 1
        self._sync_busy()

    # -- capacity changes --------------------------------------------------------
    def set_capacity(self, capacity: float) -> None:
        """Change the number of servers (a fraction is the partial server's speed).

        Jobs running above the new capacity are preempted (the least urgent
        class first, the most recently started first) and wait at the head of
        their queue to resume where they stopped (preemptive resume): the
        servers were taken by latency flows, a fault or power management. The
        partial server's job goes back to the head of its queue with the work
        it received and starts again at once, on a whole server if one is free.
        """
        if self._part is not None:  # credited at the speed it had; restarts below
            self._requeue(self._stop_part())
        self._set_size(capacity)
        while self._n_whole > self.capacity:
            for k in reversed(self._by_prio):
                running = self._running[k]
                if running:
                    job, _ = running.popitem()  # most recently started
                    self._stop(job)
                    self._requeue(job)
                    break
        self._sync_busy()
        self._dispatch()

    def evict_all(self) -> list[Job]:
        out: list[Job] = []
        if self._part is not None:
            out.append(self._stop_part())
        for running in self._running:
            for job in list(running):
                self._stop(job)
                out.append(job)
            running.clear()
        for q in self._queues:
            out.extend(q)
            q.clear()
        self.n_queued = 0
        self._work.clear()
        return out

    def queued_jobs(self) -> list[Job]:
        return [job for q in self._queues for job in q]

    def queued_work(self) -> dict[tuple[int, int, int], float]:
        return {key: e[1] for key, e in self._work.items()}

    def close(self) -> None:
        now = self.env.now
        for running in self._running:
            for job in running:
                got = now - job.seg_start
                job.served += got
                job.remaining = max(0.0, job.remaining - got)
                job.seg_start = now
        part = self._part
        if part is not None:
            got = (now - part.seg_start) * self.frac
            part.served += got
            part.remaining = max(0.0, part.remaining - got)
            part.seg_start = now


class PsPool(Pool):
    """Processor sharing over ``capacity`` servers: n jobs each get min(1, c/n) of a server."""

    def __init__(
        self, env: simpy.Environment, capacity: float, on_start: OnEvent, on_finish: OnEvent
    ) -> None:
        self.env = env
        self.size = max(0.0, float(capacity))
        self.capacity = math.floor(self.size + 1e-9)
        self.on_start = on_start
        self.on_finish = on_finish
        self._ps = ProcessorSharing(env, capacity, 1.0, self._done)
        self.busy = 0.0
        self.n_queued = 0

    def _update(self) -> None:
        n = len(self._ps)
        self.busy = float(min(n, self.size))
        self.n_queued = max(0, math.ceil(n - self.size - 1e-9))

    def saturated(self) -> bool:
        return self.size == 0.0 or len(self._ps) > self.size

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

    def set_capacity(self, capacity: float) -> None:
        self.size = max(0.0, float(capacity))
        self.capacity = math.floor(self.size + 1e-9)
        self._ps.set_capacity(self.size)
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

    def queued_work(self) -> dict[tuple[int, int, int], float]:
        return {}

    def close(self) -> None:
        for job in self._ps.jobs():
            got = self._ps.received(job)
            job.served += got
            job.remaining = max(0.0, job.remaining - got)


def make_pools(
    env: simpy.Environment,
    slots: Sequence[int],
    n_classes: int,
    queue: str,
    on_start: Callable[[Job], None],
    on_finish: Callable[[Job], None],
    class_share: Sequence[float],
    class_priority: Sequence[int],
) -> list[Pool]:
    """One batch pool per cluster of ``slots`` simulated servers, queued by ``engine.queue``.

    ``ps``: processor sharing (:class:`PsPool`); ``fcfs`` and ``priority``
    (preemptive, by ``class_priority``): :class:`FcfsPool`.
    """
    pools: list[Pool] = []
    for n in slots:
        pool: Pool
        if queue == "ps":
            pool = PsPool(env, int(n), on_start, on_finish)
        else:
            pool = FcfsPool(
                env,
                int(n),
                n_classes,
                on_start,
                on_finish,
                class_share=class_share,
                priority=class_priority if queue == "priority" else None,
                preemptive=queue == "priority",
            )
        pools.append(pool)
    return pools
