"""Turn a validated :class:`~sim.config.Config` into the arrays a run needs.

This is where cross-references are checked (cluster and region ids in
overrides and workloads, the policy name), so that every problem a config can
have surfaces before the simulation starts, as an InputError with a key path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from models.energy import ServerPower, SiteEnergy
from models.errors import InputError
from models.reference import Reference, national_reference
from models.topology import LatencyModel, Topology, custom_topology, national_topology
from models.workload import KIND_BATCH, KIND_LATENCY, ClassSpec
from sim.config import Config, InlineCluster, InlineRegion, InlineTopology


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

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)


def build_scenario(cfg: Config, source: str, ref: Reference | None = None) -> Scenario:
    """Resolve topology, overrides, workloads and energy inputs of ``cfg``."""
    if cfg.topology == "national":
        reference = ref or national_reference()
        topo = national_topology(reference)
        pue, tariff, grid, green = _national_energy(reference)
    else:
        topo, pue, tariff, grid, green = _inline(cfg.topology)

    topo, pue, tariff, grid, green = _apply_overrides(cfg, source, topo, pue, tariff, grid, green)
    hours = max(1, math.ceil(cfg.horizon_h))
    power = ServerPower()
    servers = topo.cluster_servers.astype(float)
    # Contracted green supply as a flat share of the cluster's expected energy
    # at its utilisation target (refined by the energy model of issue 3).
    green_kw = green * power.it_kw(servers, 0.6 * servers) * pue
    energy = SiteEnergy.flat(hours, pue, tariff, grid, green_kw)

    classes = tuple(_class_spec(cfg, source, i, topo) for i in range(len(cfg.workloads)))
    _check_faults(cfg, source, topo)
    link_of, link_gbps, link_names = _links(cfg, source, topo)
    scale = cfg.engine.job_scale
    slots = np.maximum(1, np.rint(topo.cluster_servers / scale)).astype(np.int64)
    candidates = tuple(
        tuple(
            np.flatnonzero(topo.rtt_ms[r] <= c.slo_ms)
            if c.kind == KIND_LATENCY
            else np.arange(topo.n_clusters)
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
    )


Arr = np.ndarray


def _national_energy(ref: Reference) -> tuple[Arr, Arr, Arr, Arr]:
    pue = np.array([c.pue_annual_mean.scalar for c in ref.clusters])
    provinces = [ref.provinces[c.province] for c in ref.clusters]
    tariff = np.array([p.tariff_flat_cny_per_kwh.scalar for p in provinces])
    grid = np.array([p.grid_kgco2_per_kwh.scalar for p in provinces])
    green = np.array([c.green_share.scalar for c in ref.clusters])
    return pue, tariff, grid, green


def _inline(t: InlineTopology) -> tuple[Topology, Arr, Arr, Arr, Arr]:
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
        cluster_servers=[c.servers for c in t.clusters],
        cluster_west=[c.side == "west" for c in t.clusters],
        rtt_ms=rtt,
        region_lonlat=[(float(r.lon), float(r.lat)) for r in t.regions] if has_coords else None,  # type: ignore[arg-type]
        cluster_lonlat=[(float(c.lon), float(c.lat)) for c in t.clusters] if has_coords else None,  # type: ignore[arg-type]
        cluster_hub=[c.hub or c.id for c in t.clusters],
        region_hub=[r.hub for r in t.regions],
    )
    arr = np.array
    return (
        topo,
        arr([c.pue for c in t.clusters]),
        arr([c.tariff_cny_per_kwh for c in t.clusters]),
        arr([c.grid_kgco2_per_kwh for c in t.clusters]),
        arr([c.green_share for c in t.clusters]),
    )


def _apply_overrides(
    cfg: Config, source: str, topo: Topology, pue: Arr, tariff: Arr, grid: Arr, green: Arr
) -> tuple[Topology, Arr, Arr, Arr, Arr]:
    pue, tariff, grid, green = pue.copy(), tariff.copy(), grid.copy(), green.copy()
    servers = topo.cluster_servers.copy()
    weights = topo.region_weight.copy()
    for cid, ov in cfg.overrides.clusters.items():
        if cid not in topo.cluster_ids:
            raise InputError(
                source,
                f"overrides.clusters.{cid}",
                f"unknown cluster; expected one of {list(topo.cluster_ids)}",
            )
        i = topo.cluster_index(cid)
        if ov.servers is not None:
            servers[i] = ov.servers
        if ov.pue is not None:
            pue[i] = ov.pue
        if ov.tariff_cny_per_kwh is not None:
            tariff[i] = ov.tariff_cny_per_kwh
        if ov.grid_kgco2_per_kwh is not None:
            grid[i] = ov.grid_kgco2_per_kwh
        if ov.green_share is not None:
            green[i] = ov.green_share
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
    idx = np.flatnonzero(enabled)
    new = replace(
        topo,
        region_weight=weights / weights.sum(),
        cluster_ids=tuple(topo.cluster_ids[i] for i in idx),
        cluster_lon=topo.cluster_lon[idx],
        cluster_lat=topo.cluster_lat[idx],
        cluster_hub=tuple(topo.cluster_hub[i] for i in idx),
        cluster_west=topo.cluster_west[idx],
        cluster_servers=servers[idx],
        rtt_ms=topo.rtt_ms[:, idx],
        cluster_names=tuple(topo.cluster_names[i] for i in idx) if topo.cluster_names else (),
    )
    return new, pue[idx], tariff[idx], grid[idx], green[idx]


def _class_spec(cfg: Config, source: str, i: int, topo: Topology) -> ClassSpec:
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
    job_scale = w.job_scale if w.job_scale is not None else cfg.engine.job_scale
    return ClassSpec(
        name=w.name,
        kind=KIND_LATENCY if w.kind == "latency" else KIND_BATCH,
        rate_per_h=w.rate_per_h / job_scale,
        service_dist=w.service.dist,
        service_mean_s=w.service.mean_s,
        service_cv=w.service.cv,
        region_weight=weights / weights.sum(),
        slo_ms=w.slo_ms if w.slo_ms is not None else float("inf"),
        deadline_h=w.deadline_h if w.deadline_h is not None else float("inf"),
        data_gb=w.data_gb,
        job_scale=job_scale,
        occupancy=job_scale / cfg.engine.job_scale,
    )


def _check_faults(cfg: Config, source: str, topo: Topology) -> None:
    for i, f in enumerate(cfg.faults):
        if f.cluster not in topo.cluster_ids:
            raise InputError(
                source, f"faults[{i}].cluster", f"unknown or disabled cluster '{f.cluster}'; expected one of "
                f"{list(topo.cluster_ids)}"
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
