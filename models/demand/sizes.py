"""Size laws of jobs: service times and data volumes, one real job or a bundle of S.

:func:`draw_sizes` draws one real job's size; :func:`draw_bundle_sizes` draws
the mean of S real sizes, the size of a bundle (see :mod:`models.demand.bundles`);
:func:`size_cdf` is the distribution function of the law :func:`draw_sizes` draws.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

FloatArray = NDArray[np.float64]

SIZE_DISTS = ("exponential", "fixed", "lognormal", "pareto")


def pareto_alpha_for_cv(cv: float) -> float:
    """Pareto tail index with coefficient of variation ``cv`` (> 0): ``1 + sqrt(1 + 1/cv^2)``."""
    if cv <= 0:
        raise ValueError("a Pareto distribution needs cv > 0")
    return float(1.0 + np.sqrt(1.0 + 1.0 / (cv * cv)))


def draw_sizes(
    rng: np.random.Generator, dist: str, mean: float, cv: float, n: int, alpha: float | None = None
) -> FloatArray:
    """Draw ``n`` positive sizes with the given mean.

    ``fixed``: all equal to ``mean``. ``exponential``: cv 1. ``lognormal``: the
    given ``cv``. ``pareto``: classic Pareto (type I) with tail index ``alpha``
    (> 1; derived from ``cv`` when None) and minimum ``mean (alpha - 1) / alpha``,
    so the mean is preserved; the variance is infinite for ``alpha <= 2``.
    """
    if dist == "exponential":
        return rng.exponential(mean, n)
    if dist == "fixed":
        return np.full(n, float(mean))
    if dist == "lognormal":
        sigma2 = np.log1p(cv * cv)
        mu = np.log(mean) - sigma2 / 2.0 if mean > 0 else 0.0
        return rng.lognormal(mu, np.sqrt(sigma2), n) if mean > 0 else np.zeros(n)
    if dist == "pareto":
        a = pareto_alpha_for_cv(cv) if alpha is None else alpha
        if a <= 1.0:
            raise ValueError(f"a Pareto distribution needs alpha > 1 for a finite mean (got {a})")
        return (rng.pareto(a, n) + 1.0) * (mean * (a - 1.0) / a)
    raise ValueError(f"unknown size distribution {dist!r}; expected one of {SIZE_DISTS}")


def size_cdf(dist: str, mean: float, cv: float, x: ArrayLike, alpha: float | None = None) -> FloatArray:
    """P(size <= x) for the law :func:`draw_sizes` draws, at each ``x``.

    Parameters
    ----------
    dist : str
        ``exponential``, ``fixed``, ``lognormal`` or ``pareto``.
    mean, cv : float
        Mean and coefficient of variation (``cv`` is read by ``lognormal``, and by
        ``pareto`` when ``alpha`` is None).
    x : array_like
        Sizes, in the unit of ``mean`` (any sign).
    alpha : float, optional
        Pareto tail index (derived from ``cv`` when None).

    Returns
    -------
    numpy.ndarray
        The distribution function at each ``x``: 0 below the law's support, 1 at
        and above ``mean`` for ``fixed`` (and for any law with ``mean <= 0``).

    Notes
    -----
    ``exponential``: ``1 - exp(-x / mean)``. ``lognormal``: ``Phi((ln x - mu) / s)``
    with ``s^2 = ln(1 + cv^2)``, ``mu = ln(mean) - s^2 / 2``. ``pareto``:
    ``1 - (x_m / x)^alpha`` for ``x >= x_m = mean (alpha - 1) / alpha``.
    """
    xs = np.asarray(x, dtype=np.float64)
    if dist not in SIZE_DISTS:
        raise ValueError(f"unknown size distribution {dist!r}; expected one of {SIZE_DISTS}")
    if dist == "fixed" or mean <= 0.0:
        return np.where(xs >= mean, 1.0, 0.0)
    pos = np.maximum(xs, 0.0)
    if dist == "exponential":
        out: FloatArray = -np.expm1(-pos / mean)
        return out
    if dist == "lognormal":
        s2 = float(np.log1p(cv * cv))
        mu = float(np.log(mean)) - s2 / 2.0
        with np.errstate(divide="ignore"):
            z = (np.log(pos) - mu) / np.sqrt(s2) if s2 > 0.0 else np.where(pos >= mean, np.inf, -np.inf)
        lognormal: FloatArray = ndtr(z)
        return lognormal
    a = pareto_alpha_for_cv(cv) if alpha is None else alpha
    if a <= 1.0:
        raise ValueError(f"a Pareto distribution needs alpha > 1 for a finite mean (got {a})")
    xm = mean * (a - 1.0) / a
    with np.errstate(divide="ignore"):
        pareto: FloatArray = np.where(xs >= xm, 1.0 - (xm / np.maximum(xs, xm)) ** a, 0.0)
    return pareto


PARETO_MEAN_DRAWS = 256  # a Pareto bundle's service is the mean of at most this many draws


def draw_bundle_sizes(
    rng: np.random.Generator,
    dist: str,
    mean: float,
    cv: float,
    n: int,
    bundle: int,
    alpha: float | None = None,
) -> FloatArray:
    """Draw ``n`` bundle sizes, each the mean of ``bundle`` real sizes of the given law.

    Parameters
    ----------
    rng : numpy.random.Generator
        The run's generator.
    dist : str
        ``exponential``, ``fixed``, ``lognormal`` or ``pareto`` (see
        :func:`models.demand.workload.draw_sizes`).
    mean, cv : float
        Mean and coefficient of variation of one real size.
    n : int
        Number of bundles.
    bundle : int
        Real jobs per bundle (``job_scale``, >= 1).
    alpha : float, optional
        Pareto tail index (derived from ``cv`` when None).

    Returns
    -------
    numpy.ndarray
        ``n`` positive sizes with mean ``mean``.
    """
    if bundle <= 1 or dist == "fixed" or n == 0:
        return draw_sizes(rng, dist, mean, cv, n, alpha)
    if dist == "exponential":
        return rng.gamma(float(bundle), mean / bundle, n)
    if dist == "lognormal":
        return draw_sizes(rng, "lognormal", mean, cv / np.sqrt(bundle), n)
    if dist == "pareto":
        m = min(bundle, PARETO_MEAN_DRAWS)
        out = np.empty(n)
        rows = max(1, 1_000_000 // m)
        for lo in range(0, n, rows):
            hi = min(n, lo + rows)
            out[lo:hi] = (
                draw_sizes(rng, dist, mean, cv, (hi - lo) * m, alpha).reshape(hi - lo, m).mean(axis=1)
            )
        return out
    return draw_sizes(rng, dist, mean, cv, n, alpha)  # unknown laws raise there


def draw_bundle_size(
    rng: np.random.Generator, dist: str, mean: float, cv: float, bundle: int, alpha: float | None = None
) -> float:
    """One bundle size, the mean of ``bundle`` real sizes: the law of :func:`draw_bundle_sizes`.

    Drawn with scalar calls of the generator (exponential: Gamma(S, mean / S) as a
    standard gamma), for the few bundles of one time step.
    """
    if dist == "fixed":
        return float(mean)
    if dist == "exponential":
        return float(rng.standard_gamma(float(bundle))) * mean / bundle
    if dist == "lognormal":
        if mean <= 0:
            return 0.0
        sigma2 = math.log1p(cv * cv / bundle)
        return float(rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)))
    return float(draw_bundle_sizes(rng, dist, mean, cv, 1, bundle, alpha)[0])  # pareto; unknown raise
