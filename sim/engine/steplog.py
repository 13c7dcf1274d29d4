"""Exact time integrals of step functions (busy servers, queue length, transfers).

The engine appends ``(time, value...)`` to a :class:`StepLog` whenever a
cluster's state changes (a list append: nothing else happens on the hot
path). Every so often :meth:`StepLog.integrate_into` folds the entries into
per-time-step integrals with NumPy and clears them, so memory stays flat
however long the horizon.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np


class _Busy(Protocol):
    @property
    def busy(self) -> float: ...
    @property
    def n_queued(self) -> int: ...


Raw = tuple[float, float, float, float, float, float]


def state_reader(
    pool: _Busy,
    c: int,
    transfers: Sequence[float],
    booting: Sequence[int],
    latency_load: Sequence[float] | np.ndarray,
    online: Sequence[int],
) -> Callable[[], Raw]:
    """The reader a cluster's :class:`StepLog` samples on the hot path: raw counts.

    Returns (simulated busy, simulated queued, simulated in transfer, online real
    servers, booting real servers, latency busy real servers), read as they are;
    :func:`to_real` converts them to the series the log integrates.
    """

    def read() -> Raw:
        return (pool.busy, pool.n_queued, transfers[c], online[c], booting[c], latency_load[c])

    return read


N_SERIES = 6  # busy, queued, in transfer, powered, booting (real servers / jobs), latency busy


def to_real(raw: Sequence[np.ndarray], scale: float) -> np.ndarray:
    """Raw series (one array each, in :func:`state_reader`'s order) -> the (busy, queued, in
    transfer, powered, booting, latency busy) series in real units, one row each: shape
    ``(N_SERIES, n)``.

    Batch counts are simulated ones times ``scale``; powered servers are the online
    ones, or more while batch jobs above them finish.
    """
    lat = raw[5]
    busy = lat + raw[0] * scale
    out = np.empty((N_SERIES, lat.size))
    out[0] = busy
    out[1] = raw[1] * scale
    out[2] = raw[2] * scale
    out[3] = np.maximum(raw[3], busy)
    out[4] = raw[4]
    out[5] = lat
    return out


def step_integral(
    t0: float, v0: np.ndarray, times: np.ndarray, rows: np.ndarray, t_end: float, edges: np.ndarray
) -> np.ndarray:
    """Integral over each bin ``[edges[j], edges[j+1])`` of right-continuous step functions.

    Row ``k`` of ``rows`` (shape ``(m, n)``) is one function: it equals ``v0[k]`` on
    ``[t0, times[0])``, ``rows[k, i]`` on ``[times[i], times[i+1])`` and ``rows[k, -1]``
    up to ``t_end``, and is taken as zero outside ``[t0, t_end)``. The result has shape
    ``(len(edges) - 1, m)``. Each row is read along memory (cumulative sums of its pieces).
    """
    tt = np.concatenate(([t0], times, [t_end]))
    m, n = rows.shape
    vv = np.empty((m, n + 1))
    vv[:, 0] = v0
    vv[:, 1:] = rows
    cum = np.zeros((m, n + 2))
    np.cumsum(np.diff(tt)[None, :] * vv, axis=1, out=cum[:, 1:])  # integral up to each change
    e = np.clip(edges, t0, t_end)
    j = np.clip(np.searchsorted(tt, e, side="right") - 1, 0, n)
    f = cum[:, j] + (e - tt[j])[None, :] * vv[:, j]
    out: np.ndarray = np.diff(f, axis=1).T
    return out


class StepLog:
    """Change points of one cluster's (busy, queued, in-transfer, powered, booting, latency busy) counts.

    ``read`` returns raw counts (:func:`state_reader`); they are converted to real
    units with ``scale`` when the log is integrated, not on the hot path. Each
    series is kept in a list of its own, so that a fold reads it as one array.
    """

    __slots__ = ("_read", "last_t", "last_v", "s0", "s1", "s2", "s3", "s4", "s5", "scale", "t")

    def __init__(self, read: Callable[[], Raw], scale: float = 1.0, t0: float = 0.0) -> None:
        self._read = read
        self.scale = float(scale)
        self.t: list[float] = []
        self.s0: list[float] = []
        self.s1: list[float] = []
        self.s2: list[float] = []
        self.s3: list[float] = []
        self.s4: list[float] = []
        self.s5: list[float] = []
        self.last_t = t0
        self.last_v = to_real([np.asarray([x], dtype=float) for x in read()], self.scale)[:, 0]

    def mark(self, now: float) -> None:
        self.t.append(now)
        v = self._read()
        self.s0.append(v[0])
        self.s1.append(v[1])
        self.s2.append(v[2])
        self.s3.append(v[3])
        self.s4.append(v[4])
        self.s5.append(v[5])

    def integrate_into(self, acc: np.ndarray, t_end: float, edges: np.ndarray) -> None:
        """Add the integrals per bin of the entries since the last call, up to ``t_end``, to
        ``acc`` (shape ``(len(edges) - 1, N_SERIES)``); then forget the entries.

        Only the bins from the one holding the last call's ``t_end`` to the one holding this
        ``t_end`` are computed (the others would get exactly zero): a fold costs what its
        entries and its stretch of time cost, not what the whole horizon does (a year has
        105,120 five-minute bins; folding each day over all of them cost the year 160 s).
        """
        series = (self.s0, self.s1, self.s2, self.s3, self.s4, self.s5)
        times = np.asarray(self.t, dtype=float)
        rows = to_real([np.asarray(s, dtype=float) for s in series], self.scale)
        n_bins = edges.size - 1
        lo = min(max(int(np.searchsorted(edges, self.last_t, side="right")) - 1, 0), n_bins)
        hi = min(max(int(np.searchsorted(edges, t_end, side="left")), lo), n_bins)
        if hi > lo:
            acc[lo:hi] += step_integral(self.last_t, self.last_v, times, rows, t_end, edges[lo : hi + 1])
        if times.size:
            self.last_v = rows[:, -1].copy()
        self.last_t = t_end
        self.t.clear()
        for s in series:
            s.clear()
