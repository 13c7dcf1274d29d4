"""Inputs of the capacity-expansion LP: typical days, build costs and limits, programme targets.

The formulation is in ``docs/expansion.md``. Every operating day is one
:class:`~models.plan.inputs.PlanInputs` window (the operational planner's own
arrays); the expansion adds what is shared across the days: the servers built
per cluster, optionally path bandwidth, their annualised costs and limits, and
annual targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from models.plan.inputs import BoolArray, FloatArray, IntArray, PlanError, PlanInputs, PlanWeights, validate

__all__ = ["ExpansionInputs", "Targets", "validate_expansion"]


@dataclass(frozen=True)
class Targets:
    """The programme's targets, each optional, each a hard constraint with a dual.

    Parameters
    ----------
    pue_max:
        (C,) cap on each cluster's annual energy-weighted PUE (facility / IT energy);
        NaN: no cap. Hourly PUE follows the weather, so the cap constrains when and
        how much a cluster runs.
    min_occupancy:
        (C,) minimum mean utilisation of each cluster's installed servers (existing +
        new) over the year, the model's 上架率; NaN: none.
    min_green_share:
        Minimum share of the energy of ``green_clusters`` met by green supply.
    green_clusters:
        (C,) clusters the green share counts (default: all).
    min_west_share:
        Minimum share of served work (server-hours) run in western clusters.
    """

    pue_max: FloatArray | None = None
    min_occupancy: FloatArray | None = None
    min_green_share: float | None = None
    green_clusters: BoolArray | None = None
    min_west_share: float | None = None

    def names(self, cluster_ids: tuple[str, ...]) -> list[str]:
        """The row name of every active target, e.g. ``pue_max[guian]``."""
        out: list[str] = []
        for key, arr in (("pue_max", self.pue_max), ("min_occupancy", self.min_occupancy)):
            if arr is not None:
                out += [f"{key}[{c}]" for c, v in zip(cluster_ids, arr, strict=True) if np.isfinite(v)]
        if self.min_green_share is not None:
            out.append("min_green_share")
        if self.min_west_share is not None:
            out.append("min_west_share")
        return out


@dataclass(frozen=True)
class ExpansionInputs:
    """A representative year of typical days and what may be built.

    Parameters
    ----------
    days:
        One operating window per typical day (all with the same regions, classes,
        clusters and hours); ``capacity_servers`` of each is the installed fleet.
    day_weight:
        (D,) how many days of the year each typical day stands for (sum: 365).
    installed_servers:
        (C,) servers already there.
    capex_cny_per_server_year:
        (C,) annualised cost of one new server (building, power, cooling and IT).
    max_new_servers:
        (C,) build limit in servers (inf: none); ``max_new_mw`` the limit in MW.
    mw_per_server:
        (C,) facility MW one new server adds at full load and the site's peak PUE.
    green_kw_per_new_server:
        (D, C, T) green supply each new server brings (contracted like the existing
        fleet's); None: new servers bring none.
    bandwidth_cny_per_gbps_year:
        Annualised cost of one Gbit/s more on a region->cluster path; None: paths are
        not extended.
    site_of:
        (C,) the site of each cluster column (server pools of one site, see
        :mod:`models.servers`); None: every column is its own site.
    site_max_new_servers, site_max_new_mw:
        (S,) limits the new servers of a site's pools share (inf: none).
    """

    days: tuple[PlanInputs, ...]
    day_weight: FloatArray
    installed_servers: FloatArray
    capex_cny_per_server_year: FloatArray
    max_new_servers: FloatArray
    max_new_mw: FloatArray
    mw_per_server: FloatArray
    green_kw_per_new_server: FloatArray | None = None
    bandwidth_cny_per_gbps_year: float | None = None
    max_new_gbps: float = math.inf
    targets: Targets = field(default_factory=Targets)
    site_of: IntArray | None = None
    site_max_new_servers: FloatArray | None = None
    site_max_new_mw: FloatArray | None = None

    @property
    def cluster_ids(self) -> tuple[str, ...]:
        return self.days[0].cluster_ids

    @property
    def n_clusters(self) -> int:
        return len(self.days[0].cluster_ids)

    @property
    def hours_per_year(self) -> float:
        """Hours the typical days stand for (8760 for 365 days of 24 h)."""
        return float(sum(w * d.shape[3] for w, d in zip(self.day_weight, self.days, strict=True)))

    def new_server_limit(self) -> FloatArray:
        """(C,) upper bound of new servers: the tighter of the server and MW limits.

        A site's limits bound a column of its own when the site is that one column.
        """
        per_server = np.maximum(self.mw_per_server, 1e-300)
        by_mw = np.where(self.mw_per_server > 0, self.max_new_mw / per_server, np.inf)
        out = np.minimum(self.max_new_servers, by_mw)
        site_servers, site_mw = self.site_servers(), self.site_mw()
        for s, cols in self.site_columns().items():
            if len(cols) == 1:
                c = cols[0]
                mw_cap = site_mw[s] / per_server[c] if self.mw_per_server[c] > 0 else np.inf
                out[c] = min(out[c], site_servers[s], mw_cap)
        return np.asarray(out, dtype=float)

    def site_columns(self) -> dict[int, list[int]]:
        """Site index -> its columns."""
        site_of = self.site_of if self.site_of is not None else np.arange(self.n_clusters)
        out: dict[int, list[int]] = {}
        for c, s in enumerate(np.asarray(site_of, dtype=np.int64)):
            out.setdefault(int(s), []).append(c)
        return out

    def site_servers(self) -> FloatArray:
        """(S,) new-server limit of each site (inf: none)."""
        n = len(self.site_columns())
        a = self.site_max_new_servers
        return np.full(n, np.inf) if a is None else np.asarray(a, dtype=float)

    def site_mw(self) -> FloatArray:
        """(S,) new-MW limit of each site (inf: none)."""
        n = len(self.site_columns())
        a = self.site_max_new_mw
        return np.full(n, np.inf) if a is None else np.asarray(a, dtype=float)


def validate_expansion(inp: ExpansionInputs, w: PlanWeights) -> None:
    """Raise :class:`~models.plan.inputs.PlanError` naming the first malformed field."""
    if not inp.days:
        raise PlanError("ExpansionInputs.days: need at least one typical day")
    if any(x is not None for x in (w.max_tco2, w.min_green_share, w.min_west_share)) or w.hub_quota_sh:
        raise PlanError("expansion: give targets through ExpansionInputs.targets, not PlanWeights caps")
    first = inp.days[0]
    for d, day in enumerate(inp.days):
        validate(day, w)
        same = (day.region_ids, day.class_names, day.cluster_ids) == (
            first.region_ids,
            first.class_names,
            first.cluster_ids,
        )
        if not same:
            raise PlanError(f"ExpansionInputs.days[{d}] has other regions, classes or clusters than day 0")
    nd, nc = len(inp.days), inp.n_clusters
    weights = np.asarray(inp.day_weight, dtype=float)
    if weights.shape != (nd,) or not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise PlanError(f"ExpansionInputs.day_weight must be {nd} positive numbers")
    for name in ("installed_servers", "capex_cny_per_server_year", "mw_per_server"):
        a = np.asarray(getattr(inp, name), dtype=float)
        if a.shape != (nc,) or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise PlanError(f"ExpansionInputs.{name} must be {nc} finite numbers >= 0")
    for name in ("max_new_servers", "max_new_mw"):
        a = np.asarray(getattr(inp, name), dtype=float)
        if a.shape != (nc,) or np.any(np.isnan(a)) or np.any(a < 0):
            raise PlanError(f"ExpansionInputs.{name} must be {nc} numbers >= 0 (inf: no limit)")
    if inp.site_of is not None:
        so = np.asarray(inp.site_of)
        if so.shape != (nc,) or np.any(so < 0):
            raise PlanError(f"ExpansionInputs.site_of must be {nc} site indices >= 0")
        n_s = int(so.max()) + 1
        if sorted(set(so.tolist())) != list(range(n_s)):
            raise PlanError("ExpansionInputs.site_of must number the sites 0 .. S-1")
    for name in ("site_max_new_servers", "site_max_new_mw"):
        a = getattr(inp, name)
        n_s = len(inp.site_columns())
        if a is not None and (np.shape(a) != (n_s,) or np.any(np.isnan(a)) or np.any(np.asarray(a) < 0)):
            raise PlanError(f"ExpansionInputs.{name} must be {n_s} numbers >= 0 (inf: no limit)")
    g = inp.green_kw_per_new_server
    if g is not None:
        want = (nd, nc, first.shape[3])
        if np.shape(g) != want or not np.all(np.isfinite(g)) or np.any(np.asarray(g) < 0):
            raise PlanError(f"ExpansionInputs.green_kw_per_new_server must be {want}, finite and >= 0")
    b = inp.bandwidth_cny_per_gbps_year
    if b is not None and not (math.isfinite(b) and b >= 0):
        raise PlanError("ExpansionInputs.bandwidth_cny_per_gbps_year must be finite and >= 0")
    t = inp.targets
    for name in ("pue_max", "min_occupancy"):
        a = getattr(t, name)
        if a is not None and np.shape(a) != (nc,):
            raise PlanError(f"Targets.{name} must have {nc} entries (NaN: none)")
    if t.min_occupancy is not None:
        occ = np.asarray(t.min_occupancy, dtype=float)
        if np.any(occ[np.isfinite(occ)] < 0) or np.any(occ[np.isfinite(occ)] > 1):
            raise PlanError("Targets.min_occupancy must be in [0, 1]")
    for name in ("min_green_share", "min_west_share"):
        v = getattr(t, name)
        if v is not None and not 0.0 <= v <= 1.0:
            raise PlanError(f"Targets.{name} must be in [0, 1], got {v}")
    if t.green_clusters is not None and np.shape(t.green_clusters) != (nc,):
        raise PlanError(f"Targets.green_clusters must have {nc} entries")
