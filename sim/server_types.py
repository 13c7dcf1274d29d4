"""Server types in a scenario: each site's CPU and GPU pools (:mod:`models.servers`).

:func:`sim.scenario.build_scenario` resolves a config on its physical sites
(overrides, energy, links, faults), then :func:`split_scenario_sites` splits
every site into one column per server type: what a pool sees of its site
(PUE, tariff, grid factor) is copied, what the site has as a whole (green
supply, the fixed facility overhead) is shared out by design IT power.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from models.demand.workload import ClassSpec
from models.energy.site import ServerPower, SiteEnergy
from models.errors import InputError
from models.servers import ServerType, TypeSplit, split_by_type
from models.topology import Topology
from sim.config import Config

__all__ = ["TypedSites", "config_server_types", "gpu_job_scale", "pool_scales", "split_scenario_sites"]


def config_server_types(cfg: Config) -> dict[str, ServerType]:
    """The run's CPU and GPU server, from ``energy`` (power and TFLOPS)."""
    e = cfg.energy
    return {
        "cpu": ServerType("cpu", ServerPower(e.idle_w, e.peak_w), e.cpu_tflops, "FP32"),
        "gpu": ServerType("gpu", ServerPower(e.gpu_idle_w, e.gpu_peak_w), e.gpu_tflops, "FP16"),
    }


def gpu_job_scale(cfg: Config) -> int:
    """Real GPU servers per simulated GPU server (``engine.gpu_job_scale``, default ``job_scale``)."""
    g = cfg.engine.gpu_job_scale
    return int(g if g is not None else cfg.engine.job_scale)


@dataclass(frozen=True)
class TypedSites:
    """The scenario's columns after the split, with what each needs from the physical sites."""

    topology: Topology
    energy: SiteEnergy
    link_of: np.ndarray  # (R, S) link of each path
    power: tuple[ServerPower, ...]  # (S,) the server of each column
    tflops: np.ndarray  # (S,) peak TFLOPS of one server of each column
    server_scale: np.ndarray  # (S,) real servers per simulated server
    split: TypeSplit


def split_scenario_sites(
    cfg: Config,
    source: str,
    topo: Topology,
    gpu_share: Mapping[str, float],
    energy: SiteEnergy,
    link_of: np.ndarray,
    classes: tuple[ClassSpec, ...],
) -> TypedSites:
    """Split the physical sites of ``topo`` into CPU and GPU columns.

    Raises InputError when a workload class needs a server type no site has.
    """
    types = config_server_types(cfg)
    shares = np.array([gpu_share.get(cid, 0.0) for cid in topo.cluster_ids], dtype=float)
    try:
        split = split_by_type(topo, shares, cpu=types["cpu"], gpu=types["gpu"])
    except ValueError as exc:
        raise InputError(source, "topology", str(exc)) from None
    out = split.topology
    for k, spec in enumerate(classes):
        if spec.server_type not in out.types:
            raise InputError(
                source,
                f"workloads[{k}].server_type",
                f"class {spec.name!r} needs '{spec.server_type}' servers but no cluster has any; "
                "expected a cluster with gpu_share > 0 (seeds, inline clusters or overrides.clusters)",
            )
    e = energy
    typed = dataclasses.replace(
        e,
        pue=split.take(e.pue),
        tariff_cny_per_kwh=split.take(e.tariff_cny_per_kwh),
        grid_kgco2_per_kwh=split.take(e.grid_kgco2_per_kwh),
        green_kw=split.share(e.green_kw),
        marginal_kgco2_per_kwh=(
            split.take(e.marginal_kgco2_per_kwh) if e.marginal_kgco2_per_kwh is not None else None
        ),
        fixed_kw=split.share(e.fixed_kw) if e.fixed_kw is not None else None,
    )
    return TypedSites(
        topology=out,
        energy=typed,
        link_of=np.asarray(link_of)[:, split.origin],
        power=tuple(types[t].power for t in out.types),
        tflops=np.array([types[t].tflops for t in out.types], dtype=float),
        server_scale=pool_scales(cfg, source, out),
        split=split,
    )


def pool_scales(cfg: Config, source: str, topo: Topology) -> np.ndarray:
    """(C,) real servers per simulated server of each pool of ``topo`` (after the type split).

    Its server type's scale (``engine.job_scale``, ``engine.gpu_job_scale``), or with
    ``engine.bundling: pool`` the pool's own ``engine.pool_job_scale[pool]``.
    Raises InputError for a ``pool_job_scale`` that names no pool, or that is set
    without ``bundling: pool`` (a pool's scale is then its type's).
    """
    eng = cfg.engine
    scale = {"cpu": int(eng.job_scale), "gpu": gpu_job_scale(cfg)}
    out = np.array([scale[t] for t in topo.types], dtype=np.int64)
    for pool, s in eng.pool_job_scale.items():
        if eng.bundling != "pool":
            raise InputError(
                source,
                f"engine.pool_job_scale.{pool}",
                "a pool's own scale needs engine.bundling: pool (bundled at arrival, a job's pool is "
                "not known when it is bundled); expected engine.bundling: pool or no pool_job_scale",
            )
        if pool not in topo.cluster_ids:
            raise InputError(
                source,
                f"engine.pool_job_scale.{pool}",
                f"unknown pool; expected one of {list(topo.cluster_ids)}",
            )
        out[topo.cluster_index(pool)] = s
    return out
