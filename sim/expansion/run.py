"""``edwc expand``: plan the builds of each target year, write expansion.parquet/json, validate.

Periods are planned one after another (myopic multi-period): each target year is
solved with the fleet installed by the earlier ones and no foresight of later years;
a cluster's ``max_new_servers`` limits its builds over all periods together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from models.errors import InputError
from models.plan.expansion import ExpansionResult, solve_expansion
from models.plan.inputs import PlanError
from sim.config import Config
from sim.config_io import resolved_yaml
from sim.expansion.costs import expansion_of
from sim.expansion.year import YearModel, expansion_weights, year_model
from sim.runfolder.write import write_json, write_parquet, write_text
from sim.runner import default_out_dir

__all__ = ["ExpandOutcome", "Period", "expand", "period_summary"]


@dataclass(frozen=True)
class Period:
    """One target year: its inputs and its solved expansion."""

    model: YearModel
    result: ExpansionResult


@dataclass(frozen=True)
class ExpandOutcome:
    out_dir: Path
    periods: list[Period]
    summary: dict[str, Any]


def _target_key(name: str) -> str:
    """``min_occupancy[guian]`` -> ``expansion.targets.min_occupancy.guian``."""
    base, _, rest = name.partition("[")
    return f"expansion.targets.{base}" + (f".{rest.rstrip(']')}" if rest else "")


def _by_cluster(ids: tuple[str, ...], a: np.ndarray) -> dict[str, float]:
    return {c: float(v) for c, v in zip(ids, a, strict=True)}


def period_summary(p: Period) -> dict[str, Any]:
    """The JSON of one period: builds, cost breakdown, duals, model size."""
    r, ym = p.result, p.model
    ids = r.cluster_ids
    total_new = float(r.new_servers.sum())
    return {
        "year": ym.year,
        "status": r.status,
        "objective_cny_per_year": r.objective_cny,
        "cost_breakdown_cny_per_year": r.terms,
        "new_servers": _by_cluster(ids, r.new_servers),
        "new_servers_total": total_new,
        "new_servers_west": float(r.new_servers[r.cluster_west].sum()),
        "new_mw": _by_cluster(ids, r.new_mw),
        "installed_servers": _by_cluster(ids, r.installed_servers),
        "utilisation": _by_cluster(ids, r.utilisation),
        "energy_kwh": float(r.energy_kwh.sum()),
        "tco2": float(r.tco2.sum()),
        "served_share": r.served_share,
        "unreachable_sh_per_year": {
            k: float(v) for k, v in zip(r.class_names, ym.unreachable_sh, strict=True)
        },
        "unreachable_share": {
            k: float(u / max(u + d, 1e-300)) if u > 0 else 0.0
            for k, u, d in zip(r.class_names, ym.unreachable_sh, r.demand_sh, strict=True)
        },
        "west_share_of_work": float(r.load_sh[r.cluster_west].sum() / max(r.load_sh.sum(), 1e-12)),
        "bandwidth": r.bandwidth.to_dict(orient="records"),
        "duals": {
            "capacity_cny_per_server_year": _by_cluster(ids, r.capacity_value_cny_per_server_year),
            "build_limit_cny_per_server": _by_cluster(ids, r.build_limit_dual_cny_per_server),
            "slo_cny_per_sh": r.slo_dual,
            "targets": {
                n: {"value": v, "unit": f"CNY per {r.target_units[n]}"} for n, v in r.target_duals.items()
            },
        },
        "typical_days": {
            "k": ym.typical.k,
            "weights": [float(w) for w in ym.typical.weight],
            "aggregation_error": ym.typical.error,
        },
        "capex_cny_per_server_year": _by_cluster(ids, ym.inputs.capex_cny_per_server_year),
        "model": {
            "solver": r.solver,
            "n_variables": r.n_variables,
            "n_constraints": r.n_constraints,
            "build_s": r.build_s,
            "solve_s": r.solve_s,
        },
        "diagnosis": r.diagnosis,
    }


def expand(
    cfg: Config,
    source: str,
    out_dir: Path | None = None,
    base_dir: Path | None = None,
    validate: bool | None = None,
    echo: Callable[[str], None] | None = None,
) -> ExpandOutcome:
    """Solve every target year of ``cfg.expansion``, write the outputs, run the validation.

    Raises :class:`~models.errors.InputError` (exit code 2) when a target cannot be
    met, naming the target and how far it must be relaxed.
    """
    t0 = time.perf_counter()
    say = echo or (lambda _m: None)
    ex = expansion_of(cfg, source)
    weights = expansion_weights(cfg)
    periods: list[Period] = []
    installed: np.ndarray | None = None
    built: np.ndarray | None = None
    for year in ex.target_years:
        ym = year_model(cfg, source, year, installed, built, base_dir=base_dir)
        say(
            f"{year}: {ym.typical.k} typical days, aggregation error "
            + ", ".join(f"{k} {100 * v:.1f} %" for k, v in ym.typical.error.items())
        )
        try:
            res = solve_expansion(ym.inputs, weights, ex.solver, ex.time_limit_s)
        except PlanError as exc:
            raise InputError(source, "expansion", str(exc)) from None
        if not res.has_solution:
            key = _target_key(next(iter(res.target_slack))) if res.target_slack else "expansion"
            raise InputError(source, key, res.diagnosis or f"expansion is {res.status}")
        say(
            f"{year}: {res.n_variables:,} variables, {res.n_constraints:,} constraints; "
            f"built in {res.build_s:.1f} s, solved in {res.solve_s:.1f} s ({res.status}); "
            f"{res.new_servers.sum():,.0f} new servers"
        )
        periods.append(Period(ym, res))
        installed = res.installed_servers + res.new_servers
        built = res.new_servers if built is None else built + res.new_servers
    out = out_dir if out_dir is not None else default_out_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    (out / "expansion.json").unlink(missing_ok=True)  # the folder is complete when it lands again
    frames = [p.result.to_frame().assign(year=p.model.year) for p in periods]
    df = pd.concat(frames, ignore_index=True)
    df = df[["year", *[c for c in df.columns if c != "year"]]]
    write_text(out / "config.resolved.yaml", resolved_yaml(cfg))
    write_parquet(out / "expansion.parquet", pa.Table.from_pandas(df, preserve_index=False))
    summary: dict[str, Any] = {
        "name": cfg.name,
        "kind": "expansion",
        "base_year": ex.base_year,
        "target_years": list(ex.target_years),
        "multi_period": "myopic: each year is planned with the fleet earlier years built",
        "carbon_price_cny_per_t": cfg.energy.carbon_price_cny_per_t,
        "clusters": {
            cid: {
                "side": "west" if periods[0].model.scenario.topology.cluster_west[i] else "east",
                "lon": float(periods[0].model.scenario.topology.cluster_lon[i]),
                "lat": float(periods[0].model.scenario.topology.cluster_lat[i]),
                "site": periods[0].model.scenario.topology.sites[i],
                "server_type": periods[0].model.scenario.topology.types[i],
                "candidate": periods[0].model.scenario.topology.sites[i] in ex.candidates,
            }
            for i, cid in enumerate(periods[0].result.cluster_ids)
        },
        "periods": [period_summary(p) for p in periods],
        "validation": None,
    }
    run_validation = ex.validation.enabled if validate is None else validate
    if run_validation:
        last = periods[-1]
        say(f"validation: simulating {ex.validation.hours} h of {last.model.year} on the expanded fleet")
        from sim.expansion.validate import validation_report

        summary["validation"] = validation_report(
            cfg, source, last.model, last.result, out / "validation", base_dir
        )
    summary["wall_s"] = time.perf_counter() - t0
    write_json(out / "expansion.json", _clean(summary))
    return ExpandOutcome(out, periods, summary)


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN and inf become None, numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
