"""Server pools with a fractional capacity: whole servers and one partial server.

Independent truth: a saturated pool of ``x`` servers does ``x`` units of work per
unit time, whatever ``x`` and however often it changes; a completed job has
received exactly its hold; an M/M/1 whose real servers are not a multiple of
``engine.job_scale`` keeps the real pool's capacity (the floor of n / S lost up
to a whole simulated server).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.job import Job
from sim.engine.pools import FcfsPool
from tests.helpers import run_in_memory, single_queue_config


def _pool(
    env: simpy.Environment, capacity: float, n_classes: int = 1, **kw: Any
) -> tuple[FcfsPool, list[Job]]:
    done: list[Job] = []
    pool = FcfsPool(env, capacity, n_classes, lambda j: None, done.append, **kw)
    return pool, done


def _jobs(n: int, hold: float | list[float], k: list[int] | None = None) -> list[Job]:
    holds = hold if isinstance(hold, list) else [hold] * n
    ks = k if k is not None else [0] * n
    return [Job(i, ks[i], 0, 0.0, holds[i], holds[i], 0.0) for i in range(n)]


def test_a_saturated_pool_of_two_and_a_half_servers_does_two_and_a_half_units_of_work() -> None:
    env = simpy.Environment()
    pool, done = _pool(env, 2.5)
    jobs = _jobs(200, 1.0)
    for j in jobs:
        pool.arrive(j)
    samples: list[float] = []

    def sampler() -> Any:
        while True:
            samples.append(pool.busy)
            yield env.timeout(0.37)

    env.process(sampler())
    env.run(until=20.0)
    pool.close()
    assert set(samples) == {2.5}  # the partial server is never idle while work waits
    assert sum(j.served for j in jobs) == pytest.approx(2.5 * 20.0, rel=1e-12)
    # whole servers finish a job every unit of time; the partial server's work moves with them
    assert len(done) == pytest.approx(2.5 * 20.0, abs=2)
    assert all(j.served == pytest.approx(j.hold, rel=1e-12) for j in done)


def test_the_partial_server_s_job_moves_to_the_first_whole_server_that_frees() -> None:
    env = simpy.Environment()
    ended: dict[int, float] = {}
    pool = FcfsPool(env, 1.5, 1, lambda j: None, lambda j: ended.setdefault(j.id, env.now))
    a, b = _jobs(2, [1.0, 2.0])
    pool.arrive(a)  # whole server
    pool.arrive(b)  # partial server, speed 0.5
    env.run()
    # b gets 0.5 of work by t = 1, then the whole server: 1.5 more, ends at 2.5 (not at 4)
    assert ended == pytest.approx({0: 1.0, 1: 2.5})
    assert b.served == pytest.approx(2.0)


def test_an_urgent_job_takes_a_whole_server_from_a_less_urgent_one_not_the_partial_server() -> None:
    """Capacity 1.5, preemptive priority: the urgent job preempts the running batch job's
    whole server (serving at full speed); the preempted job resumes on the partial server
    (speed 0.5) and moves back to the whole server when it frees. By hand: hi ends at 1,
    lo gets 0.5 of work by then and its remaining 1.5 by 2.5."""
    env = simpy.Environment()
    ended: dict[int, float] = {}
    pool = FcfsPool(
        env,
        1.5,
        2,
        lambda j: None,
        lambda j: ended.setdefault(j.id, env.now),
        priority=[0, 1],
        preemptive=True,
    )
    lo, hi = _jobs(2, [2.0, 1.0], k=[1, 0])
    pool.arrive(lo)
    pool.arrive(hi)
    env.run()
    assert ended == pytest.approx({1: 1.0, 0: 2.5})
    assert lo.served == pytest.approx(2.0) and hi.served == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    changes=st.lists(st.tuples(st.floats(0.05, 3.0), st.floats(0.0, 4.0)), min_size=1, max_size=12),
    start=st.floats(0.0, 4.0),
    priority=st.booleans(),
)
def test_work_done_is_the_integral_of_capacity_while_saturated(
    changes: list[tuple[float, float]], start: float, priority: bool
) -> None:
    """Capacity changes at random times (partial server included), with or without
    preemptive priority: every completed job received exactly its hold, and the work done
    is the integral of the capacity, since work always waits."""
    env = simpy.Environment()
    kw: dict[str, Any] = {"priority": [0, 1], "preemptive": True} if priority else {}
    pool, done = _pool(env, start, n_classes=2 if priority else 1, **kw)
    rng = np.random.default_rng(0)
    n = 400
    ks = (rng.random(n) < 0.3).astype(int).tolist() if priority else None
    jobs = _jobs(n, rng.exponential(0.5, n).tolist(), ks)
    for j in jobs:
        pool.arrive(j)
    integral, t, size = 0.0, 0.0, pool.size

    def driver() -> Any:
        nonlocal integral, t, size
        for dt, cap in changes:
            yield env.timeout(dt)
            integral += size * dt
            t = env.now
            pool.set_capacity(cap)
            size = pool.size

    env.process(driver())
    horizon = sum(dt for dt, _ in changes) + 1.0
    env.run(until=horizon)
    integral += size * (horizon - t)
    pool.close()
    assert sum(j.served for j in jobs) == pytest.approx(integral, rel=1e-9, abs=1e-9)
    assert all(j.served == pytest.approx(j.hold, rel=1e-9) for j in done)
    assert all(j.served <= j.hold + 1e-9 for j in jobs)


def _erlang_c(c: int, a: float) -> float:
    b = 1.0
    for n in range(1, c + 1):  # Erlang B by its recursion
        b = a * b / (n + a * b)
    return b / (1.0 - a / c * (1.0 - b))


def test_a_pool_that_is_not_a_multiple_of_the_job_scale_keeps_its_real_queueing() -> None:
    """25 real servers at ``engine.job_scale: 10`` are 2.5 simulated servers, not 2.

    Offered load 20 real servers (utilisation 0.8). With the floor, 2 simulated servers
    would carry 2 simulated erlangs (utilisation 1: waits of hours, 6,461 s measured); with
    the partial server the mean wait is the real M/M/25's, Erlang C: 25.1 s (three
    replications of 400 h, within 25 %), and the busy servers average the offered 20.
    """
    hold_s, horizon_h = 600.0, 400.0
    truth_s = _erlang_c(25, 20.0) / (25 - 20.0) * hold_s
    waits, busy = [], []
    for seed in (3, 4, 5):
        doc = single_queue_config(25, 20 * 3600.0 / hold_s, hold_s, horizon_h, seed=seed)
        doc["engine"]["job_scale"] = 10
        doc["engine"]["max_jobs"] = 10**7
        _, out = run_in_memory(doc)
        busy.append(out.timeseries.to_pandas()["busy_servers"].to_numpy()[10:].mean())
        jobs = out.jobs.to_pandas()
        waits.append((jobs.start_s - jobs.arrival_s).dropna().mean())
    assert np.mean(busy) == pytest.approx(20.0, rel=0.02)
    assert np.mean(waits) == pytest.approx(truth_s, rel=0.25)


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.floats(0.0, 1.5), st.sampled_from(["arrive", "capacity", "evict"]), st.floats(0.0, 3.0)),
        min_size=1,
        max_size=40,
    ),
    priority=st.booleans(),
)
def test_the_queued_work_kept_as_jobs_queue_is_the_sum_over_the_queued_jobs(
    ops: list[tuple[float, str, float]], priority: bool
) -> None:
    """Arrivals, capacity changes (preempting and requeueing jobs) and evictions at random:
    the pool's running sums by (region, class, due hour) always equal the queued jobs'."""
    env = simpy.Environment()
    kw: dict[str, Any] = {"priority": [0, 1], "preemptive": True} if priority else {}
    pool, _ = _pool(env, 1.5, n_classes=2, **kw)
    rng = np.random.default_rng(1)
    checks: list[tuple[dict[tuple[int, int, int], float], dict[tuple[int, int, int], float]]] = []

    def expected() -> dict[tuple[int, int, int], float]:
        out: dict[tuple[int, int, int], float] = {}
        for j in pool.queued_jobs():
            key = (j.r, j.k, j.due_h)
            out[key] = out.get(key, 0.0) + j.remaining
        return out

    def driver() -> Any:
        n = 0
        for dt, op, x in ops:
            yield env.timeout(dt)
            if op == "arrive":
                for _ in range(1 + int(x * 3)):
                    job = Job(n, int(rng.integers(2)), int(rng.integers(2)), env.now, x + 0.1, x + 0.1, 0.0)
                    job.due_h = int(rng.integers(3))
                    n += 1
                    pool.arrive(job)
            elif op == "capacity":
                pool.set_capacity(x)
            else:
                pool.evict_all()
            checks.append((pool.queued_work(), expected()))

    env.process(driver())
    env.run()
    for got, want in checks:
        assert got.keys() == want.keys()  # a key with no job left is gone, not a rounding residue
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12)
