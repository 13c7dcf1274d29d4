"""The closed loop: simulate the expanded fleet and set what it realises beside what the plan said.

The validation run is an ordinary run (:func:`sim.runner.run`, its own run folder) of
the config with the target year's fleet (installed + new servers, rounded) and the
target year's demand (each class's rate grown by its CAGR), for
``expansion.validation.hours`` from the config's ``start`` moved to the target year,
with ``expansion.validation.policy`` (default ``lp``). The plan side is read from the
typical days that stand for the same calendar days.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from models.plan.expansion import ExpansionResult
from sim.config import Config
from sim.config_io import validate_config
from sim.expansion.costs import expansion_of
from sim.expansion.year import YearModel, growth_factors
from sim.runner import RunResult, run

__all__ = ["validation_config", "validation_report"]


def validation_config(cfg: Config, source: str, ym: YearModel, res: ExpansionResult) -> Config:
    """The config of the validation run: the grown demand on the expanded fleet."""
    ex = expansion_of(cfg, source)
    v = ex.validation
    doc: dict[str, Any] = cfg.model_dump(mode="json", exclude_none=True)
    doc.pop("expansion", None)
    doc["name"] = f"{cfg.name}_validation_{ym.year}"
    doc["horizon_h"] = float(v.hours)
    doc["start"] = cfg.start.replace(year=ym.year).isoformat()
    doc["faults"] = []
    doc.pop("output", None)
    # The plan counts usable (occupied) servers; a config's `servers` is the built capacity, of
    # which `occupancy` is usable. New servers (of this and earlier periods) are built to be used.
    # Overrides name sites: a site's pools are summed, and its GPU share is what the GPU pool holds.
    topo = ym.scenario.topology
    occupied = res.installed_servers + res.new_servers
    built = topo.built_servers + (occupied - topo.cluster_servers)
    gpu = np.asarray(topo.types) == "gpu"
    clusters = doc.setdefault("overrides", {}).setdefault("clusters", {})
    new_sites = doc["overrides"].setdefault("new_sites", {})
    for site in dict.fromkeys(topo.sites):  # overrides apply to inline and national sites
        cols = topo.site_indices(site)
        if site in ex.candidates:  # a candidate site exists in the validation run if it was built
            if occupied[cols].sum() < 0.5:
                continue
            cand = ex.candidates[site]
            placed = {"like": cand.like, "lon": cand.lon, "lat": cand.lat}
            new_sites[site] = {k: v for k, v in placed.items() if v is not None}
            new_sites[site]["servers"] = max(1, int(np.rint(occupied[cols].sum())))
        n_built = max(1, int(np.rint(built[cols].sum())))
        n_occ = max(1, int(np.rint(occupied[cols].sum())))
        change: dict[str, float] = {"servers": n_built, "occupancy": min(1.0, n_occ / n_built)}
        if len(cols) > 1 or gpu[cols].any():
            change["gpu_share"] = float(occupied[cols][gpu[cols]].sum() / occupied[cols].sum())
        clusters.setdefault(site, {}).update(change)
    factor = growth_factors(cfg, source, ym.year)
    for i, w in enumerate(doc["workloads"]):
        w["rate_per_h"] = float(w.get("rate_per_h", 0.0)) * float(factor[i])
    policy = v.policy or "lp"
    if policy != cfg.policy.name:
        doc["policy"] = {"name": policy, "weights": doc.get("policy", {}).get("weights", {})}
    # like with like: the expansion LP counts the servers it keeps active, so the lp validation
    # powers down what its plan does not use (unless the config says otherwise)
    mode = v.power_management or ("planned" if policy == "lp" else None)
    if mode is not None:
        doc.setdefault("energy", {})["power_management"] = mode
    if v.job_scale is not None:
        doc.setdefault("engine", {})["job_scale"] = v.job_scale
    return validate_config(doc, f"{source} (validation run)")


def _plan_days(cfg: Config, ym: YearModel, hours: int) -> list[int]:
    """Typical day of each calendar day the validation run covers."""
    start = cfg.start.replace(year=ym.year)
    first = (start.date() - start.date().replace(month=1, day=1)).days
    n = int(np.ceil(hours / 24))
    days = np.arange(first, first + n) % len(ym.typical.assignment)
    return [int(ym.typical.assignment[d]) for d in days]


def validation_report(
    cfg: Config, source: str, ym: YearModel, res: ExpansionResult, out_dir: Path, base_dir: Path | None
) -> dict[str, Any]:
    """Run the validation simulation into ``out_dir`` and compare it with the plan."""
    vcfg = validation_config(cfg, source, ym, res)
    result: RunResult = run(vcfg, f"{source} (validation run)", out_dir, base_dir=base_dir)
    s = result.summary
    hours = int(vcfg.horizon_h)
    days = _plan_days(cfg, ym, hours)
    plans = [res.day_plans[d] for d in days]
    frac = hours / (24.0 * len(days))  # a partial last day counts pro rata
    planned_kwh = frac * sum(float(p.energy_kwh.sum()) for p in plans)
    planned_tco2 = frac * sum(float(p.tco2.sum()) for p in plans)
    dem = np.zeros(len(res.class_names))
    uns = np.zeros(len(res.class_names))
    load = np.zeros(len(res.cluster_ids))
    for d in days:
        p = res.day_plans[d]
        dem += ym.inputs.days[d].demand_sh.sum(axis=(0, 2))
        uns += p.unserved_sh.sum(axis=0)
        load += p.work_sh.sum(axis=(0, 1, 3))
    servers = res.installed_servers + res.new_servers
    by_class: dict[str, Any] = dict(s["classes"])
    classes = {}
    for k, name in enumerate(res.class_names):
        real: dict[str, Any] = dict(by_class.get(name) or {})
        viol = real.get("slo_violation_rate")
        classes[name] = {
            "kind": real.get("kind"),
            "planned_served_share": 1.0 - uns[k] / dem[k] if dem[k] > 0 else 1.0,
            "realised_slo_compliance": None if viol is None else 1.0 - float(viol),
        }
    clusters = {
        cid: {
            "servers": round(float(servers[i])),
            "planned_utilisation": float(load[i] / max(24.0 * len(days) * servers[i], 1e-12)),
            # a candidate site not built is not in the validation run
            "realised_utilisation": (
                float(s["clusters"][cid]["mean_utilisation"]) if cid in s["clusters"] else None
            ),
        }
        for i, cid in enumerate(res.cluster_ids)
    }
    return {
        "run_folder": str(out_dir),
        "year": ym.year,
        "start": vcfg.start.isoformat(),
        "hours": hours,
        "policy": vcfg.policy.name,
        "classes": classes,
        "clusters": clusters,
        "energy_kwh": {"planned": planned_kwh, "realised": float(s["energy_kwh"])},
        "tco2": {"planned": planned_tco2, "realised": float(s["tco2"])},
        "jobs": {k: s.get(k) for k in ("jobs_total", "jobs_completed", "jobs_dropped", "jobs_in_flight")},
        "wall_s": float(s.get("wall_s", 0.0)),
    }
