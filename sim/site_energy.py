"""Hourly energy inputs of a scenario's clusters: PUE, tariff, grid factor, green supply.

National clusters use the reference data through :mod:`models.energy.site`
(weather-driven PUE, provincial time-of-use tariffs and grid factors,
synthetic solar and wind sized to each cluster's green share). Inline
clusters have flat values from the config. Config overrides apply on top,
then the hourly grid profile (``energy.grid_profile``), then the residual
mix on clusters with contracted green power (:func:`grid_signals`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.energy.carbon import contracted_green, residual_factor
from models.energy.grid_profile import load_grid_profile
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
from models.reference import Reference, national_reference
from models.topology import Topology
from sim.config import ClusterOverride, Config, InlineTopology


def _flat_tariff(price: float) -> TouTariff:
    return TouTariff(price, price, price, (), ())


def national_site_energy(
    cfg: Config,
    ref: Reference,
    topo: Topology,
    powers: Sequence[ServerPower],
    hours: int,
    rng: np.random.Generator,
    base_dir: Path,
    source: str,
) -> SiteEnergy:
    sites: list[SiteParams] = []
    by_id = {c.id: c for c in [*ref.clusters, *ref.metro_dcs]}
    for c, cid in enumerate(topo.cluster_ids):
        rc = by_id[cid]
        servers = float(topo.cluster_servers[c])
        mean_it_kw = float(powers[c].it_kw(servers, servers * rc.utilisation_target.scalar))
        site = site_params_from_reference(
            ref, rc, mean_it_kw, power=powers[c], use_dc_tariff=cfg.energy.dc_tariff
        )
        site = dataclasses.replace(site, temp_offset_c=cfg.energy.temp_offset_c)
        sites.append(_override(site, cfg.overrides.clusters.get(cid), cfg.energy.temp_offset_c))
    green = _green_profile(cfg, topo, hours, base_dir, source)
    # sites added by overrides.new_sites draw their weather after every other site, so that
    # adding one leaves the others' synthetic green supply as it was
    added = set(cfg.overrides.new_sites)
    order = [i for i, c in enumerate(topo.cluster_ids) if c not in added]
    order += [i for i, c in enumerate(topo.cluster_ids) if c in added]
    energy = build_site_energy(
        [sites[i] for i in order],
        cfg.start,
        hours,
        rng,
        green_override_kw=None if green is None else green[order],
    )
    energy = _rows(energy, np.argsort(order))
    marginal = [_marginal_constant(None, cfg.overrides.clusters.get(cid)) for cid in topo.cluster_ids]
    shares = np.array([s.green_share for s in sites])
    return grid_signals(cfg, energy, marginal, shares, ref.grid_carbon.residual_ratio, topo, base_dir, source)


def _rows(e: SiteEnergy, idx: np.ndarray) -> SiteEnergy:
    """``e`` with its rows (clusters) taken in the order ``idx``."""
    return dataclasses.replace(
        e,
        pue=e.pue[idx],
        tariff_cny_per_kwh=e.tariff_cny_per_kwh[idx],
        grid_kgco2_per_kwh=e.grid_kgco2_per_kwh[idx],
        green_kw=e.green_kw[idx],
        marginal_kgco2_per_kwh=None if e.marginal_kgco2_per_kwh is None else e.marginal_kgco2_per_kwh[idx],
        fixed_kw=None if e.fixed_kw is None else e.fixed_kw[idx],
    )


def _marginal_constant(base: float | None, ov: ClusterOverride | None) -> float | None:
    if ov is not None and ov.marginal_kgco2_per_kwh is not None:
        return ov.marginal_kgco2_per_kwh
    return base


def grid_signals(
    cfg: Config,
    energy: SiteEnergy,
    marginal: list[float | None],
    green_share: np.ndarray,
    default_ratio: float,
    topo: Topology,
    base_dir: Path,
    source: str,
) -> SiteEnergy:
    """Apply the grid profile, the marginal factors and the residual mix to ``energy``.

    ``marginal`` holds each cluster's constant marginal factor (None: not
    given). A cluster has contracted green power when its ``green_share`` is
    positive or its green supply is positive in some hour. The profile
    replaces the constants of the clusters it names. The marginal factor must
    end up given for every cluster or for none.
    """
    e = cfg.energy
    hours = energy.n_hours
    marg = np.array([np.nan if m is None else m for m in marginal], dtype=float)[:, None].repeat(
        hours, axis=1
    )
    grid, tariff = energy.grid_kgco2_per_kwh, energy.tariff_cny_per_kwh
    if e.grid_profile is not None:
        path = base_dir / e.grid_profile
        if not path.is_file():
            raise InputError(source, "energy.grid_profile", f"file not found: {path}")
        prof = load_grid_profile(path, list(topo.cluster_ids), cfg.start, hours, repeat=e.grid_profile_repeat)
        grid = prof.apply("grid_kgco2_per_kwh", grid)
        tariff = prof.apply("tariff_cny_per_kwh", tariff)
        marg = prof.apply("marginal_kgco2_per_kwh", marg)
    given = ~np.isnan(marg).any(axis=1)
    if given.any() and not given.all():
        have = [c for c, g in zip(topo.cluster_ids, given, strict=True) if g]
        lack = [c for c, g in zip(topo.cluster_ids, given, strict=True) if not g]
        raise InputError(
            source,
            "energy.grid_profile",
            f"a marginal carbon factor is given for {have[:5]} but not for {lack[:5]}; "
            "give it for every cluster (profile column marginal_kgco2_per_kwh or overrides) or for none",
        )
    if e.carbon_signal == "marginal" and not given.all():
        raise InputError(
            source,
            "energy.carbon_signal",
            "'marginal' needs a marginal factor for every cluster: a grid profile with "
            "marginal_kgco2_per_kwh, or marginal_kgco2_per_kwh in the clusters or overrides",
        )
    if e.residual_mix:
        ratio = e.residual_ratio if e.residual_ratio is not None else default_ratio
        contracted = (np.asarray(green_share) > 0) | contracted_green(energy.green_kw)
        grid = residual_factor(grid, contracted, ratio)
    return dataclasses.replace(
        energy,
        grid_kgco2_per_kwh=grid,
        tariff_cny_per_kwh=tariff,
        marginal_kgco2_per_kwh=marg if given.all() else None,
    )


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
    powers: Sequence[ServerPower],
    hours: int,
    base_dir: Path,
    source: str,
) -> SiteEnergy:
    """Flat hourly inputs from the inline clusters' values (after overrides)."""
    by_id = {c.id: c for c in t.clusters}
    pue, tariff, grid, green_kw = [], [], [], []
    marginal: list[float | None] = []
    green_shares: list[float] = []
    for c, cid in enumerate(topo.cluster_ids):
        ic = by_id[cid]
        ov = cfg.overrides.clusters.get(cid) or ClusterOverride()
        p = ov.pue if ov.pue is not None else ic.pue
        share = ov.green_share if ov.green_share is not None else ic.green_share
        servers = float(topo.cluster_servers[c])
        pue.append(p)
        tariff.append(ov.tariff_cny_per_kwh if ov.tariff_cny_per_kwh is not None else ic.tariff_cny_per_kwh)
        grid.append(ov.grid_kgco2_per_kwh if ov.grid_kgco2_per_kwh is not None else ic.grid_kgco2_per_kwh)
        marginal.append(_marginal_constant(ic.marginal_kgco2_per_kwh, ov))
        green_shares.append(share)
        # contracted green supply: a flat share of the energy at 60 % utilisation
        green_kw.append(share * float(powers[c].it_kw(servers, 0.6 * servers)) * p)
    energy = SiteEnergy.flat(hours, np.array(pue), np.array(tariff), np.array(grid), np.array(green_kw))
    profile = _green_profile(cfg, topo, hours, base_dir, source)
    if profile is not None:
        given = ~np.isnan(profile).any(axis=1)
        green = energy.green_kw.copy()
        green[given] = profile[given]
        energy = dataclasses.replace(energy, green_kw=green)
    ratio = national_reference().grid_carbon.residual_ratio
    shares = np.array(green_shares)
    return grid_signals(cfg, energy, marginal, shares, ratio, topo, base_dir, source)


def _green_profile(cfg: Config, topo: Topology, hours: int, base_dir: Path, source: str) -> np.ndarray | None:
    if cfg.energy.green_profile is None:
        return None
    path = base_dir / cfg.energy.green_profile
    if not path.is_file():
        raise InputError(source, "energy.green_profile", f"file not found: {path}")
    out: np.ndarray = load_green_profiles(path, list(topo.cluster_ids), cfg.start, hours)
    return out
