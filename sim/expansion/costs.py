"""What may be built where, and at what cost: the expansion's build costs, limits and targets.

The scenario's columns are server pools (:mod:`models.servers`): a site's CPU
pool keeps the site's id, its GPU pool is ``<site>_gpu``. Config keys name
either:

- a **site** (``zhangjiakou``): its build limits (``max_new_servers``,
  ``max_new_mw``, the seeds' planned scale) bound the new servers of all its
  pools together; its ``capex_cny_per_server_year`` is the CPU pool's; a
  target (PUE cap, minimum occupancy, green clusters) applies to every pool;
- a **pool** (``zhangjiakou_gpu``): the same keys for that pool alone.

A new CPU server costs ``expansion.capex_cny_per_server_year`` (default: the
seeds' annualised server capex); a new GPU server
``expansion.gpu_capex_cny_per_server_year`` (default: the seeds' GPU server, IT
plus its power's share of the facility, :meth:`CapexData.gpu_server_cny_per_year`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import InputError
from models.plan.expansion import Targets
from models.plan.expansion.capex import CapexData
from models.topology import Topology
from sim.config import Config, InlineTopology
from sim.config_expansion import ClusterBuild, ExpansionConfig
from sim.scenario import Scenario

__all__ = ["BuildCosts", "build_costs", "expansion_of", "resolve_columns", "targets"]

KEY = "expansion"


def expansion_of(cfg: Config, source: str) -> ExpansionConfig:
    if cfg.expansion is None:
        raise InputError(
            source, KEY, "expected an expansion section (target_years, growth, ...) for edwc expand"
        )
    return cfg.expansion


def _sites(topo: Topology) -> list[str]:
    return list(dict.fromkeys(topo.sites))


def resolve_columns(topo: Topology, name: str) -> list[int] | None:
    """Columns a config key names: every pool of a site, or one pool; None if unknown."""
    cols = topo.site_indices(name)
    if cols:
        return cols
    return [topo.cluster_ids.index(name)] if name in topo.cluster_ids else None


def _unknown(topo: Topology) -> str:
    pools = [c for c in topo.cluster_ids if c not in topo.sites]
    return f"expected a site {_sites(topo)} or a server pool {pools}"


def _per_column(
    source: str, key: str, topo: Topology, value: float | dict[str, float] | None
) -> np.ndarray | None:
    """One number for every column, or site/pool -> number (pools override their site)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return np.full(topo.n_clusters, float(value))
    out = np.full(topo.n_clusters, np.nan)
    for name in sorted(value, key=lambda x: name_is_pool(topo, x)):  # sites first, then pools
        cols = resolve_columns(topo, name)
        if cols is None:
            raise InputError(source, f"{KEY}.targets.{key}.{name}", f"unknown cluster; {_unknown(topo)}")
        out[cols] = float(value[name])
    return out


def name_is_pool(topo: Topology, name: str) -> bool:
    """True when ``name`` is a server pool's own id rather than a site's."""
    return name not in topo.sites


def targets(cfg: Config, source: str, scn: Scenario) -> Targets:
    """The programme's targets of ``expansion.targets``, per column."""
    t = expansion_of(cfg, source).targets
    topo = scn.topology
    pue: np.ndarray | None
    if t.pue_max == "seeds":
        if cfg.topology != "national":
            raise InputError(
                source, f"{KEY}.targets.pue_max", "'seeds' needs the national topology; give caps"
            )
        from models.reference import national_reference

        # the approval ceilings of the national clusters; sites without one (the metro areas) have no cap
        caps = {c.id: c.pue_max.scalar for c in national_reference().clusters}
        for sid, ns in cfg.overrides.new_sites.items():  # a new site is approved like its like
            if ns.like in caps:
                caps[sid] = caps[ns.like]
        pue = np.array([caps.get(s, np.nan) for s in topo.sites], dtype=float)
    else:
        pue = _per_column(source, "pue_max", topo, t.pue_max)
    green = None
    if t.green_clusters is not None:
        green = np.zeros(topo.n_clusters, dtype=bool)
        for name in t.green_clusters:
            cols = resolve_columns(topo, name)
            if cols is None:
                raise InputError(source, f"{KEY}.targets.green_clusters", f"unknown cluster '{name}'")
            green[cols] = True
    return Targets(
        pue_max=pue,
        min_occupancy=_per_column(source, "min_occupancy", topo, t.min_occupancy),
        min_green_share=t.min_green_share,
        green_clusters=green,
        min_west_share=t.min_west_share,
    )


@dataclass(frozen=True)
class BuildCosts:
    """Per column: annualised capex and limits; per site: the limits its pools share."""

    cost_cny_per_server_year: np.ndarray  # (C,)
    max_new_servers: np.ndarray  # (C,) over all periods (inf: none)
    max_new_mw: np.ndarray  # (C,)
    site_of: np.ndarray  # (C,) index into ``sites``
    sites: tuple[str, ...]
    site_max_new_servers: np.ndarray  # (S,) over all periods (inf: none)
    site_max_new_mw: np.ndarray  # (S,)


def build_costs(cfg: Config, source: str, scn: Scenario, year: int, capex: CapexData) -> BuildCosts:
    """Build costs and limits of ``year`` (capex declined from ``base_year``)."""
    ex = expansion_of(cfg, source)
    topo = scn.topology
    n = topo.n_clusters
    sites = _sites(topo)
    site_of = np.array([sites.index(s) for s in topo.sites], dtype=np.int64)
    gpu = np.asarray(topo.types) == "gpu"
    cpu_cost = (
        ex.capex_cny_per_server_year
        if ex.capex_cny_per_server_year is not None
        else capex.server_cny_per_year
    )
    e = cfg.energy
    gpu_cost = (
        ex.gpu_capex_cny_per_server_year
        if ex.gpu_capex_cny_per_server_year is not None
        else capex.gpu_server_cny_per_year(e.gpu_peak_w, e.peak_w)
    )
    cost = np.where(gpu, gpu_cost, cpu_cost).astype(float)
    limit = np.full(n, np.inf)
    mw = np.full(n, np.inf)
    site_limit = np.full(len(sites), np.inf)
    site_mw = np.full(len(sites), np.inf)
    cpu_col = {topo.sites[c]: c for c in range(n) if not gpu[c]}
    if isinstance(cfg.topology, InlineTopology):
        for ic in cfg.topology.clusters:
            if ic.id not in sites:
                continue  # disabled
            if ic.capex_cny_per_server_year is not None and ic.id in cpu_col:
                cost[cpu_col[ic.id]] = ic.capex_cny_per_server_year
            if ic.max_new_servers is not None:
                site_limit[sites.index(ic.id)] = ic.max_new_servers
    elif ex.build_limits == "planned_scale":
        for s, sid in enumerate(sites):
            fig = capex.planned_servers.get(sid)
            if fig is not None:
                now = float(topo.cluster_servers[site_of == s].sum())
                site_limit[s] = max(0.0, fig.scalar - now)
    builds: dict[str, tuple[str, ClusterBuild]] = {}
    for cand, cand_build in ex.candidates.items():  # a candidate's cost and limits are a site's
        builds[cand] = (f"{KEY}.candidates.{cand}", cand_build)
    for site_key, site_build in ex.clusters.items():
        builds[site_key] = (f"{KEY}.clusters.{site_key}", site_build)
    for name in sorted(builds, key=lambda x: name_is_pool(topo, x)):
        cols = resolve_columns(topo, name)
        key, cb = builds[name]
        if cols is None:
            raise InputError(source, key, f"unknown cluster; {_unknown(topo)}")
        if name_is_pool(topo, name):
            c = cols[0]
            if cb.capex_cny_per_server_year is not None:
                cost[c] = cb.capex_cny_per_server_year
            if cb.max_new_servers is not None:
                limit[c] = cb.max_new_servers
            if cb.max_new_mw is not None:
                mw[c] = cb.max_new_mw
            continue
        s = sites.index(name)
        if cb.capex_cny_per_server_year is not None and name in cpu_col:
            cost[cpu_col[name]] = cb.capex_cny_per_server_year
        if cb.max_new_servers is not None:
            site_limit[s] = cb.max_new_servers
        if cb.max_new_mw is not None:
            site_mw[s] = cb.max_new_mw
    decline = ex.capex_decline if ex.capex_decline is not None else capex.decline_per_year
    return BuildCosts(
        cost_cny_per_server_year=cost * (1.0 - decline) ** (year - ex.base_year),
        max_new_servers=limit,
        max_new_mw=mw,
        site_of=site_of,
        sites=tuple(sites),
        site_max_new_servers=site_limit,
        site_max_new_mw=site_mw,
    )
