"""Exact time integrals of step functions (busy servers, queue length, transfers).

The engine appends ``(time, value...)`` to a :class:`StepLog` whenever a
cluster's state changes (a list append: nothing else happens on the hot
path). Every so often :meth:`StepLog.integrate` folds the entries into
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


def state_reader(
    pool: _Busy,
    c: int,
    scale: float,
    transfers: Sequence[float],
    booting: Sequence[int],
    latency_load: Sequence[float] | np.ndarray,
    online: Sequence[int],
) -> Callable[[], tuple[float, float, float, float, float, float]]:
    """The reader a cluster's :class:`StepLog` samples, in real units.

    Returns (busy, queued, in transfer, powered, booting, latency busy) servers or
    jobs: batch counts are simulated ones times ``scale``; powered servers are the
    online ones, or more while batch jobs above them finish.
    """

    def read() -> tuple[float, float, float, float, float, float]:
        lat_busy = float(latency_load[c])
        busy = lat_busy + float(pool.busy) * scale
        return (
            busy,
            float(pool.n_queued) * scale,
            float(transfers[c]) * scale,
            max(float(online[c]), busy),
            float(booting[c]),
            lat_busy,
        )

    return read


def step_integral(
    t0: float, v0: np.ndarray, times: np.ndarray, values: np.ndarray, t_end: float, edges: np.ndarray
) -> np.ndarray:
    """Integral over each bin ``[edges[j], edges[j+1])`` of a right-continuous step function.

    The function equals ``v0`` on ``[t0, times[0])``, ``values[i]`` on
    ``[times[i], times[i+1])`` and ``values[-1]`` up to ``t_end``; it is taken
    as zero outside ``[t0, t_end)``. ``values`` may have several columns
    (shape ``(n, m)``); the result has shape ``(len(edges) - 1, m)``.
    """
    tt = np.concatenate(([t0], times, [t_end]))
    vv = np.vstack([v0[None, :], values]) if values.size else v0[None, :]
    seg = np.diff(tt)[:, None] * vv  # integral of each constant piece
    cum = np.vstack([np.zeros((1, vv.shape[1])), np.cumsum(seg, axis=0)])

    e = np.clip(edges, t0, t_end)
    j = np.clip(np.searchsorted(tt, e, side="right") - 1, 0, len(vv) - 1)
    f = cum[j] + (e - tt[j])[:, None] * vv[j]
    return np.diff(f, axis=0)


N_SERIES = 6  # busy, queued, in transfer, powered, booting (real servers / jobs), latency busy


class StepLog:
    """Change points of one cluster's (busy, queued, in-transfer, powered, booting, latency busy) counts."""

    __slots__ = ("_read", "last_t", "last_v", "t", "v")

    def __init__(
        self, read: Callable[[], tuple[float, float, float, float, float, float]], t0: float = 0.0
    ) -> None:
        self._read = read
        self.t: list[float] = []
        self.v: list[tuple[float, float, float, float, float, float]] = []
        self.last_t = t0
        self.last_v = np.asarray(read(), dtype=float)

    def mark(self, now: float) -> None:
        self.t.append(now)
        self.v.append(self._read())

    def integrate(self, t_end: float, edges: np.ndarray) -> np.ndarray:
        """Integrals per bin of the entries since the last call, up to ``t_end``; then forget them."""
        times = np.asarray(self.t, dtype=float)
        values = np.asarray(self.v, dtype=float).reshape(-1, N_SERIES)
        out = step_integral(self.last_t, self.last_v, times, values, t_end, edges)
        if values.size:
            self.last_v = values[-1].copy()
        self.last_t = t_end
        self.t.clear()
        self.v.clear()
        return out
