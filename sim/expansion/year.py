"""A scenario's representative year as expansion inputs: typical days, growth, build costs, targets.

Everything operational comes from the scenario exactly as a run would build it
(:func:`sim.scenario.build_scenario` over 365 days from 1 January of the target year):
demand per region, class and hour (:func:`models.demand.profiles.forecast_work`),
weather-driven PUE, tariffs, grid factors and green supply. Those profiles are
clustered into typical days (:func:`models.typical_days.typical_days`); demand is
grown by each class's CAGR from ``base_year``; capex declines at ``capex_decline``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from models.demand.profiles import forecast_work
from models.errors import InputError
from models.plan.expansion import ExpansionInputs
from models.plan.expansion.capex import national_capex
from models.plan.inputs import PlanInputs, PlanWeights
from models.typical_days import TypicalDays, typical_days
from sim.config import Config, NewSite
from sim.expansion.costs import KEY, build_costs, expansion_of, targets
from sim.scenario import Scenario, build_scenario

__all__ = ["DAYS_PER_YEAR", "YearModel", "expansion_weights", "growth_factors", "year_model"]

DAYS_PER_YEAR = 365


def expansion_weights(cfg: Config) -> PlanWeights:
    """The operating objective: ``policy.weights`` and the carbon price (no caps: targets are separate)."""
    return PlanWeights(
        carbon_price_cny_per_t=cfg.energy.carbon_price_cny_per_t, **cfg.policy.weights.planner_kwargs()
    )


def growth_factors(cfg: Config, source: str, year: int) -> np.ndarray:
    """(K,) demand multiplier of each class in ``year``: (1 + CAGR)^(year - base_year)."""
    ex = expansion_of(cfg, source)
    names = [w.name for w in cfg.workloads]
    for name in ex.growth.classes:
        if name not in names:
            raise InputError(
                source, f"{KEY}.growth.classes.{name}", f"unknown workload; expected one of {names}"
            )
    rates = np.array([ex.growth.classes.get(n, ex.growth.default) for n in names])
    return np.asarray((1.0 + rates) ** (year - ex.base_year), dtype=float)


# A candidate site enters the year's scenario with this many placeholder servers (occupied,
# split by its like site's GPU share) so that its arrays exist; the LP sees none installed.
CANDIDATE_PLACEHOLDER = 1_000_000


def _year_config(cfg: Config, year: int) -> Config:
    start = datetime.fromisoformat(f"{year}-01-01T00:00:00+08:00")
    update: dict[str, Any] = {"start": start, "horizon_h": float(DAYS_PER_YEAR * 24), "faults": []}
    cands = cfg.expansion.candidates if cfg.expansion is not None else {}
    if cands:
        sites = dict(cfg.overrides.new_sites)
        for sid, c in cands.items():
            sites[sid] = NewSite(like=c.like, lon=c.lon, lat=c.lat, servers=CANDIDATE_PLACEHOLDER)
        update["overrides"] = cfg.overrides.model_copy(update={"new_sites": sites})
    return cfg.model_copy(update=update)


def like_columns(cfg: Config, scn: Scenario) -> np.ndarray:
    """(C,) for a candidate's column, the column of the same server type at its like site; else -1.

    A candidate whose like site has no pool of that type keeps its own (-1).
    """
    cands = cfg.expansion.candidates if cfg.expansion is not None else {}
    topo = scn.topology
    out = np.full(topo.n_clusters, -1, dtype=np.int64)
    for c, site in enumerate(topo.sites):
        if site in cands:
            match = [x for x in topo.site_indices(cands[site].like) if topo.types[x] == topo.types[c]]
            out[c] = match[0] if match else -1
    return out


def candidate_columns(cfg: Config, scn: Scenario) -> np.ndarray:
    """(C,) True for the columns of candidate sites (``expansion.candidates``)."""
    cands = set(cfg.expansion.candidates) if cfg.expansion is not None else set()
    return np.array([s in cands for s in scn.topology.sites], dtype=bool)


@dataclass(frozen=True)
class YearModel:
    """A target year's expansion inputs and how they were made."""

    year: int
    inputs: ExpansionInputs
    typical: TypicalDays
    scenario: Scenario
    green_kw_per_server: np.ndarray  # (C, hours) of the full year
    unreachable_sh: np.ndarray  # (K,) annual work of regions with no cluster within the class's SLO


def year_model(
    cfg: Config,
    source: str,
    year: int,
    installed: np.ndarray | None = None,
    built_so_far: np.ndarray | None = None,
    base_dir: Any = None,
) -> YearModel:
    """The expansion inputs of ``year`` (``installed``: servers now, default the config's fleet)."""
    ex = expansion_of(cfg, source)
    for i, w in enumerate(cfg.workloads):
        if w.trace is not None:
            raise InputError(
                source, f"workloads[{i}].trace", "edwc expand needs rate-based workloads, not traces"
            )
    try:
        scn = build_scenario(_year_config(cfg, year), source, base_dir=base_dir)
    except InputError as err:  # a candidate is placed as a new site: name the key the user wrote
        prefix = "overrides.new_sites."
        name = err.key_path[len(prefix) :].split(".")[0] if err.key_path.startswith(prefix) else ""
        if name in expansion_of(cfg, source).candidates and name not in cfg.overrides.new_sites:
            key = KEY + ".candidates." + err.key_path[len(prefix) :]
            raise InputError(source, key, err.message) from None
        raise
    topo = scn.topology
    hours = DAYS_PER_YEAR * 24
    demand = forecast_work(scn.classes, hours) * growth_factors(cfg, source, year)[None, :, None]
    n0 = topo.cluster_servers.astype(float)  # a candidate's placeholders size its per-server arrays
    now = np.where(candidate_columns(cfg, scn), 0.0, n0)  # a candidate has none installed
    if installed is not None:
        now = np.asarray(installed, dtype=float)
    e = scn.energy
    green_per_server = e.green_kw / np.maximum(n0, 1.0)[:, None]
    # work with no cluster within its SLO cannot be served by building anywhere: it is
    # left out of the LP and reported (YearModel.unreachable_sh)
    slo_ok = np.array([c.slo_ms if c.is_latency else math.inf for c in scn.classes])
    allowed = scn.type_mask  # (K, C): the pools of each class's server type
    reach = ((topo.rtt_ms[:, None, :] <= slo_ok[None, :, None]) & allowed[None]).any(axis=2)  # (R, K)
    unreachable = (demand * ~reach[:, :, None]).sum(axis=(0, 2))
    demand = demand * reach[:, :, None]
    total = demand.sum(axis=0)  # (K, H)
    share = demand.sum(axis=2) / np.maximum(total.sum(axis=1), 1e-300)[None, :]  # (R, K) constant split
    k = None if ex.typical_days == "full" else int(ex.typical_days)
    # a candidate's profiles copy its like site's: clustered once, as the like's (a copy would
    # weigh that site twice in the choice of typical days)
    like = like_columns(cfg, scn)
    own = like < 0
    profiles = {
        "demand": total,
        "pue": e.pue[own],
        "tariff": e.tariff_cny_per_kwh[own],
        "grid": e.grid_kgco2_per_kwh[own],
        "green": green_per_server[own],
    }
    td = typical_days(profiles, k, peak="demand" if ex.peak_day else None, start=f"{year}-01-01")
    if not own.all():
        row = np.cumsum(own) - 1  # column -> its row among the clustered ones
        src = np.where(own, row, row[np.maximum(like, 0)])
        series = {n: (a[:, src] if n != "demand" else a) for n, a in td.series.items()}
        td = dataclasses.replace(td, series=series)
    capex = national_capex()
    costs = build_costs(cfg, source, scn, year, capex)
    built = np.zeros(len(n0)) if built_so_far is None else built_so_far
    remaining = np.maximum(costs.max_new_servers - built, 0.0)
    built_site = np.bincount(costs.site_of, weights=built, minlength=len(costs.sites))
    site_remaining = np.maximum(costs.site_max_new_servers - built_site, 0.0)
    peak_pue = e.pue.max(axis=1)
    peak_w = scn.watts("peak_w")
    mw_per_server = peak_w * peak_pue / 1e6
    days = []
    lat = np.array([c.is_latency for c in scn.classes])
    slo = np.array([c.slo_ms if c.is_latency else math.inf for c in scn.classes])
    deadline = np.array(
        [0 if c.is_latency else max(1, math.ceil(c.deadline_h)) for c in scn.classes], np.int64
    )
    data = np.array(
        [c.data_gb / (c.service_mean_s / 3600.0) if c.service_mean_s > 0 else 0.0 for c in scn.classes]
    )
    bandwidth = scn.link_gbps[scn.link_of].astype(float)
    for d in range(td.k):
        dem = share[:, :, None] * td.series["demand"][d][None, :, :]
        green = td.series["green"][d] * now[:, None]
        days.append(
            PlanInputs(
                region_ids=topo.region_ids,
                cluster_ids=topo.cluster_ids,
                class_names=scn.class_names,
                is_latency=lat,
                slo_ms=slo,
                deadline_h=deadline,
                demand_sh=np.maximum(dem, 0.0),
                data_gb_per_sh=data,
                rtt_ms=topo.rtt_ms,
                capacity_servers=np.repeat(now[:, None], 24, axis=1),
                cluster_west=topo.cluster_west,
                cluster_hub=topo.cluster_hub,
                pue=np.maximum(td.series["pue"][d], 1.0),
                tariff_cny_per_kwh=np.maximum(td.series["tariff"][d], 0.0),
                grid_kgco2_per_kwh=np.maximum(td.series["grid"][d], 0.0),
                green_kw=np.maximum(green, 0.0),
                bandwidth_gbps=bandwidth,
                idle_w=scn.watts("idle_w"),
                peak_w=peak_w,
                allowed=allowed,
                rho_max=ex.rho_max,
                cyclic=True,  # a typical day stands for days that follow each other
            )
        )
    bw_cost = None
    if ex.bandwidth:
        bw_cost = (
            ex.bandwidth_cny_per_gbps_year
            if ex.bandwidth_cny_per_gbps_year is not None
            else capex.bandwidth_cny_per_gbps_year
        )
    inputs = ExpansionInputs(
        days=tuple(days),
        day_weight=td.weight,
        installed_servers=now,
        capex_cny_per_server_year=costs.cost_cny_per_server_year,
        max_new_servers=remaining,
        max_new_mw=costs.max_new_mw,
        site_of=costs.site_of,
        site_max_new_servers=site_remaining,
        site_max_new_mw=costs.site_max_new_mw,
        mw_per_server=mw_per_server,
        green_kw_per_new_server=(
            np.maximum(td.series["green"], 0.0) if ex.new_green == "proportional" else None
        ),
        bandwidth_cny_per_gbps_year=bw_cost,
        targets=targets(cfg, source, scn),
    )
    return YearModel(year, inputs, td, scn, green_per_server, unreachable)
