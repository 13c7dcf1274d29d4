"""Many-server queueing formulas: Erlang B/C, the M/M/c waiting time, Allen–Cunneen, admission.

Everything here is for one pool of ``c`` identical servers fed by Poisson
arrivals at rate ``lam`` (per second) with mean service ``mean_s``; the offered
load is ``a = lam x mean_s`` erlangs and the utilisation ``rho = a / c``.

- :func:`erlang_c` is the probability that an arrival waits, exact for any
  ``c`` (1 to millions): Erlang B is the Poisson probability of ``c`` over the
  Poisson CDF at ``c`` (an incomplete gamma function), in microseconds at any
  size.
- :class:`WaitTail` is the waiting-time law of an FCFS M/M/c queue,
  ``P(W > t) = C exp(-(c mu - lam) t)``, with the Allen–Cunneen correction for
  general service times (M/G/c): the conditional wait ``W | W > 0`` keeps its
  exponential shape and its mean is multiplied by ``(1 + cv^2) / 2`` (cv: the
  service time's coefficient of variation). The correction is exact for
  ``cv = 1`` and a standard approximation otherwise (Allen 1990, *Probability,
  Statistics and Queueing Theory*, 2nd ed., §6.4; Whitt 1993).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincc

_TAIL_SIGMAS = 14.0  # Poisson terms beyond 14 sd of the mean weigh < 1e-40


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of an M/M/c/c loss system with ``a`` erlangs offered.

    ``B = P(N = c) / P(N <= c)`` for ``N ~ Poisson(a)``. Below saturation
    (``a < c``) the Poisson CDF is the regularised upper incomplete gamma
    function ``Q(c + 1, a)`` (:func:`scipy.special.gammaincc`, uniformly
    accurate for large arguments) and the probability of ``c`` is evaluated
    without cancellation (:func:`_log_poisson_pmf`): a few microseconds at any
    ``c``. At or above saturation the defining sum
    ``1 / B = sum_{j=0..c} c! / ((c-j)! a^j)`` is evaluated in log space over
    the window of terms that matter (they peak at ``j ~ c - a``).
    """
    if a <= 0.0:
        return 0.0
    if c <= 0:
        return 1.0
    if a < c:
        q = float(gammaincc(c + 1.0, a))
        if q > 0.0:
            return math.exp(_log_poisson_pmf(c, a)) / q
    sd = math.sqrt(a)
    if c - a > _TAIL_SIGMAS * sd + _TAIL_SIGMAS:
        return math.exp(_log_poisson_pmf(c, a))
    n_terms = int(min(c, math.ceil(max(0.0, c - a) + _TAIL_SIGMAS * sd + _TAIL_SIGMAS)))
    i = np.arange(n_terms, dtype=float)
    log_t = np.concatenate(([0.0], np.cumsum(np.log((c - i) / a))))
    top = float(log_t.max())
    return math.exp(-(top + math.log(float(np.exp(log_t - top).sum()))))


def _log_poisson_pmf(c: int, a: float) -> float:
    """``log P(N = c)`` for ``N ~ Poisson(a)``, without the cancellation of ``c log a - a - log c!``.

    With ``x = (a - c) / c``: ``c (log1p(x) - x) - log(2 pi c) / 2 - stirlerr(c)``,
    where ``stirlerr(c) = log c! - (c + 1/2) log c + c - log(2 pi) / 2`` comes from
    its asymptotic series for ``c >= 15`` (error < 1e-16) and from ``lgamma`` below.
    """
    if c < 15:
        return c * math.log(a) - a - math.lgamma(c + 1.0) if a > 0.0 else -math.inf
    ratio = a / c
    if ratio <= 0.0:
        return -math.inf
    if ratio < 0.5:  # far from the peak: no cancellation to avoid
        main = c * math.log(ratio) + (c - a)
    else:
        x = (a - c) / c
        main = c * (math.log1p(x) - x)
    inv = 1.0 / c
    inv2 = inv * inv
    stirlerr = inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 / 1680)))
    return main - 0.5 * math.log(2.0 * math.pi * c) - stirlerr


def erlang_c(c: int, a: float) -> float:
    """P(wait) in M/M/c with ``a`` erlangs offered (1 when ``a >= c``)."""
    if a <= 0.0:
        return 0.0
    if c <= 0 or a >= c:
        return 1.0
    b = erlang_b(c, a)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def allen_cunneen_factor(cv2: float) -> float:
    """Allen–Cunneen factor ``(1 + cv^2) / 2`` applied to the M/M/c wait."""
    return (1.0 + max(0.0, cv2)) / 2.0


@dataclass(frozen=True)
class WaitTail:
    """Waiting time of an FCFS many-server queue: an atom at 0 and an exponential tail.

    ``P(W > t) = p_wait x exp(-decay_per_s x t)`` for ``t >= 0``.
    """

    p_wait: float
    decay_per_s: float

    @property
    def mean_s(self) -> float:
        if self.p_wait <= 0.0:
            return 0.0
        return self.p_wait / self.decay_per_s if self.decay_per_s > 0 else math.inf

    def exceed(self, t_s: float) -> float:
        """P(W > t)."""
        if t_s < 0.0:
            return 1.0
        if self.p_wait <= 0.0:
            return 0.0
        return self.p_wait * math.exp(-self.decay_per_s * t_s) if self.decay_per_s > 0 else self.p_wait

    def quantile(self, q: float) -> float:
        """The q-quantile (0 < q < 1) of W, in seconds."""
        tail = 1.0 - q
        if self.p_wait <= tail:
            return 0.0
        if self.decay_per_s <= 0:
            return math.inf
        return math.log(self.p_wait / tail) / self.decay_per_s


def wait_tail(c: int, a: float, mean_s: float, cv2: float = 1.0) -> WaitTail:
    """The wait of M/G/c with ``a < c`` erlangs (M/M/c when ``cv2 = 1``; else Allen–Cunneen)."""
    if a <= 0.0 or mean_s <= 0.0:
        return WaitTail(0.0, math.inf)
    if a >= c:
        return WaitTail(1.0, 0.0)
    p = erlang_c(c, a)
    return WaitTail(p, (c - a) / (mean_s * allen_cunneen_factor(cv2)))
