"""Sites added to a topology (``overrides.new_sites``): like an existing site, at their own place.

A new site copies what its ``like`` site has as a place (hub, side, province,
climate, PUE, green and GPU shares; in an inline topology the flat energy
values) and takes its own id, coordinates and capacity. The national reference
gets a copy of the ``like`` site's record; an inline topology a copy of its
cluster. ``edwc expand`` places its candidate sites this way.
"""

from __future__ import annotations

from collections.abc import Mapping

from models.errors import InputError
from models.reference import Figure, Reference
from sim.config import InlineTopology, NewSite

__all__ = ["inline_with_new_sites", "national_with_new_sites"]

KEY = "overrides.new_sites"


def _figure(value: float, unit: str, like: Figure) -> Figure:
    return Figure(value=value, unit=unit, year=like.year, source="compiler_estimate", estimate=True,
                  note="a site added by the config (overrides.new_sites)")  # fmt: skip


def national_with_new_sites(ref: Reference, new_sites: Mapping[str, NewSite], source: str) -> Reference:
    """``ref`` with each new site appended to the national clusters or the metro areas, like its site."""
    if not new_sites:
        return ref
    clusters, metros = list(ref.clusters), list(ref.metro_dcs)
    known = {c.id for c in [*clusters, *metros]}
    for sid, ns in new_sites.items():
        if sid in known:
            raise InputError(source, f"{KEY}.{sid}", "a site of that id exists already; choose a new id")
        like = next((c for c in [*clusters, *metros] if c.id == ns.like), None)
        if like is None:
            want = f"unknown site '{ns.like}'; expected one of {sorted(known)}"
            raise InputError(source, f"{KEY}.{sid}.like", want)
        site = like.model_copy(
            update={
                "id": sid,
                "name_en": sid,
                "name_zh": sid,
                "lon": _figure(ns.lon, "deg", like.lon) if ns.lon is not None else like.lon,
                "lat": _figure(ns.lat, "deg", like.lat) if ns.lat is not None else like.lat,
                "servers": _figure(float(ns.servers), "servers", like.servers),
                "occupancy": _figure(ns.occupancy, "fraction", like.occupancy),
                "note": f"added by the config, like {like.id}",
            }
        )
        (clusters if like in clusters else metros).append(site)
        known.add(sid)
    return ref.model_copy(update={"clusters": clusters, "metro_dcs": metros})


def inline_with_new_sites(t: InlineTopology, new_sites: Mapping[str, NewSite], source: str) -> InlineTopology:
    """``t`` with a copy of the ``like`` cluster for each new site (and its RTT column if given)."""
    if not new_sites:
        return t
    clusters = list(t.clusters)
    latency = {r: dict(row) for r, row in t.latency_ms.items()} if t.latency_ms is not None else None
    for sid, ns in new_sites.items():
        ids = [c.id for c in clusters]
        if sid in ids:
            raise InputError(source, f"{KEY}.{sid}", "a cluster of that id exists already; choose a new id")
        like = next((c for c in clusters if c.id == ns.like), None)
        if like is None:
            want = f"unknown cluster '{ns.like}'; expected one of {ids}"
            raise InputError(source, f"{KEY}.{sid}.like", want)
        clusters.append(
            like.model_copy(
                update={
                    "id": sid,
                    "lon": ns.lon if ns.lon is not None else like.lon,
                    "lat": ns.lat if ns.lat is not None else like.lat,
                    "servers": ns.servers,
                    "occupancy": ns.occupancy,
                }
            )
        )
        if latency is not None:
            for row in latency.values():
                row[sid] = row[like.id]
    return t.model_copy(update={"clusters": clusters, "latency_ms": latency})
