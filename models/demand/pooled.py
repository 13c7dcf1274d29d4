"""Batch streams split by routing shares, then bundled at each pool at the pool's own scale.

With ``engine.bundling: arrival`` a batch class is bundled where it arrives
(:mod:`models.demand.bundles`), before it is routed, so every pool a class may
reach shares one bundle size and the smallest busy pool sets it. Here the
routing comes first: in each time step the real arrivals of every (class,
region) stream are split over the pools by the policy's shares, and pool c
bundles its part at its own scale S_c, every S_c-th real arrival of the
thinned stream, sized as the mean of S_c real jobs. The statistics the pool
sees are those :mod:`models.demand.bundles` gives one class's stream: counted
in real jobs, the arrivals the pool receives have the thinned stream's mean and
variance (an Erlang-S_c renewal process in its cumulative intensity), so a pool
at an honest S_c queues like the real one.

Within a step the rate of a class is constant (steps divide the hour, rates are
hourly) and so is each share, so a (class, region, pool) stream's cumulative
intensity grows linearly and its bundles fall at times linear in their epochs.
A stream's phase carries over from step to step, whatever the shares do.

The last column of the shares is "dropped": work the policy does not route
(or a stream with no candidates) is bundled there at the class's own scale and
counted, as a dropped job is with bundling at arrival.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from models.demand.bundles import first_epoch, renewal_epochs
from models.demand.sizes import draw_bundle_size
from models.demand.workload import ClassSpec, hourly_rate

__all__ = ["Bundle", "PooledBundles"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# a bundle: arrival s, class (index into the classes given), region, pool (the last column:
# dropped), real jobs, service s, data GB
Bundle = tuple[float, int, int, int, int, float, float]


class PooledBundles:
    """The bundles of batch classes routed by shares, step after step.

    Parameters
    ----------
    classes : sequence of ClassSpec
        The batch classes to bundle (``rate_per_h`` x ``job_scale`` is the real rate).
    horizon_s : float
        End of the run.
    pool_scale : numpy.ndarray
        (K, C + 1) real jobs per bundle of class k at pool c; the last column is
        the dropped work's (the class's own scale, usually).
    rng : numpy.random.Generator
        The run's generator for batch arrivals.
    """

    def __init__(
        self, classes: Sequence[ClassSpec], horizon_s: float, pool_scale: IntArray, rng: np.random.Generator
    ) -> None:
        self.classes = tuple(classes)
        self.horizon_s = horizon_s
        n_hours = max(1, int(np.ceil(horizon_s / 3600.0)))
        # real jobs per hour of each class
        self.rate_h = np.array(
            [hourly_rate(spec, n_hours) * spec.job_scale for spec in self.classes], dtype=float
        ).reshape(len(self.classes), n_hours)
        self.weight = np.array([spec.region_weight for spec in self.classes], dtype=float)
        self.scale = np.asarray(pool_scale, dtype=np.int64)
        k, c1 = self.scale.shape
        r = self.weight.shape[1] if k else 0
        self._inv = 1.0 / self.scale.astype(float)[:, None, :]  # (K, 1, C+1)
        self.cum = np.zeros(k * r * c1)  # each stream's cumulative intensity, in its bundles (flat)
        self.next_at = np.full(k * r * c1, np.nan)  # each stream's next epoch (NaN: not begun)
        # each stream's (class, region, pool) and bundle size, flat as the streams
        self._stream = [(kk, rr, cc) for kk in range(k) for rr in range(r) for cc in range(c1)]
        self._scale_of = [int(self.scale[kk, cc]) for kk, _, cc in self._stream]
        self.rng = rng
        self._hour = -1
        self._per_s = np.empty(0)

    def step(self, t0: float, t1: float, shares: FloatArray) -> list[Bundle]:
        """The bundles arriving in ``[t0, t1)`` (within one hour) when ``shares`` route the work.

        ``shares`` is (K, R, C + 1), each row summing to 1 (rows of a region
        without demand may be anything). Returns the bundles sorted by arrival.
        """
        rng = self.rng
        h = int(t0 // 3600.0)
        if h != self._hour:  # bundles a second of each stream at share 1, this hour
            per_s = (self.rate_h[:, h] / 3600.0)[:, None] * self.weight
            self._per_s = (per_s[:, :, None] * self._inv).ravel()
            self._hour = h
        add = shares.ravel() * self._per_s * (t1 - t0)  # the streams' bundles this step
        nxt = self.next_at  # flat, as the streams
        new = np.flatnonzero(np.isnan(nxt) & (add > 0.0))
        for i in new.tolist():  # a stream's first share: its phase
            nxt[i] = first_epoch(rng, self._scale_of[i])
        cum0 = self.cum
        cum1 = cum0 + add
        self.cum = cum1
        hits = np.flatnonzero(nxt < cum1).tolist()
        if not hits:
            return []
        out: list[Bundle] = []
        span = t1 - t0
        last = math.nextafter(t1, -math.inf)
        gamma = rng.standard_gamma
        for i in hits:
            s, at, end = self._scale_of[i], float(nxt[i]), float(cum1[i])
            lo, width = float(cum0[i]), float(add[i])
            k, r, c = self._stream[i]
            if end - at > _MANY:  # many bundles this step: drawn in blocks
                ep, nxt[i] = renewal_epochs(rng, at, end, float(s))
                epochs = ep.tolist()
            else:  # a few: one gap at a time
                epochs = []
                sf = float(s)
                while at < end:
                    epochs.append(at)
                    at += float(gamma(sf)) / sf  # Gamma(S, 1/S)
                nxt[i] = at
            for e in epochs:
                out.append(
                    (min(t0 + min(max((e - lo) / width, 0.0), 1.0) * span, last), k, r, c, s, 0.0, 0.0)
                )
        out.sort(key=_arrival)
        sized: list[Bundle] = []
        for t, k, r, c, s, _, _ in out:
            spec = self.classes[k]
            svc = draw_bundle_size(
                rng, spec.service_dist, spec.service_mean_s, spec.service_cv, s, spec.service_alpha
            )
            gb = draw_bundle_size(rng, spec.data_dist, spec.data_gb, spec.data_cv, s)
            sized.append((t, k, r, c, s, svc, gb))
        return sized


def _arrival(b: Bundle) -> float:
    return b[0]


_MANY = 16.0  # expected bundles of a stream in one step above which they are drawn in blocks
