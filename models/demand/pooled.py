"""Batch streams split by routing shares, then bundled at each pool at the pool's own scale.

With ``engine.bundling: arrival`` a batch class is bundled where it arrives
(:mod:`models.demand.bundles`), before it is routed, so every pool a class may
reach shares one bundle size and the smallest busy pool sets it. Here the
routing comes first: in each time step the real arrivals of every (class,
region) stream are split over the pools by the policy's shares, and pool c
takes its part of a class from every region as **one stream**, bundled at its
own scale S_c: every S_c-th real arrival of the merged stream, sized as the mean
of S_c real jobs. Counted in real jobs, the arrivals the pool receives have the
merged thinned stream's mean and variance (an Erlang-S_c renewal process in its
cumulative intensity), so a pool at an honest S_c queues like the real one; one
stream per class, not one per class and region, because streams bundled apart
queue more than one of their summed rate (each keeps its regularity only over
its own gaps), which would force smaller bundles (:mod:`models.demand.bundle_check`).

A bundle's network path is that of a region drawn in proportion to the regions'
real arrivals to the pool in its step (the region of its "closing" real arrival):
each region's expected real jobs and data to the pool are its own, and the
bundle's real jobs share its path (its RTT and its link).

Within a step the rate of a class is constant (steps divide the hour, rates are
hourly) and so is each share, so a (class, pool) stream's cumulative intensity
grows linearly and its bundles fall at times linear in their epochs. A stream's
phase carries over from step to step, whatever the shares do.

The last column of the shares is "dropped": work the policy does not route
(or a stream with no candidates) is bundled there at the class's own scale and
counted, as a dropped job is with bundling at arrival.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

import numpy as np
from numpy.typing import NDArray

from models.demand.bundles import first_epoch, renewal_epochs
from models.demand.sizes import draw_bundle_sizes
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
        self._inv = 1.0 / self.scale.astype(float)  # (K, C+1)
        self.cum = np.zeros(k * c1)  # each stream's cumulative intensity, in its bundles (flat)
        # each (class, pool) stream's (class, pool) and bundle size, flat as the streams
        self._stream = [(kk, cc) for kk in range(k) for cc in range(c1)]
        self._scale_of = [int(self.scale[kk, cc]) for kk, cc in self._stream]
        self.rng = rng
        # each stream's next epoch: its phase (the first bundle closes after J real arrivals, J
        # uniform on 1..S), drawn for every stream at the start
        self.next_at = np.array([first_epoch(rng, s) for s in self._scale_of], dtype=float)
        self._hour = -1
        self._per_s = np.empty(0)
        self._by = np.zeros((k, c1, self.weight.shape[1] if k else 0))  # (K, C+1, R) real jobs a second
        # random numbers drawn a block at a time: each stream's gaps (Gamma(S, 1/S)) and bundle
        # sizes (service, data: the mean of S real ones), and uniforms for the regions
        self._gaps: list[list[float]] = [[] for _ in self._stream]
        self._svc: list[list[float]] = [[] for _ in self._stream]
        self._gb: list[list[float]] = [[] for _ in self._stream]
        self._u: list[float] = []

    def step(self, t0: float, t1: float, shares: FloatArray) -> list[Bundle]:
        """The bundles arriving in ``[t0, t1)`` (within one hour) when ``shares`` route the work.

        ``shares`` is (K, R, C + 1), each row summing to 1 (rows of a region
        without demand may be anything). Returns the bundles sorted by arrival.
        """
        rng = self.rng
        h = int(t0 // 3600.0)
        if h != self._hour:  # real jobs a second of each (class, region) at share 1, this hour
            self._per_s = ((self.rate_h[:, h] / 3600.0)[:, None] * self.weight)[:, None, :]
            self._hour = h
        np.multiply(shares.transpose(0, 2, 1), self._per_s, out=self._by)  # real jobs a second
        add = (self._by.sum(axis=2) * self._inv).ravel() * (t1 - t0)  # the streams' bundles this step
        nxt = self.next_at  # flat, as the streams
        cum0 = self.cum
        cum1 = cum0 + add
        self.cum = cum1
        hits = np.flatnonzero(nxt < cum1).tolist()
        if not hits:
            return []
        out: list[Bundle] = []
        span = t1 - t0
        last = math.nextafter(t1, -math.inf)
        for i in hits:
            s, at, end = self._scale_of[i], float(nxt[i]), float(cum1[i])
            lo, width = float(cum0[i]), float(add[i])
            k, c = self._stream[i]
            if end - at > _MANY:  # many bundles this step: drawn in blocks
                ep, nxt[i] = renewal_epochs(rng, at, end, float(s))
                epochs = ep.tolist()
            else:  # a few: one gap at a time
                epochs = []
                gaps = self._gaps[i]
                while at < end:
                    epochs.append(at)
                    if not gaps:
                        gaps.extend((rng.standard_gamma(float(s), _BLOCK) / s).tolist())  # Gamma(S, 1/S)
                    at += gaps.pop()
                nxt[i] = at
            # each bundle's region: in proportion to the regions' real jobs to the pool now
            cw = list(accumulate(self._by[k, c].tolist()))
            top = cw[-1]
            n_r = len(cw)
            svc, gb = self._svc[i], self._gb[i]
            for e in epochs:
                if not svc:
                    spec = self.classes[k]
                    svc.extend(
                        draw_bundle_sizes(
                            rng, spec.service_dist, spec.service_mean_s, spec.service_cv, _BLOCK, s,
                            spec.service_alpha,
                        ).tolist()
                    )  # fmt: skip
                    gb.extend(
                        draw_bundle_sizes(rng, spec.data_dist, spec.data_gb, spec.data_cv, _BLOCK, s).tolist()
                    )
                if not self._u:
                    self._u.extend(rng.random(_BLOCK).tolist())
                r = min(bisect_right(cw, self._u.pop() * top), n_r - 1)
                t = min(t0 + min(max((e - lo) / width, 0.0), 1.0) * span, last)
                out.append((t, k, r, c, s, svc.pop(), gb.pop()))
        out.sort(key=_arrival)
        return out


def _arrival(b: Bundle) -> float:
    return b[0]


_MANY = 16.0  # expected bundles of a stream in one step above which they are drawn in blocks
_BLOCK = 64  # random numbers drawn at once, per stream and law
