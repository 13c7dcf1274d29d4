"""Workload classes and the jobs they generate.

A :class:`ClassSpec` is one workload class in array form; :func:`generate_jobs`
draws a :class:`Jobs` table (one row per job, sorted by arrival) from the run's
single ``numpy.random.Generator``. The engine consumes the table; the same
table can be written out and replayed as a trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int32]

KIND_LATENCY = 0
KIND_BATCH = 1


@dataclass(frozen=True)
class ClassSpec:
    """One workload class, ready for generation and routing.

    ``rate_per_h`` is in *simulated* jobs per hour (real rate / job_scale).
    ``region_weight`` is aligned with the topology's regions and sums to 1.
    ``occupancy`` is the factor from one job's drawn service time to the time
    it holds a simulated server (job_scale / server_scale; 1 when unscaled).
    """

    name: str
    kind: int  # KIND_LATENCY or KIND_BATCH
    rate_per_h: float
    service_dist: str  # exponential | fixed | lognormal
    service_mean_s: float
    service_cv: float
    region_weight: FloatArray
    slo_ms: float = float("inf")
    deadline_h: float = float("inf")
    data_gb: float = 0.0
    job_scale: int = 1
    occupancy: float = 1.0

    @property
    def is_latency(self) -> bool:
        return self.kind == KIND_LATENCY


@dataclass(frozen=True)
class Jobs:
    """A job table: aligned arrays, sorted by ``arrival_s``."""

    arrival_s: FloatArray
    region: IntArray
    klass: IntArray
    service_s: FloatArray
    data_gb: FloatArray

    def __len__(self) -> int:
        return int(self.arrival_s.shape[0])


def draw_service_s(rng: np.random.Generator, dist: str, mean_s: float, cv: float, n: int) -> FloatArray:
    """Draw ``n`` service times with the given mean (and CV for lognormal)."""
    if dist == "exponential":
        return rng.exponential(mean_s, n)
    if dist == "fixed":
        return np.full(n, mean_s)
    if dist == "lognormal":
        sigma2 = np.log1p(cv * cv)
        mu = np.log(mean_s) - sigma2 / 2.0
        return rng.lognormal(mu, np.sqrt(sigma2), n)
    raise ValueError(f"unknown service distribution {dist!r}")


def generate_jobs(classes: Sequence[ClassSpec], horizon_s: float, rng: np.random.Generator) -> Jobs:
    """Homogeneous Poisson arrivals per class over ``[0, horizon_s)``.

    For each class in order: the count is Poisson(rate x horizon), arrival
    times are i.i.d. uniform given the count (the order-statistics property of
    the Poisson process), each job's origin region is drawn from the class's
    region weights and its service time from its distribution. The classes
    are then merged by arrival time (stable, so ties keep class order).
    """
    parts: list[tuple[FloatArray, IntArray, IntArray, FloatArray, FloatArray]] = []
    for k, spec in enumerate(classes):
        n = int(rng.poisson(spec.rate_per_h * horizon_s / 3600.0))
        t = rng.uniform(0.0, horizon_s, n)
        region = rng.choice(spec.region_weight.shape[0], size=n, p=spec.region_weight).astype(np.int32)
        service = draw_service_s(rng, spec.service_dist, spec.service_mean_s, spec.service_cv, n)
        parts.append((t, region, np.full(n, k, dtype=np.int32), service, np.full(n, spec.data_gb)))
    arrival = np.concatenate([p[0] for p in parts])
    order = np.argsort(arrival, kind="stable")
    return Jobs(
        arrival_s=arrival[order],
        region=np.concatenate([p[1] for p in parts])[order],
        klass=np.concatenate([p[2] for p in parts])[order],
        service_s=np.concatenate([p[3] for p in parts])[order],
        data_gb=np.concatenate([p[4] for p in parts])[order],
    )
