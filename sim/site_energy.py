"""Hourly energy inputs of a scenario's clusters: PUE, tariff, grid factor, green supply.

National clusters use the reference data through :mod:`models.energy.site`
(weather-driven PUE, provincial time-of-use tariffs and grid factors,
synthetic solar and wind sized to each cluster's green share). Inline
clusters have flat values from the config. Config overrides apply on top.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from models.energy.renewables import load_green_profiles
from models.energy.site import (
    ServerPower,
    SiteEnergy,
    SiteParams,
    build_site_energy,
    site_params_from_reference,
)
from models.energy.tariffs import TouTariff
from models.errors import InputError
from models.reference import Reference
from models.topology import Topology
from sim.config import ClusterOverride, Config, InlineTopology


def _flat_tariff(price: float) -> TouTariff:
    return TouTariff(price, price, price, (), ())


def national_site_energy(
    cfg: Config,
    ref: Reference,
    topo: Topology,
    power: ServerPower,
    hours: int,
    rng: np.random.Generator,
    base_dir: Path,
    source: str,
) -> SiteEnergy:
    sites: list[SiteParams] = []
    by_id = {c.id: c for c in ref.clusters}
    for c, cid in enumerate(topo.cluster_ids):
        rc = by_id[cid]
        servers = float(topo.cluster_servers[c])
        mean_it_kw = float(power.it_kw(servers, servers * rc.utilisation_target.scalar))
        site = site_params_from_reference(
            ref, rc, mean_it_kw, power=power, use_dc_tariff=cfg.energy.dc_tariff
        )
        site = dataclasses.replace(site, temp_offset_c=cfg.energy.temp_offset_c)
        sites.append(_override(site, cfg.overrides.clusters.get(cid), cfg.energy.temp_offset_c))
    green = _green_profile(cfg, topo, hours, base_dir, source)
    return build_site_energy(sites, cfg.start, hours, rng, green_override_kw=green)


def _override(site: SiteParams, ov: ClusterOverride | None, global_offset_c: float) -> SiteParams:
    if ov is None:
        return site
    changes: dict[str, object] = {}
    if ov.pue is not None:
        changes["pue_annual_mean"] = ov.pue
    if ov.tariff_cny_per_kwh is not None:
        changes["tariff"] = _flat_tariff(ov.tariff_cny_per_kwh)
    if ov.grid_kgco2_per_kwh is not None:
        changes["grid_kgco2_per_kwh"] = ov.grid_kgco2_per_kwh
    if ov.green_share is not None:
        changes["green_share"] = ov.green_share
    if ov.temp_offset_c is not None:
        changes["temp_offset_c"] = global_offset_c + ov.temp_offset_c
    return dataclasses.replace(site, **changes)  # type: ignore[arg-type]


def inline_site_energy(
    cfg: Config,
    t: InlineTopology,
    topo: Topology,
    power: ServerPower,
    hours: int,
    base_dir: Path,
    source: str,
) -> SiteEnergy:
    """Flat hourly inputs from the inline clusters' values (after overrides)."""
    by_id = {c.id: c for c in t.clusters}
    pue, tariff, grid, green_kw = [], [], [], []
    for c, cid in enumerate(topo.cluster_ids):
        ic = by_id[cid]
        ov = cfg.overrides.clusters.get(cid) or ClusterOverride()
        p = ov.pue if ov.pue is not None else ic.pue
        share = ov.green_share if ov.green_share is not None else ic.green_share
        servers = float(topo.cluster_servers[c])
        pue.append(p)
        tariff.append(ov.tariff_cny_per_kwh if ov.tariff_cny_per_kwh is not None else ic.tariff_cny_per_kwh)
        grid.append(ov.grid_kgco2_per_kwh if ov.grid_kgco2_per_kwh is not None else ic.grid_kgco2_per_kwh)
        # contracted green supply: a flat share of the energy at 60 % utilisation
        green_kw.append(share * float(power.it_kw(servers, 0.6 * servers)) * p)
    energy = SiteEnergy.flat(hours, np.array(pue), np.array(tariff), np.array(grid), np.array(green_kw))
    profile = _green_profile(cfg, topo, hours, base_dir, source)
    if profile is not None:
        given = ~np.isnan(profile).any(axis=1)
        green = energy.green_kw.copy()
        green[given] = profile[given]
        energy = dataclasses.replace(energy, green_kw=green)
    return energy


def _green_profile(cfg: Config, topo: Topology, hours: int, base_dir: Path, source: str) -> np.ndarray | None:
    if cfg.energy.green_profile is None:
        return None
    path = base_dir / cfg.energy.green_profile
    if not path.is_file():
        raise InputError(source, "energy.green_profile", f"file not found: {path}")
    out: np.ndarray = load_green_profiles(path, list(topo.cluster_ids), cfg.start, hours)
    return out
