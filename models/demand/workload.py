"""Workload classes and the jobs they generate.

A :class:`ClassSpec` is one workload class in array form; :func:`iter_jobs`
draws :class:`Jobs` tables (one row per job, sorted by arrival) a day at a
time from the run's single ``numpy.random.Generator``, and
:func:`generate_jobs` concatenates them. The engine consumes the table; the
same table can be written out and replayed as a trace (:mod:`models.demand.trace`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.demand.bundles import BundleClock, bundle_times
from models.demand.sizes import SIZE_DISTS, draw_bundle_sizes, draw_sizes, pareto_alpha_for_cv

__all__ = [
    "SIZE_DISTS",
    "ClassSpec",
    "Jobs",
    "draw_service_s",
    "draw_sizes",
    "generate_jobs",
    "hourly_rate",
    "iter_jobs",
    "pareto_alpha_for_cv",
]

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
    ``rate_profile`` (optional) holds one rate multiplier per hour of the run
    (mean 1 keeps ``rate_per_h`` the mean rate; see :mod:`models.demand.profiles`).
    ``service_alpha`` is the Pareto tail index (> 1) of a ``pareto`` service
    distribution; when None it is derived from ``service_cv``.
    ``data_dist`` / ``data_cv`` draw each job's data volume with mean ``data_gb``
    (fixed | exponential | lognormal | pareto).
    ``server_type`` (``"cpu"`` or ``"gpu"``) is the type of server the class runs on.
    """

    name: str
    kind: int  # KIND_LATENCY or KIND_BATCH
    rate_per_h: float
    service_dist: str  # exponential | fixed | lognormal | pareto
    service_mean_s: float
    service_cv: float
    region_weight: FloatArray
    slo_ms: float = float("inf")
    deadline_h: float = float("inf")
    data_gb: float = 0.0
    job_scale: int = 1
    occupancy: float = 1.0
    rate_profile: FloatArray | None = None
    service_alpha: float | None = None
    data_dist: str = "fixed"
    data_cv: float = 1.0
    server_type: str = "cpu"

    @property
    def slot_servers(self) -> float:
        """Real servers one simulated server of this class's type stands for (job_scale / occupancy)."""
        return self.job_scale / self.occupancy

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


def draw_service_s(
    rng: np.random.Generator, dist: str, mean_s: float, cv: float, n: int, alpha: float | None = None
) -> FloatArray:
    """Draw ``n`` service times with the given mean (see :func:`draw_sizes`)."""
    return draw_sizes(rng, dist, mean_s, cv, n, alpha)


def _empty_jobs() -> Jobs:
    f, i = np.empty(0, dtype=float), np.empty(0, dtype=np.int32)
    return Jobs(arrival_s=f, region=i, klass=i.copy(), service_s=f.copy(), data_gb=f.copy())


def concat_jobs(chunks: Sequence[Jobs]) -> Jobs:
    """Concatenate job tables (already in arrival order one after the other)."""
    if not chunks:
        return _empty_jobs()
    return Jobs(
        arrival_s=np.concatenate([c.arrival_s for c in chunks]),
        region=np.concatenate([c.region for c in chunks]),
        klass=np.concatenate([c.klass for c in chunks]),
        service_s=np.concatenate([c.service_s for c in chunks]),
        data_gb=np.concatenate([c.data_gb for c in chunks]),
    )


def hourly_rate(spec: ClassSpec, n_hours: int) -> FloatArray:
    """The class's rate in each of the run's first ``n_hours`` hours (``rate_per_h x rate_profile``)."""
    if spec.rate_profile is None:
        return np.full(n_hours, spec.rate_per_h)
    prof = np.asarray(spec.rate_profile, dtype=float)
    if prof.shape[0] < n_hours:
        raise ValueError(f"class {spec.name!r}: rate_profile has {prof.shape[0]} hours, the run {n_hours}")
    if np.any(prof[:n_hours] < 0) or not np.all(np.isfinite(prof[:n_hours])):
        raise ValueError(f"class {spec.name!r}: rate_profile must be finite and >= 0")
    return spec.rate_per_h * prof[:n_hours]


def expected_discrete_jobs(classes: Sequence[ClassSpec], horizon_s: float) -> FloatArray:
    """Expected number of discrete (simulated) jobs of each class over ``[0, horizon_s)``.

    The mean of :func:`iter_jobs`' Poisson counts: sum over hours of
    ``rate_per_h x rate_profile[h] x`` the hour's length. This is the one count
    of discrete jobs a run is judged by before it starts (``engine.max_jobs``);
    a class that is not simulated job by job would count 0 here. Values may be
    ``inf`` for absurd rates (they are never drawn).
    """
    # latency classes are request flows (sim.engine.flows): no discrete jobs
    counts = expected_arrivals(classes, horizon_s)
    is_lat = np.array([spec.is_latency for spec in classes], dtype=bool)
    out: FloatArray = np.where(is_lat, 0.0, counts)
    return out


def expected_arrivals(classes: Sequence[ClassSpec], horizon_s: float) -> FloatArray:
    """Expected arrivals (jobs, or requests of a latency class) of each class over ``[0, horizon_s)``."""
    if horizon_s <= 0:
        return np.zeros(len(classes))
    n_hours = int(np.ceil(horizon_s / 3600.0))
    hour_len = np.minimum(3600.0, horizon_s - 3600.0 * np.arange(n_hours))
    with np.errstate(over="ignore", invalid="ignore"):
        out = [float(np.sum(hourly_rate(spec, n_hours) * hour_len / 3600.0)) for spec in classes]
    arr: FloatArray = np.nan_to_num(np.asarray(out, dtype=float), nan=np.inf)
    return arr


def iter_jobs(
    classes: Sequence[ClassSpec], horizon_s: float, rng: np.random.Generator, chunk_h: int = 24
) -> Iterator[Jobs]:
    """Non-homogeneous Poisson arrivals over ``[0, horizon_s)``, yielded in arrival order.

    The rate is piecewise constant per hour (``rate_per_h x rate_profile[h]``),
    so drawing a Poisson count for each hour and placing that many arrivals
    uniformly inside it is exact. Work proceeds chunk by chunk (``chunk_h``
    hours, default one day; memory is bounded by one chunk) and within a chunk
    class by class, drawing: the hourly counts, the uniform offsets, the
    regions (from ``region_weight``), the service times, the data volumes
    (only when ``data_dist`` is not ``fixed``). Each chunk is merged by arrival
    (stable: ties keep class order); empty chunks are skipped.

    A batch class with ``job_scale`` S > 1 draws bundles that keep the real
    pool's variability instead (:mod:`models.demand.bundles`): every S-th real
    arrival of each region's stream, sized as the mean of S real jobs.
    """
    if horizon_s <= 0:
        return
    n_hours = int(np.ceil(horizon_s / 3600.0))
    rates = [hourly_rate(spec, n_hours) for spec in classes]
    hour_start = 3600.0 * np.arange(n_hours)
    hour_len = np.minimum(3600.0, horizon_s - hour_start)
    bounds = np.append(hour_start, horizon_s)
    cums = [np.concatenate(([0.0], np.cumsum(r * hour_len / 3600.0))) for r in rates]
    clocks: dict[int, list[BundleClock]] = {}
    for h0 in range(0, n_hours, chunk_h):
        hs = slice(h0, min(h0 + chunk_h, n_hours))
        parts: list[Jobs] = []
        for k, spec in enumerate(classes):
            if spec.job_scale > 1 and not spec.is_latency:
                if k not in clocks:
                    clocks[k] = [BundleClock(rng, spec.job_scale) for _ in spec.region_weight]
                parts.append(_bundles(spec, k, clocks[k], cums[k], bounds, hs.stop, rng))
                continue
            counts = rng.poisson(rates[k][hs] * hour_len[hs] / 3600.0)
            n = int(counts.sum())
            t = np.repeat(hour_start[hs], counts) + rng.uniform(0.0, 1.0, n) * np.repeat(hour_len[hs], counts)
            region = rng.choice(spec.region_weight.shape[0], size=n, p=spec.region_weight).astype(np.int32)
            service = draw_sizes(
                rng, spec.service_dist, spec.service_mean_s, spec.service_cv, n, spec.service_alpha
            )
            data = draw_sizes(rng, spec.data_dist, spec.data_gb, spec.data_cv, n)
            parts.append(Jobs(t, region, np.full(n, k, dtype=np.int32), service, data))
        chunk = concat_jobs(parts)
        if len(chunk) == 0:
            continue
        yield take_jobs(chunk, np.argsort(chunk.arrival_s, kind="stable"))


def _bundles(
    spec: ClassSpec,
    k: int,
    clocks: list[BundleClock],
    cum: FloatArray,
    bounds: FloatArray,
    h_end: int,
    rng: np.random.Generator,
) -> Jobs:
    """The bundles of a scaled batch class up to hour ``h_end`` (:mod:`models.demand.bundles`)."""
    times, regions = [], []
    for r, clock in enumerate(clocks):
        w = float(spec.region_weight[r])
        if w <= 0.0:
            continue
        ep = clock.epochs(rng, w * cum[h_end])
        times.append(bundle_times(w * cum, bounds, ep))
        regions.append(np.full(ep.shape[0], r, dtype=np.int32))
    t = np.concatenate(times) if times else np.empty(0)
    n = int(t.shape[0])
    service = draw_bundle_sizes(
        rng, spec.service_dist, spec.service_mean_s, spec.service_cv, n, spec.job_scale, spec.service_alpha
    )
    data = draw_bundle_sizes(rng, spec.data_dist, spec.data_gb, spec.data_cv, n, spec.job_scale)
    region = np.concatenate(regions) if regions else np.empty(0, dtype=np.int32)
    return Jobs(t, region, np.full(n, k, dtype=np.int32), service, data)


def generate_jobs(classes: Sequence[ClassSpec], horizon_s: float, rng: np.random.Generator) -> Jobs:
    """All jobs of :func:`iter_jobs` in one table, sorted by arrival."""
    return concat_jobs(list(iter_jobs(classes, horizon_s, rng)))


def take_jobs(jobs: Jobs, index: slice | NDArray[np.bool_] | NDArray[np.int64]) -> Jobs:
    """The rows ``index`` of a job table (a slice, a boolean mask or positions)."""
    return Jobs(
        arrival_s=jobs.arrival_s[index],
        region=jobs.region[index],
        klass=jobs.klass[index],
        service_s=jobs.service_s[index],
        data_gb=jobs.data_gb[index],
    )


def merge_jobs(a: Jobs, b: Jobs) -> Jobs:
    """Two job tables merged in arrival order (stable: ``a``'s rows first on ties)."""
    both = concat_jobs([a, b])
    return take_jobs(both, np.argsort(both.arrival_s, kind="stable"))
