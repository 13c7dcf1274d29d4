"""Latency histograms: log-spaced bins from 1 us to ~30 years, 1000 per decade.

A percentile read from them is within 0.12 % of the exact value. Discrete
jobs add one count per job (:func:`hist_index`); latency flows add the exact
mass of their waiting-time law per bin (:func:`add_shifted_wait`).
:func:`hist_sum_percentiles` reads percentiles of a histogram's values plus an
independent variable of known law (a latency class's response: RTT + wait + service).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

H_LO, H_DECADES, H_PER_DECADE = 1e-6, 15, 1000
H_BINS = H_DECADES * H_PER_DECADE
_TAIL_CUT = 1e-12  # tail mass left out of the exponential part (goes to its last bin)


def hist_index(x: np.ndarray) -> np.ndarray:
    """Bin of each value (seconds); values below 1 us go to bin 0."""
    with np.errstate(divide="ignore"):
        idx = np.floor(np.log10(np.maximum(x, H_LO) / H_LO) * H_PER_DECADE)
    out: np.ndarray = np.clip(idx, 0, H_BINS - 1).astype(np.int64)
    return out


def _index(x: float) -> int:
    if x <= H_LO:
        return 0
    return min(H_BINS - 1, math.floor(math.log10(x / H_LO) * H_PER_DECADE))


def bin_edges(lo: int, hi: int) -> np.ndarray:
    """Lower edges (seconds) of bins ``lo .. hi - 1``."""
    out: np.ndarray = H_LO * 10.0 ** (np.arange(lo, hi) / H_PER_DECADE)
    return out


def hist_percentile(counts: np.ndarray, q: float) -> float | None:
    """The q-th percentile (seconds) of a histogram (None when it is empty)."""
    cum = np.cumsum(counts)
    n = float(cum[-1]) if cum.size else 0.0
    if n <= 0:
        return None
    rank = q / 100.0 * n
    j = int(np.searchsorted(cum, rank * (1 - 1e-12)))
    if j == 0:
        return 0.0
    return float(H_LO * 10 ** ((j + 0.5) / H_PER_DECADE))


def hist_sum_percentiles(
    counts: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray], qs: Sequence[float]
) -> list[float | None]:
    """Percentiles (seconds) of ``H + X``: ``H`` from the histogram, ``X`` independent of it.

    Parameters
    ----------
    counts : numpy.ndarray
        A histogram (:data:`H_BINS` bins), each bin's values read at its geometric
        centre and bin 0 at zero, as :func:`hist_percentile` reads them.
    cdf : callable
        ``P(X <= x)`` at each element of an array ``x`` (any sign); ``X >= 0``.
    qs : sequence of float
        Percentiles, each in (0, 100).

    Returns
    -------
    list of float or None
        ``inf {x : P(H + X <= x) >= q / 100}`` for each ``q``, found by bisection on
        the exact mixture ``P(H + X <= x) = sum_j w_j P(X <= x - h_j)`` to a relative
        1e-12 (all None when the histogram is empty).
    """
    nz = np.flatnonzero(counts > 0)
    total = float(counts[nz].sum()) if nz.size else 0.0
    if total <= 0.0:
        return [None for _ in qs]
    w = counts[nz] / total
    h = np.where(nz == 0, 0.0, H_LO * 10.0 ** ((nz + 0.5) / H_PER_DECADE))

    def mix(x: float) -> float:
        return float(np.dot(w, cdf(x - h)))

    out: list[float | None] = []
    for q in qs:
        p = q / 100.0
        if mix(0.0) >= p:
            out.append(0.0)
            continue
        lo, hi = 0.0, max(float(h[-1]), H_LO)
        while mix(hi) < p and hi < 1e300:
            lo, hi = hi, hi * 2.0
        while hi - lo > 1e-12 * hi:
            mid = 0.5 * (lo + hi)
            if mix(mid) >= p:
                hi = mid
            else:
                lo = mid
        out.append(hi)
    return out


def add_shifted_wait(hist: np.ndarray, n: float, shift_s: float, p_wait: float, decay_per_s: float) -> None:
    """Add ``n`` values of ``shift_s + W`` with ``P(W > t) = p_wait exp(-decay t)``.

    The atom ``1 - p_wait`` lands in the bin of ``shift_s``; the exponential
    tail is spread over the bins it covers by its exact CDF at the bin edges
    (cut where less than 1e-12 of it is left, which joins the last bin).
    """
    if n <= 0.0:
        return
    i0 = _index(shift_s)
    if p_wait <= 0.0 or p_wait * n < 1e-9:
        hist[i0] += n
        return
    if decay_per_s <= 0.0 or not math.isfinite(decay_per_s):
        hist[i0] += n * (1.0 - p_wait)
        hist[H_BINS - 1 if decay_per_s <= 0.0 else i0] += n * p_wait
        return
    span = math.log(max(p_wait / _TAIL_CUT, 1.0)) / decay_per_s
    i1 = _index(shift_s + span)
    if i1 <= i0:
        hist[i0] += n
        return
    upper = bin_edges(i0 + 1, i1 + 1)  # upper edges of bins i0 .. i1 - 1
    cdf = 1.0 - p_wait * np.exp(-decay_per_s * np.maximum(upper - shift_s, 0.0))
    mass = np.diff(np.concatenate(([0.0], cdf, [1.0])))
    hist[i0 : i1 + 1] += n * mass


def add_exp_tails(hist: np.ndarray, n: np.ndarray, shift_s: np.ndarray, decay_per_s: np.ndarray) -> None:
    """Add ``n[i]`` values of ``shift_s[i] + Exp(decay_per_s[i])`` for every i at once.

    Vectorised :func:`add_shifted_wait` for the waiting part (``p_wait = 1``):
    each exponential is spread over the bins it covers by its exact CDF at the
    bin edges, cut where less than 1e-12 of it is left (which joins its last bin).
    """
    if n.size == 0:
        return
    span = math.log(1.0 / _TAIL_CUT) / decay_per_s
    i0 = hist_index(shift_s)
    i1 = np.maximum(hist_index(shift_s + span), i0)
    lens = i1 - i0
    total = int(lens.sum())
    if total:
        comp = np.repeat(np.arange(n.size), lens)
        starts = np.cumsum(lens) - lens
        j = i0[comp] + (np.arange(total) - starts[comp])
        upper = H_LO * 10.0 ** ((j + 1) / H_PER_DECADE)
        cdf = 1.0 - np.exp(-decay_per_s[comp] * np.maximum(upper - shift_s[comp], 0.0))
        prev = np.concatenate(([0.0], cdf[:-1]))
        prev[starts[lens > 0]] = 0.0
        np.add.at(hist, j, n[comp] * (cdf - prev))
        last = np.zeros(n.size)
        has = lens > 0
        last[has] = cdf[starts[has] + lens[has] - 1]
    else:
        last = np.zeros(n.size)
    np.add.at(hist, i1, n * (1.0 - last))
