"""Step logs: exact integrals per time step, folded a stretch at a time."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.steplog import N_SERIES, StepLog


class _Pool:
    """A stand-in pool whose counts the test sets between marks."""

    def __init__(self) -> None:
        self.busy = 0.0
        self.n_queued = 0


def _reference_integral(
    t0: float, v0: np.ndarray, times: np.ndarray, values: np.ndarray, t_end: float, edges: np.ndarray
) -> np.ndarray:
    """The integrals per bin, computed the plain way: values as columns (shape ``(n, m)``),
    over every bin given (what the engine did before folding by stretch and by rows)."""
    tt = np.concatenate(([t0], times, [t_end]))
    vv = np.vstack([v0[None, :], values]) if values.size else v0[None, :]
    cum = np.vstack([np.zeros((1, vv.shape[1])), np.cumsum(np.diff(tt)[:, None] * vv, axis=0)])
    e = np.clip(edges, t0, t_end)
    j = np.clip(np.searchsorted(tt, e, side="right") - 1, 0, len(vv) - 1)
    out: np.ndarray = np.diff(cum[j] + (e - tt[j])[:, None] * vv[j], axis=0)
    return out


def _log(pool: _Pool, scale: float = 1.0) -> StepLog:
    def read() -> tuple[float, float, float, float, float, float]:
        return (pool.busy, pool.n_queued, 0.0, 10.0, 0.0, 0.0)

    return StepLog(read, scale)


def test_hand_computed_bins() -> None:
    # busy 0 on [0, 30), 2 on [30, 130), 1 on [130, 200): bins of 100 s
    pool = _Pool()
    log = _log(pool)
    edges = np.array([0.0, 100.0, 200.0, 300.0])
    acc = np.zeros((3, N_SERIES))
    pool.busy = 2.0
    log.mark(30.0)
    pool.busy = 1.0
    log.mark(130.0)
    log.integrate_into(acc, 200.0, edges)
    np.testing.assert_allclose(acc[:, 0], [140.0, 130.0, 0.0])
    np.testing.assert_allclose(acc[:, 3], [1000.0, 1000.0, 0.0])  # 10 powered, or busy if more
    # the next fold starts where this one ended and carries the last value on
    log.integrate_into(acc, 250.0, edges)
    np.testing.assert_allclose(acc[:, 0], [140.0, 130.0, 50.0])


def test_batch_counts_are_scaled() -> None:
    pool = _Pool()
    log = _log(pool, scale=1000.0)
    edges = np.array([0.0, 10.0])
    acc = np.zeros((1, N_SERIES))
    pool.busy, pool.n_queued = 0.5, 3  # half of a simulated server busy, three jobs queued
    log.mark(0.0)
    log.integrate_into(acc, 10.0, edges)
    assert acc[0, 0] == 5000.0
    assert acc[0, 1] == 30000.0


@settings(max_examples=60, deadline=None)
@given(
    marks=st.lists(
        st.tuples(st.floats(0.0, 1000.0), st.floats(0.0, 50.0), st.integers(0, 20)), min_size=0, max_size=40
    ),
    cuts=st.lists(st.floats(0.0, 1000.0), max_size=6),
    step=st.sampled_from([7.0, 50.0, 100.0, 300.0]),
)
def test_folding_a_stretch_at_a_time_is_exact(
    marks: list[tuple[float, float, int]], cuts: list[float], step: float
) -> None:
    """Folds over the bins of their own stretch, series as rows, add up bit for bit to folds over
    all bins with the series as columns."""
    horizon = 1000.0
    edges = np.append(np.arange(0.0, horizon, step), horizon)
    folds = sorted({*cuts, horizon})
    pool = _Pool()
    log = _log(pool)
    acc = np.zeros((edges.size - 1, N_SERIES))
    ref = np.zeros_like(acc)
    # the reference: every fold over the whole horizon's bins (what the engine did before)
    last_t, last_v = 0.0, np.array([0.0, 0.0, 0.0, 10.0, 0.0, 0.0])
    events = sorted(marks)
    i = 0
    for t_end in folds:
        times, values = [], []
        while i < len(events) and events[i][0] <= t_end:
            t, busy, queued = events[i]
            pool.busy, pool.n_queued = busy, queued
            log.mark(t)
            times.append(t)
            values.append([busy, queued, 0.0, max(10.0, busy), 0.0, 0.0])
            i += 1
        log.integrate_into(acc, t_end, edges)
        vals = np.asarray(values, dtype=float).reshape(-1, N_SERIES)
        ref += _reference_integral(last_t, last_v, np.asarray(times, dtype=float), vals, t_end, edges)
        if vals.size:
            last_v = vals[-1]
        last_t = t_end
    np.testing.assert_array_equal(acc, ref)
