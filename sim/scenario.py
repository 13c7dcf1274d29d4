"""Turn a validated :class:`~sim.config.Config` into the arrays a run needs.

This is where cross-references are checked (cluster and region ids in
overrides and workloads, the policy name), so that every problem a config can
have surfaces before the simulation starts, as an InputError with a key path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from models.demand.profiles import Burst, rate_profile
from models.demand.trace import read_trace
from models.demand.workload import (
    KIND_BATCH,
    KIND_LATENCY,
    ClassSpec,
    Jobs,
    concat_jobs,
    iter_jobs,
    merge_jobs,
    take_jobs,
)
from models.energy.site import ServerPower, SiteEnergy
from models.errors import InputError
from models.reference import Reference, national_reference
from models.topology import (
    LatencyModel,
    Topology,
    custom_topology,
    latency_model_from_reference,
    national_topology,
)
from sim.config import Config, InlineCluster, InlineRegion, InlineTopology
from sim.job_budget import check_job_budget, check_pooled_job_budget
from sim.new_sites import inline_with_new_sites, national_with_new_sites
from sim.server_types import config_server_types, gpu_job_scale, split_scenario_sites
from sim.site_energy import inline_site_energy, national_site_energy


@dataclass(frozen=True)
class Streams:
    """The run's random streams, all spawned from the one Generator seeded by ``seed``.

    Separate streams keep, e.g., the job draws independent of how many
    clusters draw green-supply weather, so a config change in one part does
    not reshuffle the others.
    """

    energy: np.random.Generator
    jobs: np.random.Generator
    policy: np.random.Generator
    forecast: np.random.Generator
    flows: np.random.Generator  # request counts of latency flows


def streams(seed: int) -> Streams:
    energy, jobs, policy, forecast, flows = np.random.default_rng(seed).spawn(5)
    return Streams(energy=energy, jobs=jobs, policy=policy, forecast=forecast, flows=flows)


@dataclass(frozen=True)
class Scenario:
    """Everything one run needs, as arrays aligned with the topology."""

    config: Config
    source: str
    topology: Topology
    classes: tuple[ClassSpec, ...]
    slots: np.ndarray  # simulated servers per cluster
    energy: SiteEnergy
    power: ServerPower
    candidates: tuple[tuple[np.ndarray, ...], ...]  # [class][region] -> cluster indices
    horizon_s: float
    server_scale: int  # real servers per simulated server
    link_of: np.ndarray  # (R, C) index of the link each path uses
    link_gbps: np.ndarray  # (L,) capacity of each link
    link_names: tuple[str, ...]
    class_priority: tuple[int, ...]
    class_share: tuple[float, ...]
    streams: Streams  # the run's random streams (energy already drawn): one Scenario, one run
    trace_jobs: Jobs | None = None  # batch jobs of the classes replayed from traces
    # latency classes replayed from traces: class index -> requests per (time step, region)
    latency_trace: dict[int, np.ndarray] = field(default_factory=dict)
    cluster_power: tuple[ServerPower, ...] = ()  # per cluster (column): its server type's power
    bandwidth_cny_per_gb: float = 0.0  # price of moving one GB to a cluster
    cluster_tflops: np.ndarray | None = None  # (C,) peak TFLOPS of one server (None: none known)
    cluster_scale: np.ndarray | None = None  # (C,) real servers per simulated server (None: server_scale)

    @property
    def servers(self) -> np.ndarray:
        """Real (occupied, usable) servers of each cluster (before faults and power state)."""
        return self.topology.cluster_servers

    def power_of(self, cluster: int) -> ServerPower:
        """The server of ``cluster`` (the run's CPU server where none is given)."""
        return self.cluster_power[cluster] if self.cluster_power else self.power

    @property
    def scales(self) -> np.ndarray:
        """Real servers per simulated server of each cluster (its server type's job scale)."""
        if self.cluster_scale is not None:
            return self.cluster_scale
        return np.full(self.topology.n_clusters, self.server_scale, dtype=np.int64)

    def watts(self, attr: str) -> np.ndarray:
        """(C,) ``idle_w`` or ``peak_w`` of one server of each cluster (its server type)."""
        return np.array([float(getattr(self.power_of(c), attr)) for c in range(self.topology.n_clusters)])

    @property
    def type_mask(self) -> np.ndarray:
        """(K, C): class k may run on cluster c (the cluster's servers are of the class's type)."""
        types = np.asarray(self.topology.types)
        k, c = len(self.classes), self.topology.n_clusters
        return np.array([types == s.server_type for s in self.classes], dtype=bool).reshape(k, c)

    @property
    def tflops(self) -> np.ndarray:
        """Peak TFLOPS of one server of each cluster (zeros where none is known)."""
        if self.cluster_tflops is not None:
            return self.cluster_tflops
        return np.zeros(self.topology.n_clusters)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    @property
    def n_hours(self) -> int:
        return self.energy.n_hours


def build_scenario(
    cfg: Config, source: str, ref: Reference | None = None, base_dir: Path | None = None
) -> Scenario:
    """Resolve topology, overrides, workloads and energy inputs of ``cfg``.

    ``base_dir`` is where relative file paths in the config (traces, green
    profiles) are looked up: the config file's folder (default: the cwd).
    """
    base = base_dir if base_dir is not None else Path.cwd()
    hours = max(1, math.ceil(cfg.horizon_h))
    types = config_server_types(cfg)
    power = types["cpu"].power
    rng = streams(cfg.seed)
    gpu = types["gpu"].power
    new_sites = cfg.overrides.new_sites
    if isinstance(cfg.topology, str):
        reference = national_with_new_sites(ref or national_reference(), new_sites, source)
        lm = latency_model_from_reference(reference)
        net = cfg.network
        lm = replace(
            lm,
            route_factor=net.route_factor if net.route_factor is not None else lm.route_factor,
            internet_route_factor=(
                net.internet_route_factor
                if net.internet_route_factor is not None
                else lm.internet_route_factor
            ),
            access_ms=net.access_ms if net.access_ms is not None else lm.access_ms,
        )
        base_topo = national_topology(reference, lm, metro=cfg.topology == "national")
        topo = _apply_overrides(cfg, source, base_topo)
        sites = {c.id: c for c in [*reference.clusters, *reference.metro_dcs]}
        share = {
            cid: (f.scalar if (f := sites[cid].gpu_share) is not None else 0.0) for cid in topo.cluster_ids
        }
    else:
        inline = inline_with_new_sites(cfg.topology, new_sites, source)
        topo = _apply_overrides(cfg, source, _inline(inline))
        share = {c.id: c.gpu_share for c in inline.clusters}
    for cid, ov in cfg.overrides.clusters.items():
        if ov.gpu_share is not None and cid in share:
            share[cid] = ov.gpu_share
    # the site as a whole (green supply, fixed overhead) is sized on its CPU/GPU blend
    site_power = tuple(power.blend(gpu, share[cid]) for cid in topo.cluster_ids)
    price_gb = cfg.network.price_cny_per_gb
    if price_gb is None:
        bw = reference.latency.bandwidth_cny_per_gb if isinstance(cfg.topology, str) else None
        price_gb = bw.scalar if bw is not None else 0.0
    if isinstance(cfg.topology, str):
        energy = national_site_energy(cfg, reference, topo, site_power, hours, rng.energy, base, source)
    else:
        energy = inline_site_energy(cfg, inline, topo, site_power, hours, base, source)

    classes = tuple(_class_spec(cfg, source, i, topo, hours) for i in range(len(cfg.workloads)))
    trace_jobs, latency_trace = _traces(cfg, source, topo, base)
    _check_faults(cfg, source, topo)
    link_of, link_gbps, link_names = _links(cfg, source, topo)
    typed = split_scenario_sites(cfg, source, topo, share, energy, link_of, classes)
    topo, energy, link_of = typed.topology, typed.energy, typed.link_of
    traced = 0 if trace_jobs is None else len(trace_jobs)
    if cfg.engine.bundling == "pool":
        check_pooled_job_budget(cfg, source, classes, topo, typed.server_scale, traced)
    else:
        check_job_budget(cfg, source, classes, traced)
    scale = cfg.engine.job_scale
    slots = np.maximum(1, np.rint(topo.cluster_servers / typed.server_scale)).astype(np.int64)
    candidates = tuple(
        tuple(
            np.flatnonzero((topo.rtt_ms[r] <= c.slo_ms) & (np.asarray(topo.types) == c.server_type))
            for r in range(topo.n_regions)
        )
        for c in classes
    )
    return Scenario(
        config=cfg,
        source=source,
        topology=topo,
        classes=classes,
        slots=slots,
        energy=energy,
        power=power,
        candidates=candidates,
        horizon_s=cfg.horizon_h * 3600.0,
        server_scale=scale,
        link_of=link_of,
        link_gbps=link_gbps,
        link_names=link_names,
        class_priority=tuple(
            w.priority if w.priority is not None else (0 if w.kind == "latency" else 1) for w in cfg.workloads
        ),
        class_share=tuple(w.max_share for w in cfg.workloads),
        streams=rng,
        trace_jobs=trace_jobs,
        latency_trace=latency_trace,
        cluster_power=typed.power,
        bandwidth_cny_per_gb=price_gb,
        cluster_tflops=typed.tflops,
        cluster_scale=typed.server_scale,
    )


def scenario_jobs(scn: Scenario, rng: np.random.Generator) -> Iterator[Jobs]:
    """The run's batch jobs in arrival order, a simulated day per chunk: generated plus replayed.

    Latency classes are flows (:mod:`sim.engine.flows`) and generate no jobs; with
    ``engine.bundling: pool`` neither do batch classes (:mod:`sim.engine.poolfeed`
    draws their bundles step by step): only replayed jobs come from here.
    """
    trace = scn.trace_jobs
    if scn.config.engine.bundling == "pool":
        if trace is not None:
            yield trace  # already in memory, in arrival order
        return
    batch_only = [replace(c, rate_per_h=0.0, rate_profile=None) if c.is_latency else c for c in scn.classes]
    gen = iter_jobs(batch_only, scn.horizon_s, rng, chunk_h=24)
    if trace is None:
        yield from gen
        return
    lo = 0
    t0 = 0.0
    for chunk in gen:
        t1 = t0 + 86400.0
        hi = int(np.searchsorted(trace.arrival_s, t1, side="left"))
        yield merge_jobs(chunk, take_jobs(trace, slice(lo, hi)))
        lo, t0 = hi, t1
    if lo < len(trace):
        yield take_jobs(trace, slice(lo, len(trace)))


def _inline(t: InlineTopology) -> Topology:
    r_ids = [r.id for r in t.regions]
    c_ids = [c.id for c in t.clusters]
    if t.latency_ms is not None:
        lat = t.latency_ms
        rtt = np.array([[lat[r][c] for c in c_ids] for r in r_ids], dtype=float)
    else:
        lm = LatencyModel(t.route_factor, t.fibre_us_per_km, t.overhead_ms)
        rtt = lm.rtt_ms(
            np.array([r.lon for r in t.regions], dtype=float),
            np.array([r.lat for r in t.regions], dtype=float),
            np.array([c.lon for c in t.clusters], dtype=float),
            np.array([c.lat for c in t.clusters], dtype=float),
        )
    sites: list[InlineRegion | InlineCluster] = [*t.regions, *t.clusters]
    has_coords = all(x.lon is not None and x.lat is not None for x in sites)
    topo = custom_topology(
        region_ids=r_ids,
        region_weight=[r.weight for r in t.regions],
        cluster_ids=c_ids,
        cluster_servers=[max(1, round(c.servers * c.occupancy)) for c in t.clusters],
        cluster_west=[c.side == "west" for c in t.clusters],
        rtt_ms=rtt,
        region_lonlat=[(float(r.lon), float(r.lat)) for r in t.regions] if has_coords else None,  # type: ignore[arg-type]
        cluster_lonlat=[(float(c.lon), float(c.lat)) for c in t.clusters] if has_coords else None,  # type: ignore[arg-type]
        cluster_hub=[c.hub or c.id for c in t.clusters],
        region_hub=[r.hub for r in t.regions],
    )
    return replace(topo, cluster_built_servers=np.array([c.servers for c in t.clusters], dtype=np.int64))


def _apply_overrides(cfg: Config, source: str, topo: Topology) -> Topology:
    """Capacity states, region weights and disabled clusters (energy overrides: sim.site_energy).

    An override's ``servers`` replaces the built capacity and ``occupancy`` the
    上架率; the usable (occupied) servers are ``round(built x occupancy)``.
    """
    built = topo.built_servers.copy()
    occupancy = topo.occupancy.copy()
    occupied = topo.cluster_servers.copy()
    weights = topo.region_weight.copy()
    for cid, ov in cfg.overrides.clusters.items():
        if cid not in topo.cluster_ids:
            raise InputError(
                source,
                f"overrides.clusters.{cid}",
                f"unknown cluster; expected one of {list(topo.cluster_ids)}",
            )
        i = topo.cluster_index(cid)
        if ov.servers is None and ov.occupancy is None:
            continue
        if ov.servers is not None:
            built[i] = ov.servers
        if ov.occupancy is not None:
            occupancy[i] = ov.occupancy
        occupied[i] = max(1, round(built[i] * occupancy[i]))
    for rid, rov in cfg.overrides.regions.items():
        if rid not in topo.region_ids:
            raise InputError(
                source, f"overrides.regions.{rid}", f"unknown region; expected one of {list(topo.region_ids)}"
            )
        if rov.weight is not None:
            weights[topo.region_index(rid)] = rov.weight
    if weights.sum() <= 0:
        raise InputError(source, "overrides.regions", "every region weight is zero: no demand is left")
    enabled = np.array(
        [cfg.overrides.clusters[c].enabled if c in cfg.overrides.clusters else True for c in topo.cluster_ids]
    )
    if not enabled.any():
        raise InputError(source, "overrides.clusters", "every cluster is disabled: nothing can serve demand")
    changed = replace(
        topo,
        region_weight=weights / weights.sum(),
        cluster_servers=occupied,
        cluster_built_servers=built,
    )
    return changed.select_clusters(np.flatnonzero(enabled))


def _class_spec(cfg: Config, source: str, i: int, topo: Topology, hours: int) -> ClassSpec:
    w = cfg.workloads[i]
    if w.regions is None:
        weights = topo.region_weight.copy()
    else:
        weights = np.zeros(topo.n_regions)
        for rid, val in w.regions.items():
            if rid not in topo.region_ids:
                raise InputError(
                    source,
                    f"workloads[{i}].regions.{rid}",
                    f"unknown region; expected one of {list(topo.region_ids)}",
                )
            weights[topo.region_index(rid)] = val
    if weights.sum() <= 0:
        raise InputError(source, f"workloads[{i}].regions", "all region weights are zero")
    # latency classes are request flows (one request each); batch jobs are bundled
    type_scale = gpu_job_scale(cfg) if w.server_type == "gpu" else cfg.engine.job_scale
    job_scale = w.job_scale if w.job_scale is not None else type_scale
    if w.kind == "latency":
        job_scale = 1
    elif w.job_scale is not None and cfg.engine.bundling == "pool":
        raise InputError(
            source,
            f"workloads[{i}].job_scale",
            "with engine.bundling: pool a bundle takes the size of the pool it is sent to "
            "(engine.pool_job_scale); expected no job_scale on the class",
        )
    if w.trace is None and w.rate_per_h <= 0 and not w.bursts:
        raise InputError(source, f"workloads[{i}].rate_per_h", "expected a positive rate (or a trace)")
    bursts = [Burst(b.start_h, b.duration_h, b.multiplier) for b in w.bursts]
    profile = rate_profile(cfg.start, hours, w.diurnal, w.weekend_factor, bursts)
    return ClassSpec(
        name=w.name,
        kind=KIND_LATENCY if w.kind == "latency" else KIND_BATCH,
        # a replayed class draws no arrivals of its own
        rate_per_h=0.0 if w.trace is not None else w.rate_per_h * cfg.overrides.demand_scale / job_scale,
        service_dist=w.service.dist,
        service_mean_s=w.service.mean_s,
        service_cv=w.service.cv,
        service_alpha=w.service.alpha,
        rate_profile=profile,
        data_dist=w.data_dist,
        data_cv=w.data_cv,
        region_weight=weights / weights.sum(),
        slo_ms=w.slo_ms if w.slo_ms is not None else float("inf"),
        deadline_h=w.deadline_h if w.deadline_h is not None else float("inf"),
        data_gb=w.data_gb,
        job_scale=job_scale,
        occupancy=job_scale / type_scale,
        server_type=w.server_type,
    )


def _check_faults(cfg: Config, source: str, topo: Topology) -> None:
    for i, f in enumerate(cfg.faults):
        if f.cluster not in topo.cluster_ids:
            raise InputError(
                source,
                f"faults[{i}].cluster",
                f"unknown or disabled cluster '{f.cluster}'; expected one of {list(topo.cluster_ids)}",
            )
        if f.region is not None and f.region not in topo.region_ids:
            raise InputError(source, f"faults[{i}].region", f"unknown region '{f.region}'")
        if f.region is not None and f.kind != "link_degradation":
            raise InputError(source, f"faults[{i}].region", "only a link_degradation names a region")
        if f.start_h >= cfg.horizon_h:
            raise InputError(source, f"faults[{i}].start_h", f"starts after the horizon ({cfg.horizon_h} h)")


def _links(cfg: Config, source: str, topo: Topology) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Map every region -> cluster path to a shared link and give each link its capacity."""
    net = cfg.network
    names: list[str] = []
    index: dict[str, int] = {}
    link_of = np.zeros((topo.n_regions, topo.n_clusters), dtype=np.int64)
    for r, rid in enumerate(topo.region_ids):
        for c, cid in enumerate(topo.cluster_ids):
            if net.links == "hub_pair":
                name = f"{topo.region_hub[r] or rid}->{topo.cluster_hub[c]}"
            else:
                name = f"{rid}->{cid}"
            if name not in index:
                index[name] = len(names)
                names.append(name)
            link_of[r, c] = index[name]
    gbps = np.full(len(names), net.path_gbps)
    for name, value in net.paths.items():
        if name not in index:
            shown = ", ".join(names[:4])
            raise InputError(
                source, f"network.paths.{name}", f"no such link (links: {net.links}; e.g. {shown}, ...)"
            )
        gbps[index[name]] = value
    return link_of, gbps, tuple(names)


def _traces(
    cfg: Config, source: str, topo: Topology, base: Path
) -> tuple[Jobs | None, dict[int, np.ndarray]]:
    """Batch jobs of the classes that replay a trace file, and latency classes' requests per step.

    A replayed latency class becomes a flow whose rate in each time step and
    region is the trace's count there (scaled by ``overrides.demand_scale``).
    """
    names = [w.name for w in cfg.workloads]
    parts: list[Jobs] = []
    latency: dict[int, np.ndarray] = {}
    step = float(cfg.engine.timestep_s)
    n_steps = max(1, math.ceil(cfg.horizon_h * 3600.0 / step))
    for i, w in enumerate(cfg.workloads):
        if w.trace is None:
            continue
        path = base / w.trace
        if not path.is_file():
            raise InputError(source, f"workloads[{i}].trace", f"file not found: {path}")
        jobs = read_trace(path, list(topo.region_ids), names, cfg.start)
        mine = take_jobs(jobs, jobs.klass == i)
        if w.kind == "latency":
            counts = np.zeros((n_steps, topo.n_regions))
            s = np.floor(mine.arrival_s / step).astype(np.int64)
            ok = (s >= 0) & (s < n_steps)
            np.add.at(counts, (s[ok], mine.region[ok]), 1.0)
            latency[i] = counts * cfg.overrides.demand_scale
            continue
        parts.append(mine)
    if not parts:
        return None, latency
    merged = concat_jobs(parts)
    order = np.argsort(merged.arrival_s, kind="stable")
    return take_jobs(merged, order), latency
