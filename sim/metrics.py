"""From the engine's per-job records to the run folder's tables and summary.

Everything is computed after the run with NumPy, exactly: the busy-server
and queue-length integrals per time step come from the job intervals
(:func:`interval_integral`), not from sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from models.energy import account
from sim.engine import EngineResult
from sim.scenario import Scenario

STATUS_COMPLETED = "completed"
STATUS_DROPPED = "dropped"
STATUS_IN_FLIGHT = "in_flight"


def interval_integral(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Integral of the number of open intervals over each bin ``[edges[j], edges[j+1])``.

    With ``F(t) = sum_i (min(t, e_i) - s_i)^+`` = ``t*#(s<t) - sum(s<t) - (t*#(e<t) - sum(e<t))``,
    the bin integral is ``F(edges[j+1]) - F(edges[j])``: exact, O((n + bins) log n).
    """
    s = np.sort(starts)
    e = np.sort(ends)
    cs = np.concatenate(([0.0], np.cumsum(s)))
    ce = np.concatenate(([0.0], np.cumsum(e)))
    ns = np.searchsorted(s, edges, side="left")
    ne = np.searchsorted(e, edges, side="left")
    f = edges * ns - cs[ns] - (edges * ne - ce[ne])
    return np.diff(f)


@dataclass(frozen=True)
class RunTables:
    jobs: pa.Table
    timeseries: pa.Table
    summary: dict[str, Any]


def _status(res: EngineResult) -> np.ndarray:
    status = np.full(len(res.jobs), STATUS_IN_FLIGHT, dtype=object)
    status[res.cluster < 0] = STATUS_DROPPED
    status[~np.isnan(res.end_s)] = STATUS_COMPLETED
    return status


def _pct(x: np.ndarray, q: float) -> float | None:
    return float(np.percentile(x, q)) if x.size else None


def build_tables(scn: Scenario, res: EngineResult) -> RunTables:
    """Jobs table, per-cluster time series and the summary dict of a run."""
    topo = scn.topology
    jobs = res.jobs
    n = len(jobs)
    horizon = res.horizon_s
    scale = float(scn.server_scale)
    status = _status(res)
    # only jobs that arrived within the horizon exist
    arrived = jobs.arrival_s < horizon
    hour_of_start = np.clip(np.nan_to_num(res.start_s, nan=0.0) // 3600, 0, scn.energy.n_hours - 1).astype(
        int
    )

    c_safe = np.where(res.cluster >= 0, res.cluster, 0)
    started = ~np.isnan(res.start_s)
    stop = np.where(np.isnan(res.end_s), horizon, np.minimum(res.end_s, horizon))
    served_s = np.where(started, stop - np.nan_to_num(res.start_s), 0.0)
    dyn_w = scn.power.peak_w - scn.power.idle_w
    it_kwh = served_s * dyn_w * scale / 3.6e6
    pue_at_start = scn.energy.pue[c_safe, hour_of_start]
    job_energy_kwh = np.where(res.cluster >= 0, it_kwh * pue_at_start, 0.0)

    wait_s = res.start_s - res.queued_s
    network_s = res.network_in_s + res.network_out_s
    # A job's response: network both ways + queueing wait + its own service time
    # (for a bundle of job_scale requests, one request's; see sim.config.Workload).
    response_s = np.where(np.isnan(res.end_s), np.nan, network_s + wait_s + jobs.service_s)
    occupancy = np.array([c.occupancy for c in scn.classes])[jobs.klass]
    class_scale = np.array([c.job_scale for c in scn.classes], dtype=np.int64)

    class_names = np.array(scn.class_names, dtype=object)
    region_ids = np.array(topo.region_ids, dtype=object)
    cluster_ids = np.array(topo.cluster_ids, dtype=object)
    cluster_col = cluster_ids[c_safe].copy()
    cluster_col[res.cluster < 0] = None

    jobs_tbl = pa.table(
        {
            "job_id": pa.array(np.arange(n, dtype=np.int64)[arrived]),
            "class": pa.array(class_names[jobs.klass][arrived]).dictionary_encode(),
            "region": pa.array(region_ids[jobs.region][arrived]).dictionary_encode(),
            "cluster": pa.array(cluster_col[arrived], type=pa.string()).dictionary_encode(),
            "status": pa.array(status[arrived]).dictionary_encode(),
            "arrival_s": pa.array(jobs.arrival_s[arrived]),
            "queued_s": pa.array(res.queued_s[arrived]),
            "start_s": pa.array(res.start_s[arrived]),
            "end_s": pa.array((res.end_s + res.network_out_s)[arrived]),
            "network_s": pa.array(network_s[arrived]),
            "wait_s": pa.array(wait_s[arrived]),
            "service_s": pa.array(jobs.service_s[arrived]),
            "occupancy_s": pa.array((jobs.service_s * occupancy)[arrived]),
            "job_scale": pa.array(class_scale[jobs.klass][arrived]),
            "response_s": pa.array(response_s[arrived]),
            "data_gb": pa.array(jobs.data_gb[arrived]),
            "it_kwh": pa.array(it_kwh[arrived]),
            "energy_kwh": pa.array(job_energy_kwh[arrived]),
        }
    )

    ts, cluster_stats = _timeseries(scn, res)
    summary = _summary(scn, res, status[arrived], arrived, wait_s, network_s, response_s, cluster_stats)
    return RunTables(jobs=jobs_tbl, timeseries=ts, summary=summary)


def _timeseries(scn: Scenario, res: EngineResult) -> tuple[pa.Table, dict[str, Any]]:
    topo = scn.topology
    horizon = res.horizon_s
    step = float(scn.config.engine.timestep_s)
    edges = np.arange(0.0, horizon + step, step)
    edges[-1] = min(edges[-1], horizon)
    if edges[-2] >= horizon:
        edges = edges[:-1]
    dt = np.diff(edges)
    n_steps = dt.size
    hour = np.minimum((edges[:-1] // 3600).astype(int), scn.energy.n_hours - 1)
    scale = float(scn.server_scale)
    started = ~np.isnan(res.start_s)
    in_queue = ~np.isnan(res.queued_s)
    cols: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "time_s",
            "cluster",
            "utilisation",
            "busy_servers",
            "queue_len",
            "it_power_kw",
            "pue",
            "power_kw",
            "tariff_cny_per_kwh",
            "grid_kgco2_per_kwh",
            "green_kw",
            "energy_kwh",
            "grid_kwh",
            "cost_cny",
            "tco2",
        )
    }
    stats: dict[str, Any] = {}
    for c, cid in enumerate(topo.cluster_ids):
        on_c = res.cluster == c
        s_start = res.start_s[on_c & started]
        s_end = np.nan_to_num(res.end_s[on_c & started], nan=horizon)
        busy_int = interval_integral(s_start, np.minimum(s_end, horizon), edges)
        q_start = res.queued_s[on_c & in_queue]
        q_end = np.nan_to_num(res.start_s[on_c & in_queue], nan=horizon)
        queue_int = interval_integral(q_start, np.minimum(q_end, horizon), edges)
        slots = float(scn.slots[c])
        busy_avg = busy_int / dt
        util = busy_avg / slots
        it_kw = scn.power.it_kw(slots * scale, busy_avg * scale)
        pue = scn.energy.pue[c, hour]
        green_kw = scn.energy.green_kw[c, hour]
        tariff = scn.energy.tariff_cny_per_kwh[c, hour]
        grid_f = scn.energy.grid_kgco2_per_kwh[c, hour]
        tot = account(it_kw * dt / 3600.0, pue, tariff, grid_f, green_kw * dt / 3600.0)
        cols["time_s"].append(edges[:-1])
        cols["cluster"].append(np.full(n_steps, cid, dtype=object))
        cols["utilisation"].append(util)
        cols["busy_servers"].append(busy_avg * scale)
        cols["queue_len"].append(queue_int / dt * scale)
        cols["it_power_kw"].append(it_kw)
        cols["pue"].append(pue)
        cols["power_kw"].append(it_kw * pue)
        cols["tariff_cny_per_kwh"].append(tariff)
        cols["grid_kgco2_per_kwh"].append(grid_f)
        cols["green_kw"].append(green_kw)
        cols["energy_kwh"].append(tot.facility_kwh)
        cols["grid_kwh"].append(tot.grid_kwh)
        cols["cost_cny"].append(tot.cost_cny)
        cols["tco2"].append(tot.tco2)
        stats[cid] = {
            "side": topo.side(c),
            "servers": int(topo.cluster_servers[c]),
            "simulated_servers": int(scn.slots[c]),
            "mean_utilisation": float(busy_int.sum() / (slots * horizon)),
            "jobs_served": int(np.count_nonzero(on_c & started)),
            "energy_kwh": float(tot.facility_kwh.sum()),
            "it_kwh": float(tot.it_kwh.sum()),
            "cost_cny": float(tot.cost_cny.sum()),
            "tco2": float(tot.tco2.sum()),
        }
    table = pa.table(
        {
            k: (
                pa.array(np.concatenate(v)).dictionary_encode()
                if k == "cluster"
                else pa.array(np.concatenate(v))
            )
            for k, v in cols.items()
        }
    )
    return table, stats


def _summary(
    scn: Scenario,
    res: EngineResult,
    status: np.ndarray,
    arrived: np.ndarray,
    wait_s: np.ndarray,
    network_s: np.ndarray,
    response_s: np.ndarray,
    cluster_stats: dict[str, Any],
) -> dict[str, Any]:
    jobs = res.jobs
    completed = status == STATUS_COMPLETED
    per_class: dict[str, Any] = {}
    k_arr = jobs.klass[arrived]
    for k, spec in enumerate(scn.classes):
        mine = k_arr == k
        done = mine & completed
        resp_ms = response_s[arrived][done] * 1000.0
        added_ms = (network_s + wait_s)[arrived][done] * 1000.0
        n_done = int(done.sum())
        n_dropped = int((mine & (status == STATUS_DROPPED)).sum())
        if spec.is_latency:
            violations = int((added_ms > spec.slo_ms).sum()) + n_dropped
            target = {"slo_ms": spec.slo_ms}
        else:
            violations = int((resp_ms > spec.deadline_h * 3.6e6).sum()) + n_dropped
            target = {"deadline_h": spec.deadline_h}
        judged = n_done + n_dropped
        per_class[spec.name] = {
            "kind": "latency" if spec.is_latency else "batch",
            **target,
            "jobs": int(mine.sum()),
            "job_scale": spec.job_scale,
            "real_jobs": int(mine.sum()) * spec.job_scale,
            "completed": n_done,
            "dropped": n_dropped,
            "latency_ms": {f"p{q}": _pct(resp_ms, q) for q in (50, 95, 99)},
            "added_latency_ms": {f"p{q}": _pct(added_ms, q) for q in (50, 95, 99)},
            "mean_wait_s": float(wait_s[arrived][done].mean()) if n_done else None,
            "slo_violation_rate": (violations / judged) if judged else None,
        }
    e_kwh = sum(s["energy_kwh"] for s in cluster_stats.values())
    east_west: dict[str, Any] = {}
    for side in ("east", "west"):
        mine = [s for s in cluster_stats.values() if s["side"] == side]
        east_west[side] = {
            "energy_kwh": sum(s["energy_kwh"] for s in mine),
            "cost_cny": sum(s["cost_cny"] for s in mine),
            "tco2": sum(s["tco2"] for s in mine),
            "busy_server_h": sum(s["mean_utilisation"] * s["servers"] for s in mine) * res.horizon_s / 3600,
        }
    busy_total = east_west["east"]["busy_server_h"] + east_west["west"]["busy_server_h"]
    for side in ("east", "west"):
        east_west[side]["share_of_served_compute"] = (
            east_west[side]["busy_server_h"] / busy_total if busy_total > 0 else None
        )
    cfg = scn.config
    return {
        "name": cfg.name,
        "seed": cfg.seed,
        "start": cfg.start.isoformat(),
        "horizon_h": cfg.horizon_h,
        "policy": cfg.policy.name,
        "server_scale": scn.server_scale,
        "jobs_total": int(arrived.sum()),
        "jobs_completed": int(completed.sum()),
        "jobs_dropped": int((status == STATUS_DROPPED).sum()),
        "jobs_in_flight": int((status == STATUS_IN_FLIGHT).sum()),
        "classes": per_class,
        "clusters": cluster_stats,
        "energy_kwh": e_kwh,
        "cost_cny": sum(s["cost_cny"] for s in cluster_stats.values()),
        "tco2": sum(s["tco2"] for s in cluster_stats.values()),
        "east_west": east_west,
    }
