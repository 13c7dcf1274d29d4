"""Percentiles of a histogram plus an independent variable, against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.demand.sizes import draw_sizes, size_cdf
from sim.engine.histogram import H_BINS, H_LO, H_PER_DECADE, hist_percentile, hist_sum_percentiles


def _centre(j: int) -> float:
    return H_LO * 10.0 ** ((j + 0.5) / H_PER_DECADE)


def _exp(mean: float):  # type: ignore[no-untyped-def]
    return lambda x: size_cdf("exponential", mean, 1.0, x)


def test_all_at_zero_gives_the_law_s_quantiles() -> None:
    hist = np.zeros(H_BINS)
    hist[0] = 7.0
    got = hist_sum_percentiles(hist, _exp(0.05), (50, 95, 99))
    for q, g in zip((50, 95, 99), got, strict=True):
        assert g == pytest.approx(-0.05 * math.log(1.0 - q / 100.0), rel=1e-10)


def test_one_bin_plus_a_fixed_size_is_their_sum() -> None:
    hist = np.zeros(H_BINS)
    j = 4321
    hist[j] = 1.0
    got = hist_sum_percentiles(hist, lambda x: size_cdf("fixed", 0.2, 0.0, x), (1, 50, 99))
    assert got == pytest.approx([_centre(j) + 0.2] * 3, rel=1e-10)


def test_two_bins_plus_an_exponential_by_hand() -> None:
    """Above the larger shift b, P(a + X > x) / 2 + P(b + X > x) / 2 = exp(-x / m) (e^(a/m) + e^(b/m)) / 2,
    so the quantile p is m ln((e^(a/m) + e^(b/m)) / (2 (1 - p)))."""
    hist = np.zeros(H_BINS)
    ja, jb = 5000, 5600  # 10 ms and ~40 ms
    hist[ja] = hist[jb] = 3.0
    a, b, m = _centre(ja), _centre(jb), 0.05
    for q in (95, 99):
        (got,) = hist_sum_percentiles(hist, _exp(m), (q,))
        truth = m * math.log((math.exp(a / m) + math.exp(b / m)) / (2.0 * (1.0 - q / 100.0)))
        assert truth > b
        assert got == pytest.approx(truth, rel=1e-10)


def test_a_zero_size_reads_the_histogram_percentile() -> None:
    rng = np.random.default_rng(5)
    hist = np.zeros(H_BINS)
    np.add.at(hist, rng.integers(3000, 9000, 500), rng.random(500))
    got = hist_sum_percentiles(hist, lambda x: size_cdf("fixed", 0.0, 0.0, x), (10, 50, 95))
    want = [hist_percentile(hist, q) for q in (10, 50, 95)]
    assert got == pytest.approx(want, rel=1e-10)


def test_agrees_with_draws() -> None:
    """Two million draws of (histogram value, lognormal size): the percentiles agree within 1 %."""
    rng = np.random.default_rng(11)
    hist = np.zeros(H_BINS)
    np.add.at(hist, rng.integers(4000, 7000, 300), rng.random(300))
    n = 2_000_000
    j = np.searchsorted(np.cumsum(hist) / hist.sum(), rng.random(n), side="right")
    sample = np.where(j == 0, 0.0, H_LO * 10.0 ** ((j + 0.5) / H_PER_DECADE)) + draw_sizes(
        rng, "lognormal", 0.03, 2.0, n
    )
    want = np.percentile(sample, [50, 95, 99])
    got = hist_sum_percentiles(hist, lambda x: size_cdf("lognormal", 0.03, 2.0, x), (50, 95, 99))
    assert got == pytest.approx(want.tolist(), rel=0.01)


def test_empty_histogram() -> None:
    assert hist_sum_percentiles(np.zeros(H_BINS), _exp(1.0), (50, 99)) == [None, None]
