"""``timeseries.parquet`` and the per-cluster totals of ``summary.json``.

Per cluster and time step the engine has the exact integrals of busy
servers, queue length and jobs in transfer (:mod:`sim.engine.steplog`); energy, cost
and carbon follow from them with the hourly energy inputs (:mod:`models.energy.site`).

Server types (:mod:`models.servers`): each column is one pool of a site. The
site's green supply is netted against the site's energy as a whole, then
shared out to its pools in proportion to their energy in the step
(:func:`site_green_kw`), so a site's grid draw is ``max(0, energy - green)``
however its work is split between its CPU and GPU pools.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from models.energy.site import account
from models.servers import SERVER_TYPES
from sim.engine.kernel import Engine
from sim.runfolder import layout
from sim.scenario import Scenario

__all__ = ["column_it_kw", "site_green_kw", "timeseries_table"]


def column_it_kw(eng: Engine) -> tuple[np.ndarray, np.ndarray]:
    """(C, steps) IT power of every cluster and the part drawn by booting servers, kW.

    Idle power is paid by every powered server, working or not; a booting one
    draws ``power_control.boot_w`` (default: its own server's peak power).
    """
    scn = eng.scn
    dt = np.diff(eng.edges)
    given = scn.config.energy.power_control.boot_w
    n_c = scn.topology.n_clusters
    it = np.zeros((n_c, dt.size))
    boot = np.zeros((n_c, dt.size))
    for c in range(n_c):
        power = scn.power_of(c)
        boot_kw = (given if given is not None else power.peak_w) / 1000.0
        boot[c] = eng.bin_integrals[c, :, 4] / dt * boot_kw
        powered = eng.bin_integrals[c, :, 3] / dt
        busy = eng.bin_integrals[c, :, 0] / dt
        it[c] = power.it_kw(powered, busy) + boot[c]
    return it, boot


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def site_green_kw(scn: Scenario, facility_kw: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """(C, steps) green supply of each cluster: its site's, shared by the pools' facility power.

    ``facility_kw`` is each cluster's facility power per step. Where a site's
    pools draw nothing, the site's supply stays shared by design power (as in
    :attr:`Scenario.energy`).
    """
    topo = scn.topology
    given = scn.energy.green_kw[:, hour]
    if len(set(topo.sites)) == topo.n_clusters:
        return np.asarray(given, dtype=float)  # one pool per site: nothing to share
    sites = list(dict.fromkeys(topo.sites))
    idx = np.array([sites.index(s) for s in topo.sites])
    n_s = len(sites)
    site_green = np.zeros((n_s, given.shape[1]))
    site_power = np.zeros((n_s, given.shape[1]))
    np.add.at(site_green, idx, given)
    np.add.at(site_power, idx, facility_kw)
    total = site_power[idx]
    share = np.divide(facility_kw, total, out=np.zeros_like(total), where=total > 0)
    return np.asarray(np.where(total > 0, site_green[idx] * share, given), dtype=float)


def timeseries_table(
    eng: Engine, planned: Mapping[str, np.ndarray] | None = None
) -> tuple[pa.Table, dict[str, layout.ClusterSummary]]:
    """``timeseries.parquet`` rows (cluster-major) and per-cluster totals.

    With a plan (``planned``: the policy's planned cluster-hours, see
    :class:`~sim.engine.policy.PolicyOutputs`), ``planned_*`` columns put the
    plan's utilisation, energy, cost and carbon for the same step next to the
    simulated ones (NaN elsewhere).
    """
    scn = eng.scn
    topo = scn.topology
    edges = eng.edges
    dt = np.diff(edges)
    n_steps = dt.size
    hour = np.minimum((edges[:-1] // 3600).astype(int), scn.energy.n_hours - 1)
    sites = list(dict.fromkeys(topo.sites))
    site_index = [sites.index(s) for s in topo.sites]
    type_index = [SERVER_TYPES.index(t) for t in topo.types]
    cols: dict[str, list[np.ndarray]] = {k: [] for k in layout.names(layout.TIMESERIES_COLUMNS)}
    stats: dict[str, layout.ClusterSummary] = {}
    it_all, boot_all = column_it_kw(eng)
    green_all = site_green_kw(scn, it_all * scn.energy.pue[:, hour] + scn.energy.fixed[:, hour], hour)
    tflops = scn.tflops
    for c, cid in enumerate(topo.cluster_ids):
        busy_int = eng.bin_integrals[c, :, 0]  # real server-seconds
        servers = float(scn.servers[c])
        busy_avg = busy_int / dt
        powered_avg = eng.bin_integrals[c, :, 3] / dt
        booting_avg = eng.bin_integrals[c, :, 4] / dt
        boot_it_kw = boot_all[c]
        it_kw = it_all[c]
        pue = scn.energy.pue[c, hour]
        green_kw = green_all[c]
        tariff = scn.energy.tariff_cny_per_kwh[c, hour]
        grid_f = scn.energy.grid_kgco2_per_kwh[c, hour]
        marg = scn.energy.marginal_kgco2_per_kwh
        marg_f = None if marg is None else marg[c, hour]
        fixed_kw = scn.energy.fixed[c, hour]
        tot = account(
            it_kw * dt / 3600.0,
            pue,
            tariff,
            grid_f,
            green_kw * dt / 3600.0,
            marg_f,
            fixed_kwh=fixed_kw * dt / 3600.0,
        )
        nan = np.full(n_steps, np.nan)
        cols["time_s"].append(edges[:-1])
        cols["cluster"].append(np.full(n_steps, c, dtype=np.int32))
        cols["site"].append(np.full(n_steps, site_index[c], dtype=np.int32))
        cols["server_type"].append(np.full(n_steps, type_index[c], dtype=np.int32))
        cols["busy_pflops"].append(busy_avg * tflops[c] / 1000.0)
        cols["utilisation"].append(busy_avg / servers)
        cols["busy_servers"].append(busy_avg)
        cols["powered_servers"].append(powered_avg)
        cols["booting_servers"].append(booting_avg)
        ups = eng.power.ups[c]
        downs = eng.power.downs[c]
        cols["power_ups"].append(ups)
        cols["power_downs"].append(downs)
        transition_kwh = boot_it_kw * dt / 3600.0 * pue  # facility energy of booting servers
        cols["transition_kwh"].append(transition_kwh)
        cols["queue_len"].append(eng.bin_integrals[c, :, 1] / dt)  # batch jobs waiting
        cols["in_transfer"].append(eng.bin_integrals[c, :, 2] / dt)
        cols["latency_busy_servers"].append(eng.bin_integrals[c, :, 5] / dt)
        cols["latency_requests"].append(eng.flow_sink.requests_cs[c])
        cols["latency_rejected"].append(eng.flow_sink.rejected_cs[c])
        cols["it_power_kw"].append(it_kw)
        # the PUE users read: facility / IT power, fixed overhead included
        cols["pue"].append(scn.energy.effective_pue(it_kw, c, hour))
        cols["power_kw"].append(it_kw * pue + fixed_kw)
        cols["tariff_cny_per_kwh"].append(tariff)
        cols["grid_kgco2_per_kwh"].append(grid_f)
        cols["marginal_kgco2_per_kwh"].append(nan if marg_f is None else marg_f)
        cols["green_kw"].append(green_kw)
        cols["energy_kwh"].append(tot.facility_kwh)
        cols["grid_kwh"].append(tot.grid_kwh)
        cols["cost_cny"].append(tot.cost_cny)
        cols["tco2"].append(tot.tco2)
        cols["tco2_marginal"].append(nan if tot.tco2_marginal is None else tot.tco2_marginal)
        frac_h = dt / 3600.0
        if planned is not None:
            cols["planned_utilisation"].append(planned["load_sh"][c, hour] / servers)
            for key in ("energy_kwh", "cost_cny", "tco2"):
                cols[f"planned_{key}"].append(planned[key][c, hour] * frac_h)
        else:
            for key in ("planned_utilisation", "planned_energy_kwh", "planned_cost_cny", "planned_tco2"):
                cols[key].append(np.full(n_steps, np.nan))
        stats[cid] = {
            "side": topo.side(c),
            "kind": topo.kinds[c],
            "site": topo.sites[c],
            "server_type": topo.types[c],
            "tflops_per_server": float(tflops[c]),
            "installed_pflops": servers * float(tflops[c]) / 1000.0,
            "mean_busy_pflops": float(busy_int.sum() / eng.horizon) * float(tflops[c]) / 1000.0,
            # capacity states: built >= occupied (上架, usable) >= powered (power management)
            "servers": int(topo.cluster_servers[c]),
            "built_servers": int(topo.built_servers[c]),
            "occupancy": float(topo.occupancy[c]),
            "occupancy_target": _num(topo.occupancy_target[c]),
            "simulated_servers": int(scn.slots[c]),
            "mean_utilisation": float(busy_int.sum() / (servers * eng.horizon)),
            "busy_server_h": float(busy_int.sum() / 3600.0),
            "latency_server_h": float(eng.bin_integrals[c, :, 5].sum() / 3600.0),
            "powered_server_h": float(eng.bin_integrals[c, :, 3].sum() / 3600.0),
            "server_ups": int(ups.sum()),
            "server_downs": int(downs.sum()),
            "transition_kwh": float(transition_kwh.sum()),
            "transition_cost_cny": float((transition_kwh * tariff).sum()),
            "energy_kwh": float(tot.facility_kwh.sum()),
            "it_kwh": float(tot.it_kwh.sum()),
            "grid_kwh": float(tot.grid_kwh.sum()),
            "cost_cny": float(tot.cost_cny.sum()),
            "tco2": float(tot.tco2.sum()),
            "tco2_marginal": None if tot.tco2_marginal is None else float(tot.tco2_marginal.sum()),
        }
    arrays = []
    labels = {"cluster": list(topo.cluster_ids), "site": sites, "server_type": list(SERVER_TYPES)}
    for k, v in cols.items():
        flat = np.concatenate(v)
        if k in labels:
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(flat), pa.array(labels[k])))
        else:
            arrays.append(pa.array(flat))
    return pa.Table.from_arrays(arrays, schema=layout.schema(layout.TIMESERIES_COLUMNS)), stats
