"""The run's time series and summary, from the engine's integrals and the job sink.

Per cluster and time step the engine has the exact integrals of busy
servers, queue length and jobs in transfer (:mod:`sim.engine.steplog`); energy, cost
and carbon follow from them with the hourly energy inputs (:mod:`models.energy.site`).
The summary adds the per-class counters and latency percentiles of the batch
jobs (:class:`~sim.engine.records.JobSink`) and of the latency flows
(:class:`~sim.engine.flowrecords.FlowSink`). Everything the engine hands over
is already in real units (servers, jobs, requests): no scale is undone here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.demand.sizes import size_cdf
from models.demand.workload import ClassSpec
from sim.engine.flowrecords import FlowClassStats
from sim.engine.histogram import hist_percentile, hist_sum_percentiles
from sim.engine.kernel import Engine
from sim.engine.policy import PolicyOutputs
from sim.engine.records import ClassStats
from sim.runfolder import layout


def summary_dict(
    eng: Engine, cluster_stats: dict[str, layout.ClusterSummary], policy: PolicyOutputs | None = None
) -> layout.Summary:
    """``summary.json`` (:class:`sim.runfolder.layout.Summary`) of a finished run."""
    scn = eng.scn
    cfg = scn.config
    per_class: dict[str, layout.ClassSummary | layout.LatencyClassSummary] = {}
    tot = {"jobs": 0, "completed": 0, "dropped": 0, "lost": 0}
    req = {"requests": 0, "served": 0, "rejected": 0}
    eng.flow_sink.fold_histograms()
    for k, spec in enumerate(scn.classes):
        if spec.is_latency:
            fst = eng.flow_sink.stats[k]
            per_class[spec.name] = _latency_class(spec, fst)
            for key in req:
                req[key] += getattr(fst, key)
            continue
        st = eng.sink.stats[k]
        per_class[spec.name] = _batch_class(spec, st)
        for key in tot:
            tot[key] += getattr(st, key)

    east_west: dict[str, layout.SideSummary] = {}
    busy_total = sum(s["busy_server_h"] for s in cluster_stats.values())
    for side in ("east", "west"):
        mine = [s for s in cluster_stats.values() if s["side"] == side]
        busy = sum(s["busy_server_h"] for s in mine)
        east_west[side] = {
            "energy_kwh": sum(s["energy_kwh"] for s in mine),
            "cost_cny": sum(s["cost_cny"] for s in mine),
            "tco2": sum(s["tco2"] for s in mine),
            "tco2_marginal": _sum_or_none([s["tco2_marginal"] for s in mine]),
            "busy_server_h": busy,
            "share_of_served_compute": busy / busy_total if busy_total > 0 else None,
        }
    in_flight = tot["jobs"] - tot["completed"] - tot["dropped"] - tot["lost"]
    plan = _plan_summary(eng, cluster_stats, policy)
    occupancy = occupancy_summary(cluster_stats)
    # backbone energy of batch data, charged at the receiving cluster's mean tariff and grid factor
    net_kwh = eng.sink.network_gb * cfg.energy.network_kwh_per_gb
    network: layout.NetworkSummary = {
        "gb": float(eng.sink.network_gb.sum()),
        "kwh": float(net_kwh.sum()),
        "cost_cny": float((net_kwh * scn.energy.tariff_cny_per_kwh.mean(axis=1)).sum()),
        "tco2": float((net_kwh * scn.energy.grid_kgco2_per_kwh.mean(axis=1)).sum() / 1000.0),
        "kwh_per_gb": cfg.energy.network_kwh_per_gb,
        # bandwidth price: GB moved to each cluster x the price per GB
        "bandwidth_cny_per_gb": scn.bandwidth_cny_per_gb,
        "bandwidth_cost_cny": float(eng.sink.network_gb.sum() * scn.bandwidth_cny_per_gb),
    }
    out: layout.Summary = {
        "name": cfg.name,
        "seed": cfg.seed,
        "start": cfg.start.isoformat(),
        "horizon_h": cfg.horizon_h,
        "policy": cfg.policy.name,
        "queue": cfg.engine.queue,
        "server_scale": scn.server_scale,
        "jobs_total": tot["jobs"],
        "jobs_completed": tot["completed"],
        # jobs that found no cluster, and jobs a fault took that could not be re-routed
        "jobs_dropped": tot["dropped"] + tot["lost"],
        "jobs_in_flight": in_flight,
        # latency classes: requests (real, request-level flows)
        "requests_total": req["requests"],
        "requests_served": req["served"],
        "requests_rejected": req["rejected"],
        "faults": {
            "count": len(cfg.faults),
            "jobs_affected": eng.faults.affected,
            "jobs_rerouted": eng.faults.rerouted,
            "jobs_lost": eng.faults.lost,
        },
        "classes": per_class,
        "clusters": cluster_stats,
        "energy_kwh": sum(s["energy_kwh"] for s in cluster_stats.values()),
        "it_kwh": sum(s["it_kwh"] for s in cluster_stats.values()),
        "cost_cny": sum(s["cost_cny"] for s in cluster_stats.values()),
        "tco2": sum(s["tco2"] for s in cluster_stats.values()),
        "tco2_marginal": _sum_or_none([s["tco2_marginal"] for s in cluster_stats.values()]),
        "carbon": _carbon_summary(eng),
        "bandwidth_cost_cny": network["bandwidth_cost_cny"],
        "east_west": east_west,
        "occupancy": occupancy,
        "compute": compute_summary(cluster_stats),
        "network": network,
        "power_management": power_summary(eng, cluster_stats),
        **work_summary(eng, cluster_stats),  # type: ignore[typeddict-item]
    }
    if plan is not None:
        out["plan"] = plan
    return out


def power_summary(eng: Engine, cluster_stats: dict[str, layout.ClusterSummary]) -> layout.PowerSummary:
    """Mode, parameters, powered server-hours, transitions and their energy (every policy)."""
    cfg = eng.scn.config
    pc = cfg.energy.power_control
    mode = cfg.energy.power_management
    installed = float(eng.scn.topology.cluster_servers.sum())
    powered_h = sum(s["powered_server_h"] for s in cluster_stats.values())
    hours = eng.horizon / 3600.0
    out: layout.PowerSummary = {
        "mode": mode,
        "boot_s": pc.boot_s,
        "boot_w": eng.power.boot_w,
        "powered_server_h": powered_h,
        "mean_powered_servers": powered_h / hours if hours > 0 else 0.0,
        "mean_powered_share": powered_h / (installed * hours) if installed > 0 and hours > 0 else None,
        "server_ups": sum(s["server_ups"] for s in cluster_stats.values()),
        "server_downs": sum(s["server_downs"] for s in cluster_stats.values()),
        "transition_kwh": sum(s["transition_kwh"] for s in cluster_stats.values()),
        "transition_cost_cny": sum(s["transition_cost_cny"] for s in cluster_stats.values()),
    }
    if mode == "reactive":
        out["headroom"] = pc.headroom
        out["min_powered_share"] = pc.min_powered_share
        out["idle_timeout_s"] = pc.idle_timeout_s
    return out


def work_summary(eng: Engine, cluster_stats: dict[str, layout.ClusterSummary]) -> dict[str, Any]:
    """Figures that compare runs doing different amounts of work.

    - ``served_server_h`` and energy, cost and carbon per served server-hour;
    - ``slo_met_share``: latency SLOs met over real requests (rejected requests
      count as missed) and batch deadlines met weighted by real jobs (dropped
      and lost jobs count as missed), over the work judged within the horizon;
    - ``terminal_backlog``: work still owed at the horizon (queued, held, in
      transfer and the unserved part of running jobs) in server-hours, valued
      at this run's own energy, cost and carbon per served server-hour;
      ``with_backlog`` adds it to the totals.
    """
    served_h = sum(s["busy_server_h"] for s in cluster_stats.values())
    kwh = sum(s["energy_kwh"] for s in cluster_stats.values())
    cost = sum(s["cost_cny"] for s in cluster_stats.values())
    tco2 = sum(s["tco2"] for s in cluster_stats.values())
    per_sh: layout.PerServerHour = {
        "kwh": kwh / served_h if served_h > 0 else None,
        "cost_cny": cost / served_h if served_h > 0 else None,
        "kgco2": tco2 * 1000.0 / served_h if served_h > 0 else None,
    }
    backlog_h = eng.backlog_s / 3600.0  # real server-seconds
    backlog: layout.BacklogSummary = {
        "jobs": eng.backlog_jobs,
        "server_h": backlog_h,
        "share_of_work": backlog_h / (served_h + backlog_h) if served_h + backlog_h > 0 else None,
        "kwh": backlog_h * (kwh / served_h if served_h > 0 else 0.0),
        "cost_cny": backlog_h * (cost / served_h if served_h > 0 else 0.0),
        "tco2": backlog_h * (tco2 / served_h if served_h > 0 else 0.0),
    }
    shares: dict[str, Any] = {}
    judged = met = 0.0
    for k, spec in enumerate(eng.scn.classes):
        if spec.is_latency:
            fst = eng.flow_sink.stats[k]
            judged += fst.requests
            met += fst.requests - fst.rejected - fst.violations
    shares["latency_real"] = met / judged if judged > 0 else None
    shares["latency_simulated_jobs"] = shares["latency_real"]  # flows: every request is real
    for kind in ("batch",):
        judged = met = judged_sim = met_sim = 0.0
        for spec, st in zip(eng.scn.classes, eng.sink.stats, strict=True):
            if spec.is_latency:
                continue
            j = st.completed + st.dropped + st.lost
            ok = st.completed - st.violations
            judged += st.real_judged
            met += st.real_met
            judged_sim += j
            met_sim += ok
        shares[f"{kind}_real"] = met / judged if judged > 0 else None
        shares[f"{kind}_simulated_jobs"] = met_sim / judged_sim if judged_sim > 0 else None
    return {
        "served_server_h": served_h,
        "per_served_server_h": per_sh,
        "slo_met_share": shares,
        "terminal_backlog": backlog,
        "with_backlog": {
            "energy_kwh": kwh + backlog["kwh"],
            "cost_cny": cost + backlog["cost_cny"],
            "tco2": tco2 + backlog["tco2"],
        },
    }


def _plan_summary(
    eng: Engine, cluster_stats: dict[str, layout.ClusterSummary], policy: PolicyOutputs | None
) -> dict[str, Any] | None:
    """The policy's plan record and, per cluster, planned next to realised over the planned hours."""
    if policy is None or policy.summary is None:
        return None
    out: dict[str, Any] = dict(policy.summary)
    hourly = policy.planned
    if hourly is None:
        return out
    scn = eng.scn
    covered = ~np.isnan(hourly["energy_kwh"])  # (C, H) hours with a plan
    ts = eng.bin_integrals  # realised busy integrals per step (real server-seconds)
    step = float(scn.config.engine.timestep_s)
    steps_per_h = round(3600.0 / step)
    per: dict[str, Any] = {}
    for c, cid in enumerate(scn.topology.cluster_ids):
        hours = np.flatnonzero(covered[c])
        busy_h = ts[c, :, 0].reshape(-1)
        n_full = (busy_h.size // steps_per_h) * steps_per_h
        realised_sh = busy_h[:n_full].reshape(-1, steps_per_h).sum(axis=1) / 3600.0
        hours_in = hours[hours < realised_sh.size]
        cap = float(scn.servers[c])
        per[cid] = {
            "planned_utilisation": float(hourly["load_sh"][c, hours].mean() / cap) if hours.size else None,
            "realised_utilisation": float(realised_sh[hours_in].mean() / cap) if hours_in.size else None,
            "planned_energy_kwh": float(np.nansum(hourly["energy_kwh"][c])),
            "planned_cost_cny": float(np.nansum(hourly["cost_cny"][c])),
            "planned_tco2": float(np.nansum(hourly["tco2"][c])),
            "realised_energy_kwh": cluster_stats[cid]["energy_kwh"],
            "realised_cost_cny": cluster_stats[cid]["cost_cny"],
            "realised_tco2": cluster_stats[cid]["tco2"],
        }
    out["planned_vs_realised"] = per
    out["planned_total"] = {k: float(np.nansum(hourly[k])) for k in ("energy_kwh", "cost_cny", "tco2")}
    out["held_jobs"] = eng.held
    return out


def _sum_or_none(values: list[float | None]) -> float | None:
    """The sum, or None when any term is None (no marginal factor given)."""
    if any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def _carbon_summary(eng: Engine) -> layout.CarbonSummary:
    """How carbon was accounted: the signal optimised, the residual mix, the profile."""
    e = eng.scn.config.energy
    energy = eng.scn.energy
    return {
        "signal": e.carbon_signal,
        "marginal_given": energy.marginal_kgco2_per_kwh is not None,
        "residual_mix": e.residual_mix,
        "grid_profile": e.grid_profile,
        "held_jobs": eng.held,
        "mean_grid_kgco2_per_kwh": {
            cid: float(energy.grid_kgco2_per_kwh[c].mean())
            for c, cid in enumerate(eng.scn.topology.cluster_ids)
        },
    }


def compute_summary(cluster_stats: dict[str, layout.ClusterSummary]) -> dict[str, layout.ComputeGroup]:
    """PFLOPS installed and used per server type (FP32 for CPU, FP16 for GPU servers)."""
    out: dict[str, layout.ComputeGroup] = {}
    for kind, precision in (("cpu", "FP32"), ("gpu", "FP16")):
        mine = [s for s in cluster_stats.values() if s["server_type"] == kind]
        if not mine:
            continue
        out[kind] = {
            "precision": precision,
            "servers": sum(s["servers"] for s in mine),
            "installed_pflops": sum(s["installed_pflops"] for s in mine),
            "mean_busy_pflops": sum(s["mean_busy_pflops"] for s in mine),
            "busy_server_h": sum(s["busy_server_h"] for s in mine),
            "energy_kwh": sum(s["energy_kwh"] for s in mine),
        }
    return out


def occupancy_summary(cluster_stats: dict[str, Any]) -> dict[str, Any]:
    """Occupied / built servers of the national clusters (and of metro sites), against the target.

    ``target`` is the clusters' 上架率 target (the start-zone notices' >= 65 %;
    the lowest one when they differ); None when no cluster has one.
    """
    out: dict[str, Any] = {}
    for kind in ("cluster", "metro"):
        mine = [s for s in cluster_stats.values() if s.get("kind", "cluster") == kind]
        if not mine:
            continue
        built = sum(s["built_servers"] for s in mine)
        occupied = sum(s["servers"] for s in mine)
        targets = [s["occupancy_target"] for s in mine if s["occupancy_target"] is not None]
        target = min(targets) if targets else None
        rate = occupied / built if built else None
        out[kind] = {
            "built_servers": built,
            "occupied_servers": occupied,
            "occupancy": rate,
            "target": target,
            "meets_target": (rate >= target) if rate is not None and target is not None else None,
            "below_target": sorted(
                cid
                for cid, s in cluster_stats.items()
                if s.get("kind", "cluster") == kind
                and s["occupancy_target"] is not None
                and s["occupancy"] < s["occupancy_target"]
            ),
        }
    return out


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _batch_class(spec: ClassSpec, st: ClassStats) -> layout.ClassSummary:
    judged = st.completed + st.dropped + st.lost
    return {
        "kind": "batch",
        "deadline_h": spec.deadline_h,
        "jobs": st.jobs,
        "completed": st.completed,
        "dropped": st.dropped,
        "lost": st.lost,
        "in_flight": st.jobs - judged,
        # the mean bundle size (with bundling: pool each pool bundles at its own scale)
        "job_scale": round(st.real_jobs / st.jobs) if st.jobs else spec.job_scale,
        "real_jobs": st.real_jobs,
        "latency_ms": {f"p{q}": _ms(hist_percentile(st.response_hist, q)) for q in (50, 95, 99)},
        "added_latency_ms": {f"p{q}": _ms(hist_percentile(st.added_hist, q)) for q in (50, 95, 99)},
        "mean_wait_s": st.mean_wait_s,
        # of the real jobs judged (completed, dropped, lost): the same share as of simulated ones
        # where a class's jobs are alike (exact: the counts are integers)
        "slo_violation_rate": (st.real_judged - st.real_met) / st.real_judged if st.real_judged else None,
    }


def _latency_class(spec: ClassSpec, st: FlowClassStats) -> layout.LatencyClassSummary:
    """A latency class's requests, rejections, waits and latency percentiles.

    ``added_latency_ms`` (RTT + wait) is read from the class's histogram, mixed
    exactly from every step's waiting-time law. ``latency_ms`` adds the service
    time, which is independent of the wait: its percentiles are those of the exact
    mixture of the service law shifted by each bin of the histogram
    (:func:`~sim.engine.histogram.hist_sum_percentiles`). The SLO-violation rate
    counts the rejected requests and the served ones whose RTT + wait exceeds the SLO.
    """
    served = st.served
    return {
        "kind": "latency",
        "slo_ms": spec.slo_ms,
        "requests": st.requests,
        "served": served,
        "rejected": st.rejected,
        "rejected_share": st.rejected / st.requests if st.requests else None,
        "p_wait": st.waited / served if served else None,
        "mean_wait_s": st.wait_sum_s / served if served else None,
        "latency_ms": _response_percentiles(spec, st),
        "added_latency_ms": {f"p{q}": _ms(hist_percentile(st.added_hist, q)) for q in (50, 95, 99)},
        "slo_violation_rate": (st.violations + st.rejected) / st.requests if st.requests else None,
    }


def _response_percentiles(spec: ClassSpec, st: FlowClassStats) -> dict[str, float | None]:
    def service_cdf(x: np.ndarray) -> np.ndarray:
        return size_cdf(spec.service_dist, spec.service_mean_s, spec.service_cv, x, spec.service_alpha)

    qs = (50, 95, 99)
    pct = hist_sum_percentiles(st.added_hist, service_cdf, qs)
    return {f"p{q}": _ms(v) for q, v in zip(qs, pct, strict=True)}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0
