"""The reference data set in ``seeds/``: load, validate, resolve sources.

Every number in ``seeds/`` is a *figure*: a value with its unit, year, the id
of its source in ``sources.yaml`` and an ``estimate`` flag. The loader checks
the files strictly (unknown keys are errors), resolves every source id,
enforces that figures from grade D/E sources are flagged as estimates, and
checks plausibility (coordinates inside China, factors in range, every
cluster's hub and province exist). A wrongly edited file fails with a message
naming the file and the key path.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from models.errors import InputError, format_loc
from models.paths import seeds_dir
from models.reference_schema import (
    Cluster,
    Figure,
    Grade,
    GridCarbon,
    Hub,
    LatencyCheck,
    LatencyParams,
    Province,
    Reference,
    Region,
    Side,
    Source,
    TouSeasonSeed,
    WorkloadDefault,
)

__all__ = [
    "CHINA_LAT",
    "CHINA_LON",
    "Cluster",
    "Figure",
    "Grade",
    "GridCarbon",
    "Hub",
    "LatencyCheck",
    "LatencyParams",
    "Province",
    "Reference",
    "Region",
    "Side",
    "Source",
    "TouSeasonSeed",
    "WorkloadDefault",
    "load_reference",
    "national_reference",
]

_FILES = {
    "sources": "sources.yaml",
    "hubs": "hubs.yaml",
    "clusters": "clusters.yaml",
    "provinces": "provinces.yaml",
    "regions": "regions.yaml",
    "latency": "latency.yaml",
    "workloads": "workloads.yaml",
    "grid_carbon": "grid_carbon.yaml",
    "metro_dcs": "metro_dcs.yaml",
    "rack_shares": "rack_shares.yaml",
    "national_targets": "national_targets.yaml",
}

# China's bounding box, generous: lon 73-135 E, lat 18-54 N.
CHINA_LON = (73.0, 135.5)
CHINA_LAT = (18.0, 54.0)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, key: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), "", f"cannot read reference data file ({exc.strerror})") from exc
    try:
        doc = yaml.load(text, Loader=_LOADER)  # the safe loader (its C build when present)
    except yaml.YAMLError as exc:
        raise InputError(str(path), "", f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or key not in doc:
        raise InputError(str(path), key, f"expected a mapping with top-level key '{key}'")
    return doc[key]


def _parse(model: type[BaseModel], raw: Any, path: Path, prefix: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = format_loc((prefix, *err["loc"])) if prefix else format_loc(tuple(err["loc"]))
        raise InputError(str(path), loc, f"{err['msg']} (got {err.get('input')!r})") from None


def _parse_list(model: type[BaseModel], raw: Any, path: Path, key: str) -> list[Any]:
    if not isinstance(raw, list):
        raise InputError(str(path), key, "expected a list")
    return [_parse(model, item, path, f"{key}[{i}]") for i, item in enumerate(raw)]


def load_reference(directory: Path | None = None) -> Reference:
    """Load and validate the reference data from ``directory`` (default: ``seeds/``)."""
    root = directory if directory is not None else seeds_dir()
    p = {k: root / f for k, f in _FILES.items()}

    sources_list = _parse_list(Source, _read_yaml(p["sources"], "sources"), p["sources"], "sources")
    sources = {s.id: s for s in sources_list}
    hubs = _parse_list(Hub, _read_yaml(p["hubs"], "hubs"), p["hubs"], "hubs")
    clusters = _parse_list(Cluster, _read_yaml(p["clusters"], "clusters"), p["clusters"], "clusters")
    provinces_list = _parse_list(
        Province, _read_yaml(p["provinces"], "provinces"), p["provinces"], "provinces"
    )
    regions = _parse_list(Region, _read_yaml(p["regions"], "regions"), p["regions"], "regions")
    latency = _parse(LatencyParams, _read_yaml(p["latency"], "latency"), p["latency"], "latency")
    workloads = _parse_list(
        WorkloadDefault, _read_yaml(p["workloads"], "workloads"), p["workloads"], "workloads"
    )
    grid_carbon = _parse(
        GridCarbon, _read_yaml(p["grid_carbon"], "grid_carbon"), p["grid_carbon"], "grid_carbon"
    )
    metro_dcs = (
        _parse_list(Cluster, _read_yaml(p["metro_dcs"], "metro_dcs"), p["metro_dcs"], "metro_dcs")
        if p["metro_dcs"].is_file()
        else []
    )
    rack_shares = _figure_map(p["rack_shares"], "rack_shares")
    national_targets = _figure_map(p["national_targets"], "national_targets")
    ref = Reference(
        sources=sources,
        hubs=hubs,
        clusters=clusters,
        provinces={pr.id: pr for pr in provinces_list},
        regions=regions,
        latency=latency,
        workloads=workloads,
        grid_carbon=grid_carbon,
        directory=str(root),
        metro_dcs=metro_dcs,
        rack_shares=rack_shares,
        national_targets=national_targets,
    )
    _check(ref, p)
    return ref


def _figure_map(path: Path, key: str) -> dict[str, Figure]:
    """An optional file mapping names to figures (empty when the file is absent)."""
    if not path.is_file():
        return {}
    raw = _read_yaml(path, key)
    if not isinstance(raw, dict):
        raise InputError(str(path), key, "expected a mapping of name -> figure")
    return {str(k): _parse(Figure, v, path, f"{key}.{k}") for k, v in raw.items()}


@cache
def national_reference() -> Reference:
    """The built-in reference data, loaded once per process."""
    return load_reference()


def _figures(obj: BaseModel, prefix: str) -> list[tuple[str, Figure]]:
    out: list[tuple[str, Figure]] = []
    for name in type(obj).model_fields:
        val = getattr(obj, name)
        if isinstance(val, Figure):
            out.append((f"{prefix}.{name}", val))
    return out


def _check(ref: Reference, p: dict[str, Path]) -> None:
    """Cross-file and plausibility checks; raise InputError on the first problem."""

    def fail(file_key: str, key: str, msg: str) -> None:
        raise InputError(str(p[file_key]), key, msg)

    def unique(ids: list[str], file_key: str, key: str) -> None:
        seen: set[str] = set()
        for i, x in enumerate(ids):
            if x in seen:
                fail(file_key, f"{key}[{i}].id", f"duplicate id '{x}'")
            seen.add(x)

    unique([h.id for h in ref.hubs], "hubs", "hubs")
    unique([c.id for c in ref.clusters], "clusters", "clusters")
    unique([r.id for r in ref.regions], "regions", "regions")
    unique(list(ref.sources), "sources", "sources")
    hub_ids = {h.id for h in ref.hubs}

    # Every figure's source exists; D/E grades must be flagged as estimates.
    groups: list[tuple[str, list[tuple[str, Figure]]]] = []
    groups += [("clusters", _figures(c, f"clusters[{i}]")) for i, c in enumerate(ref.clusters)]
    groups += [("metro_dcs", _figures(c, f"metro_dcs[{i}]")) for i, c in enumerate(ref.metro_dcs)]
    groups += [("rack_shares", [(f"rack_shares.{k}", f) for k, f in ref.rack_shares.items()])]
    groups += [("national_targets", [(f"national_targets.{k}", f) for k, f in ref.national_targets.items()])]
    for k, f in ref.rack_shares.items():
        if k != "central" and k not in {h.id for h in ref.hubs}:
            fail("rack_shares", f"rack_shares.{k}", "expected a hub id or 'central'")
        if not 0.0 < f.scalar < 1.0:
            fail("rack_shares", f"rack_shares.{k}", "expected a share in (0, 1)")
    if sum(f.scalar for f in ref.rack_shares.values()) >= 1.0:
        fail("rack_shares", "rack_shares", "shares must sum to less than 1")
    groups += [("provinces", _figures(pr, f"provinces[{pr.id}]")) for pr in ref.provinces.values()]
    groups += [("regions", _figures(r, f"regions[{i}]")) for i, r in enumerate(ref.regions)]
    groups += [("latency", _figures(ref.latency, "latency"))]
    groups += [("workloads", _figures(w, f"workloads[{i}]")) for i, w in enumerate(ref.workloads)]
    groups += [("grid_carbon", _figures(ref.grid_carbon, "grid_carbon"))]
    for file_key, figs in groups:
        for key, fig in figs:
            src = ref.sources.get(fig.source)
            if src is None:
                fail(file_key, f"{key}.source", f"unknown source id '{fig.source}'")
            elif src.grade in ("D", "E") and not fig.estimate:
                fail(
                    file_key,
                    f"{key}.estimate",
                    f"source '{src.id}' has grade {src.grade}: the figure must be estimate: true",
                )
    for file_key, items in (("hubs", ref.hubs),):
        for i, h in enumerate(items):
            if h.source not in ref.sources:
                fail(file_key, f"hubs[{i}].source", f"unknown source id '{h.source}'")
            for pid in h.provinces:
                if pid not in ref.provinces:
                    fail(file_key, f"hubs[{i}].provinces", f"unknown province '{pid}'")

    unique([c.id for c in [*ref.clusters, *ref.metro_dcs]], "metro_dcs", "clusters+metro_dcs")
    sites = [("clusters", i, c) for i, c in enumerate(ref.clusters)]
    sites += [("metro_dcs", i, c) for i, c in enumerate(ref.metro_dcs)]
    for fk, i, c in sites:
        k = f"{fk}[{i}]"
        if c.hub not in hub_ids:
            fail(fk, f"{k}.hub", f"unknown hub '{c.hub}' (known: {sorted(hub_ids)})")
        if fk == "metro_dcs" and ref.hub(c.hub).side != "east":
            fail(fk, f"{k}.hub", f"a metro data centre belongs to an eastern hub, not '{c.hub}'")
        if c.province not in ref.provinces:
            fail(fk, f"{k}.province", f"unknown province '{c.province}'")
        _in_china(fail, fk, k, c.lon.scalar, c.lat.scalar)
        if not 1.0 <= c.pue_annual_mean.scalar <= c.pue_max.scalar <= 2.0:
            fail(fk, f"{k}.pue_annual_mean", "expected 1.0 <= pue_annual_mean <= pue_max <= 2.0")
        if not 0.0 < c.utilisation_target.scalar <= 1.0:
            fail(fk, f"{k}.utilisation_target", "expected a fraction in (0, 1]")
        if not c.servers.scalar >= 1:
            fail(fk, f"{k}.servers", "expected at least one server")
        if not 0.0 < c.occupancy.scalar <= 1.0:
            fail(fk, f"{k}.occupancy", "expected an occupancy (上架率) in (0, 1]")
        if c.gpu_share is not None and not 0.0 <= c.gpu_share.scalar <= 1.0:
            fail(fk, f"{k}.gpu_share", "expected a fraction in [0, 1]")
        if c.occupied_servers < 1:
            fail(fk, f"{k}.occupancy", "servers x occupancy leaves no occupied server")
        temps = c.temp_monthly_c.values
        if len(temps) != 12 or not all(-40.0 <= t <= 45.0 for t in temps):
            fail(fk, f"{k}.temp_monthly_c", "expected 12 monthly means in [-40, 45] degC")
        if not 0.0 <= c.temp_diurnal_swing_c.scalar <= 30.0:
            fail(fk, f"{k}.temp_diurnal_swing_c", "expected a swing in [0, 30] degC")
        for name in ("green_share", "solar_share_of_green"):
            if not 0.0 <= getattr(c, name).scalar <= 1.0:
                fail(fk, f"{k}.{name}", "expected a fraction in [0, 1]")

    for pid, pr in ref.provinces.items():
        k = f"provinces[{pid}]"
        if not 0.0 <= pr.grid_kgco2_per_kwh.scalar <= 1.5:
            fail("provinces", f"{k}.grid_kgco2_per_kwh", "expected 0 to 1.5 kgCO2/kWh")
        for name in ("tariff_flat_cny_per_kwh", "tariff_peak_cny_per_kwh", "tariff_valley_cny_per_kwh"):
            if not 0.0 < getattr(pr, name).scalar < 3.0:
                fail("provinces", f"{k}.{name}", "expected a price in (0, 3) CNY/kWh")
        if not (
            pr.tariff_valley_cny_per_kwh.scalar
            <= pr.tariff_flat_cny_per_kwh.scalar
            <= pr.tariff_peak_cny_per_kwh.scalar
        ):
            fail("provinces", f"{k}.tariff_flat_cny_per_kwh", "expected valley <= flat <= peak")
        peak = pr.tou_peak_hours.values
        valley = pr.tou_valley_hours.values
        for name, hours in (("tou_peak_hours", peak), ("tou_valley_hours", valley)):
            if not all(float(h).is_integer() and 0 <= h <= 23 for h in hours):
                fail("provinces", f"{k}.{name}", "expected whole hours 0..23")
        if set(peak) & set(valley):
            fail("provinces", f"{k}.tou_valley_hours", "peak and valley hours overlap")
        seen: set[int] = set()
        for j, ss in enumerate(pr.tou_seasons):
            kk = f"{k}.tou_seasons[{j}]"
            if ss.source not in ref.sources:
                fail("provinces", f"{kk}.source", f"unknown source id '{ss.source}'")
            if not ss.months or any(not 1 <= m <= 12 for m in ss.months) or seen & set(ss.months):
                fail("provinces", f"{kk}.months", "expected months 1..12, in no other season")
            seen |= set(ss.months)
            if any(not 0 <= h <= 23 for h in [*ss.peak_hours, *ss.valley_hours]):
                fail("provinces", f"{kk}.peak_hours", "expected whole hours 0..23")
            if set(ss.peak_hours) & set(ss.valley_hours):
                fail("provinces", f"{kk}.valley_hours", "peak and valley hours overlap")
        for name in ("solar_utilisation_hours", "wind_utilisation_hours"):
            if not 0.0 <= getattr(pr, name).scalar <= 5000.0:
                fail("provinces", f"{k}.{name}", "expected 0 to 5000 full-load hours a year")

    for i, r in enumerate(ref.regions):
        k = f"regions[{i}]"
        if r.province not in ref.provinces:
            fail("regions", f"{k}.province", f"unknown province '{r.province}'")
        if r.served_by is not None and r.served_by not in hub_ids:
            fail("regions", f"{k}.served_by", f"unknown hub '{r.served_by}'")
        _in_china(fail, "regions", k, r.lon.scalar, r.lat.scalar)
        if not r.gdp_100m_cny.scalar > 0:
            fail("regions", f"{k}.gdp_100m_cny", "expected a positive GDP")

    lat = ref.latency
    if not 1.0 <= lat.route_factor.scalar <= 3.0:
        fail("latency", "latency.route_factor", "expected a route factor in [1, 3]")
    if not 3.0 <= lat.fibre_us_per_km.scalar <= 6.0:
        fail("latency", "latency.fibre_us_per_km", "expected 3 to 6 us/km")
    if not 0.0 <= lat.overhead_ms.scalar <= 50.0:
        fail("latency", "latency.overhead_ms", "expected 0 to 50 ms")

    gc = ref.grid_carbon
    for name in ("average_kgco2_per_kwh", "residual_kgco2_per_kwh"):
        if not 0.0 < getattr(gc, name).scalar <= 1.5:
            fail("grid_carbon", f"grid_carbon.{name}", "expected 0 to 1.5 kgCO2/kWh")
    if gc.residual_kgco2_per_kwh.scalar < gc.average_kgco2_per_kwh.scalar:
        fail(
            "grid_carbon",
            "grid_carbon.residual_kgco2_per_kwh",
            "the residual mix cannot be cleaner than the average",
        )

    names = [w.name for w in ref.workloads]
    unique(names, "workloads", "workloads")
    for kind in sorted({w.server_type for w in ref.workloads}):  # the load of each server type
        total = sum(w.share_of_load.scalar for w in ref.workloads if w.server_type == kind)
        if abs(total - 1.0) > 1e-6:
            fail(
                "workloads",
                "workloads[*].share_of_load",
                f"the shares of the {kind} classes must sum to 1 (sum is {total:.6f})",
            )


def _in_china(fail: Any, file_key: str, key: str, lon: float, lat: float) -> None:
    if not CHINA_LON[0] <= lon <= CHINA_LON[1]:
        fail(file_key, f"{key}.lon", f"longitude {lon} is outside China ({CHINA_LON})")
    if not CHINA_LAT[0] <= lat <= CHINA_LAT[1]:
        fail(file_key, f"{key}.lat", f"latitude {lat} is outside China ({CHINA_LAT})")
