"""Refuse, before a run starts, a config that would simulate more than the engine can hold.

Latency classes are request flows counted in int64; batch classes are
discrete jobs, bundled ``job_scale`` to one. :func:`check_job_budget` estimates
both from the classes' rates and says which knob to turn.
"""

from __future__ import annotations

import math

import numpy as np

from models.demand.workload import ClassSpec, expected_arrivals, expected_discrete_jobs
from models.errors import InputError
from models.topology import Topology
from sim.config import JOB_SCALE_MAX, Config

__all__ = ["MAX_REQUESTS", "check_job_budget", "check_pooled_job_budget"]

MAX_REQUESTS = 1e17  # latency requests of one class over a run (counts are int64)


def _check_request_counts(cfg: Config, source: str, classes: tuple[ClassSpec, ...]) -> None:
    """Refuse latency rates no int64 request counter can hold."""
    arrivals = expected_arrivals(classes, cfg.horizon_h * 3600.0)
    for k, spec in enumerate(classes):
        if spec.is_latency and not arrivals[k] <= MAX_REQUESTS:
            raise InputError(
                source,
                f"workloads[{k}].rate_per_h",
                f"class {spec.name!r} would send ~{arrivals[k]:.2g} requests over {cfg.horizon_h:g} h "
                f"(at most {MAX_REQUESTS:.0e}); expected a plausible rate in real requests per hour "
                f"(got {cfg.workloads[k].rate_per_h:.3g})",
            )


def check_pooled_job_budget(
    cfg: Config,
    source: str,
    classes: tuple[ClassSpec, ...],
    topo: Topology,
    pool_scale: np.ndarray,
    traced: int = 0,
) -> None:
    """:func:`check_job_budget` with ``engine.bundling: pool``: at most as many bundles as if
    every real job of a class went to the pool of its type with the smallest scale.

    Raises InputError naming that pool's ``engine.pool_job_scale`` (or ``horizon_h``,
    ``engine.max_jobs``) when the bound passes ``engine.max_jobs``.
    """
    _check_request_counts(cfg, source, classes)
    limit = cfg.engine.max_jobs
    real = expected_discrete_jobs(classes, cfg.horizon_h * 3600.0) * np.array([c.job_scale for c in classes])
    types = np.asarray(topo.types)
    total = float(traced)
    smallest: tuple[int, int] | None = None  # (scale, pool) of the smallest pool that takes work
    for k, spec in enumerate(classes):
        mine = np.flatnonzero(types == spec.server_type)
        if spec.is_latency or real[k] <= 0 or mine.size == 0:
            continue
        c = int(mine[np.argmin(pool_scale[mine])])
        total += real[k] / float(pool_scale[c])
        if smallest is None or pool_scale[c] < smallest[0]:
            smallest = (int(pool_scale[c]), c)
    if total <= limit or smallest is None:
        return
    s, c = smallest
    raise InputError(
        source,
        f"engine.pool_job_scale.{topo.cluster_ids[c]}",
        f"would simulate up to ~{total:.2g} discrete jobs over {cfg.horizon_h:g} h (engine.max_jobs: "
        f"{limit:,}), were all work sent to the pools of the smallest scale ({s:,} at "
        f"'{topo.cluster_ids[c]}'); raise that pool's engine.pool_job_scale (or engine.job_scale, "
        "engine.gpu_job_scale), shorten horizon_h, or raise engine.max_jobs",
    )


def check_job_budget(cfg: Config, source: str, classes: tuple[ClassSpec, ...], traced: int = 0) -> None:
    """Refuse (InputError) a config that would simulate more than ``engine.max_jobs`` discrete jobs.

    The estimate is :func:`models.demand.workload.expected_discrete_jobs` plus
    the jobs replayed from traces. The message says how far to raise
    ``engine.job_scale`` (it bundles the classes without their own
    ``job_scale``) or, if those are not the bulk, the biggest class's own
    ``workloads[i].job_scale``.
    """
    # latency flows count requests in int64: refuse rates no counter can hold
    _check_request_counts(cfg, source, classes)
    limit = cfg.engine.max_jobs
    per_class = expected_discrete_jobs(classes, cfg.horizon_h * 3600.0)
    total = float(per_class.sum()) + traced
    if total <= limit:
        return
    # classes that do not take engine.job_scale: their own job_scale, or the GPU pools' scale
    own = np.array([w.job_scale is not None or w.server_type == "gpu" for w in cfg.workloads])
    shared = float(per_class[~own].sum())  # jobs of the classes that take engine.job_scale
    rest = total - shared
    scale = cfg.engine.job_scale
    what = f"would simulate ~{total:.2g} discrete jobs over {cfg.horizon_h:g} h (engine.max_jobs: {limit:,})"
    need = math.ceil(scale * shared / (limit - rest)) if math.isfinite(total) and rest < 0.5 * limit else 0
    if shared > 0 and 0 < need <= JOB_SCALE_MAX:
        big = int(np.argmax(np.where(own, -1.0, per_class)))
        alt = ""
        if per_class[big] > 0.5 * limit:
            alt = f", give class {cfg.workloads[big].name!r} its own job_scale"
        raise InputError(
            source,
            "engine.job_scale",
            f"{what}; raise engine.job_scale to >= {need:,} (now {scale:,}; it bundles real jobs "
            f"and servers alike){alt}, shorten horizon_h, or raise engine.max_jobs",
        )
    k = int(np.argmax(np.where(np.isfinite(per_class), per_class, np.finfo(float).max)))
    w = cfg.workloads[k]
    if not math.isfinite(per_class[k]):
        raise InputError(source, f"workloads[{k}].rate_per_h", f"{what}: class {w.name!r} has no finite rate")
    gpu = cfg.engine.gpu_job_scale if cfg.engine.gpu_job_scale is not None else scale
    k_scale = w.job_scale if w.job_scale is not None else (gpu if w.server_type == "gpu" else scale)
    need = math.ceil(k_scale * per_class[k] / max(limit - (total - per_class[k]), 0.5 * limit))
    if need > JOB_SCALE_MAX:
        raise InputError(
            source,
            f"workloads[{k}].rate_per_h",
            f"{what}, ~{per_class[k]:.2g} of them of class {w.name!r}: even job_scale {JOB_SCALE_MAX:.0e} "
            "cannot bundle that many; expected a plausible rate in real jobs per hour "
            f"(got {w.rate_per_h:.3g})",
        )
    raise InputError(
        source,
        f"workloads[{k}].job_scale",
        f"{what}, ~{per_class[k]:.2g} of them of class {w.name!r}; set its job_scale to >= {need:,} "
        f"(now {k_scale:,}), shorten horizon_h, or raise engine.max_jobs",
    )
