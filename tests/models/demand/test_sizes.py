"""Size laws: the distribution function is the law the sampler draws, checked by hand and by draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.demand.sizes import SIZE_DISTS, draw_sizes, size_cdf


@pytest.mark.parametrize(
    ("dist", "mean", "cv"),
    [("exponential", 2.0, 1.0), ("lognormal", 0.05, 1.5), ("lognormal", 3.0, 0.3), ("pareto", 1.0, 2.0)],
)
def test_cdf_is_the_sampled_law(dist: str, mean: float, cv: float) -> None:
    """Kolmogorov-Smirnov distance of 200,000 draws from the CDF: below 0.005
    (the 1 % critical value is 1.63 / sqrt(n) = 0.0036)."""
    x = np.sort(draw_sizes(np.random.default_rng(3), dist, mean, cv, 200_000))
    f = size_cdf(dist, mean, cv, x)
    n = x.size
    ks = max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))
    assert ks < 0.005, ks


def test_cdf_by_hand() -> None:
    assert size_cdf("exponential", 2.0, 1.0, 2.0 * math.log(2.0)) == pytest.approx(0.5, abs=1e-15)
    assert size_cdf("exponential", 2.0, 1.0, -1.0) == 0.0
    # lognormal: the median is exp(mu) = mean / sqrt(1 + cv^2)
    assert size_cdf("lognormal", 3.0, 0.5, 3.0 / math.sqrt(1.25)) == pytest.approx(0.5, abs=1e-15)
    assert size_cdf("lognormal", 3.0, 0.5, 0.0) == 0.0
    # pareto: nothing below x_m = mean (a - 1) / a, half below x_m 2^(1/a)
    a = 2.5
    xm = 1.0 * (a - 1.0) / a
    got = size_cdf("pareto", 1.0, 0.0, [0.99 * xm, xm, xm * 2.0 ** (1.0 / a)], alpha=a)
    assert got.tolist() == pytest.approx([0.0, 0.0, 0.5], abs=1e-15)
    assert size_cdf("fixed", 4.0, 0.0, [3.999, 4.0, 5.0]).tolist() == [0.0, 1.0, 1.0]
    assert size_cdf("lognormal", 4.0, 0.0, [3.999, 4.0, 5.0]).tolist() == [0.0, 1.0, 1.0]


@pytest.mark.parametrize(("dist", "cv"), [("exponential", 1.0), ("lognormal", 0.8), ("pareto", 0.7)])
def test_mean_is_the_integral_of_the_survival_function(dist: str, cv: float) -> None:
    """E[X] = integral of 1 - F over x >= 0 (the Pareto's cv 0.7 is a tail index 3.2)."""
    mean = 1.5
    x = np.linspace(0.0, 400.0 * mean, 2_000_001)
    survival = 1.0 - size_cdf(dist, mean, cv, x)
    integral = float(np.sum((survival[1:] + survival[:-1]) / 2.0 * np.diff(x)))
    assert integral == pytest.approx(mean, rel=1e-4)


def test_unknown_law_and_bad_pareto_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown size distribution"):
        size_cdf("weibull", 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="alpha > 1"):
        size_cdf("pareto", 1.0, 1.0, 1.0, alpha=1.0)


@settings(max_examples=60, deadline=None)
@given(
    dist=st.sampled_from(SIZE_DISTS),
    mean=st.floats(1e-4, 1e4),
    cv=st.floats(0.05, 20.0),
    xs=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30),
)
def test_cdf_is_a_distribution_function(dist: str, mean: float, cv: float, xs: list[float]) -> None:
    x = np.sort(np.asarray(xs))
    f = size_cdf(dist, mean, cv, x)
    assert np.all((f >= 0.0) & (f <= 1.0))
    assert np.all(np.diff(f) >= 0.0)
    assert np.all(f[x < 0.0] == 0.0)
