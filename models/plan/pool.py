"""Pool batch demand across regions whose path bandwidth cannot bind (an exact reduction).

Batch work pays no RTT-weighted cost; what it costs depends only on the
cluster and hour it runs in and the GB it moves (the same price from every
region). Its region matters only through the bandwidth rows of its paths. When
every region's total batch data of any hour fits within its narrowest path
(backlog, already at the clusters, moves no data), no bandwidth row can bind, and all regions' batch demand
can be planned as one pooled region: the optimum is the same, with about a
region-count fewer batch variables. Regions whose paths could fill keep their
own batch rows. The pooled plan is then shared back to
the regions in proportion to their demand (any split of a pooled optimum is
itself optimal here).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from models.plan.inputs import FloatArray, PlanInputs, PlanWeights
from models.plan.result import PlanResult, fifo_split
from models.plan.terms import route_cost

POOLED_REGION = "__batch_pool__"


def _batch_data_gb(inp: PlanInputs) -> FloatArray:
    """(R, T) GB of batch data each region could route in each hour.

    Backlog is work already waiting at the clusters: its data crossed the network
    when it was routed and loads no path now.
    """
    batch = ~np.asarray(inp.is_latency)
    nu = np.asarray(inp.data_gb_per_sh)[batch]
    return np.asarray((inp.demand_sh[:, batch, :] * nu[None, :, None]).sum(axis=1))


def poolable(inp: PlanInputs) -> NDArray[np.bool_]:
    """(R,) regions whose batch data of every hour fits all their paths (no bandwidth row can bind)."""
    batch = ~np.asarray(inp.is_latency)
    if not batch.any():
        return np.zeros(len(inp.region_ids), dtype=bool)
    cap_gb = np.asarray(inp.bandwidth_gbps, dtype=float).min(axis=1) * 3600.0 / 8.0  # (R,)
    return np.asarray(_batch_data_gb(inp).max(axis=1) <= cap_gb * (1.0 - 1e-9))


def batch_cost_region_free(inp: PlanInputs, w: PlanWeights) -> bool:
    """True when routing batch work costs the same from every region (pooling is then exact)."""
    batch = ~np.asarray(inp.is_latency, dtype=bool)
    cost = route_cost(inp, w)[:, batch, :]  # (R, Kb, C)
    return bool(np.all(np.abs(cost - cost[:1]) <= 1e-12 * np.maximum(np.abs(cost[:1]), 1.0)))


def can_pool_batch(inp: PlanInputs, w: PlanWeights) -> bool:
    """True when at least two regions' batch demand can be pooled, exactly.

    Pooling is exact only while (a) no pooled region's bandwidth row can bind
    (:func:`poolable`) and (b) batch routing cost does not depend on the region
    (:func:`batch_cost_region_free`, checked against the LP's own cost,
    :func:`models.plan.terms.route_cost`).
    """
    return int(poolable(inp).sum()) >= 2 and batch_cost_region_free(inp, w)


def pool_batch(inp: PlanInputs) -> PlanInputs:
    """The same window with the poolable regions' batch demand (and backlog) moved to one pooled region."""
    batch = ~np.asarray(inp.is_latency)
    keep = ~poolable(inp)  # regions that keep their own batch demand
    r, k, t = inp.demand_sh.shape
    moved = batch[None, :] & ~keep[:, None]  # (R, K) entries that go to the pool
    demand = np.zeros((r + 1, k, t))
    demand[:r] = np.where(moved[:, :, None], 0.0, inp.demand_sh)
    demand[r] = np.where(moved[:, :, None], inp.demand_sh, 0.0).sum(axis=0)
    backlog = None
    if inp.backlog_sh is not None:
        backlog = np.zeros((r + 1, *inp.backlog_sh.shape[1:]))
        backlog[:r] = np.where(moved[:, :, None], 0.0, inp.backlog_sh)
        backlog[r] = np.where(moved[:, :, None], inp.backlog_sh, 0.0).sum(axis=0)
    backlog_at = None
    if inp.backlog_at_sh is not None:
        at = np.asarray(inp.backlog_at_sh, dtype=float)
        backlog_at = np.zeros((r + 1, *at.shape[1:]))
        backlog_at[:r] = np.where(moved[:, :, None, None], 0.0, at)
        backlog_at[r] = np.where(moved[:, :, None, None], at, 0.0).sum(axis=0)
    n_c = inp.rtt_ms.shape[1]
    return replace(
        inp,
        region_ids=(*inp.region_ids, POOLED_REGION),
        demand_sh=demand,
        backlog_sh=backlog,
        backlog_at_sh=backlog_at,
        rtt_ms=np.vstack([inp.rtt_ms, np.zeros((1, n_c))]),
        bandwidth_gbps=np.vstack([inp.bandwidth_gbps, np.full((1, n_c), np.inf)]),
    )


def _shares(parts: FloatArray, axis: int) -> FloatArray:
    """``parts`` normalised along ``axis`` (zeros where the total is zero)."""
    tot = parts.sum(axis=axis, keepdims=True)
    out: FloatArray = np.divide(parts, tot, out=np.zeros_like(parts, dtype=float), where=tot > 0)
    return out


def unpool_result(res: PlanResult, inp: PlanInputs) -> PlanResult:
    """Share a pooled plan's batch placements back to the pooled regions of ``inp``."""
    batch = ~np.asarray(inp.is_latency)
    pooled = poolable(inp)
    r = len(inp.region_ids)
    # each pooled region's share of each class-hour's pooled demand (zero for the others)
    d = np.where(pooled[:, None, None], inp.demand_sh, 0.0)  # (R, K, T)
    hour_share = _shares(d, axis=0)
    routed = np.array(res.routed_sh[:r])
    routed[pooled[:, None] & batch[None, :]] = 0.0
    routed[:, batch] += res.routed_sh[r, batch][None] * hour_share[:, batch][:, :, None, :]

    mask = pooled[:, None] & batch[None, :]  # (R, K) entries planned in the pool
    n_k = d.shape[1]
    backlog_total = np.zeros((r, n_k))
    if inp.backlog_sh is not None:
        backlog_total = np.where(pooled[:, None], inp.backlog_sh.sum(axis=2), 0.0)
    has_backlog = res.backlog_routed_sh.size > 0
    backlog_routed = np.array(res.backlog_routed_sh[:r]) if has_backlog else res.backlog_routed_sh
    if has_backlog:
        b_share = _shares(backlog_total, axis=0)
        backlog_routed[mask] = 0.0
        backlog_routed[:, batch] += res.backlog_routed_sh[r, batch][None] * b_share[:, batch][:, :, None]

    # executed work, first in first out: the pool's executions at each cluster are matched
    # to its arrivals (backlog first, then hour by hour), and each arrival slot's part is
    # shared among the regions in proportion to what they sent in that slot
    work = np.array(res.work_sh[:r])
    work[mask] = 0.0
    n_t = d.shape[2]
    for k in np.flatnonzero(batch):
        z = res.work_sh[r, k]  # (C, T) the pool's executions
        on = np.flatnonzero(z.sum(axis=1) > 0.0)  # clusters that execute some of it
        if not on.size:
            continue
        arr = res.routed_sh[r, k, on]  # (C_on, T) pooled arrivals by hour
        part = routed[:, k, on, :].transpose(1, 0, 2)  # (C_on, R, T) each region's part of them
        if has_backlog:
            arr = np.concatenate([res.backlog_routed_sh[r, k, on][:, None], arr], axis=1)
            part = np.concatenate([backlog_routed[:, k, on].T[:, :, None], part], axis=2)
        part = np.where(mask[:, k][None, :, None], part, 0.0)
        m = fifo_split(arr, z[on])  # (C_on, S, T): part of slot s executed in hour t
        frac = np.divide(part, arr[:, None, :], out=np.zeros_like(part), where=arr[:, None, :] > 0)
        for i, c in enumerate(on):
            work[:, k, c, :] += frac[i] @ m[i, :, :n_t]

    # unserved: what each pooled region's demand (each hour's, and its backlog) did not place
    left = d.sum(axis=2) - np.where(mask, routed.sum(axis=(2, 3)), 0.0)
    if has_backlog:
        left = left + backlog_total - np.where(mask, backlog_routed.sum(axis=2), 0.0)
    unserved = np.array(res.unserved_sh[:r])
    unserved[mask] = np.maximum(left[mask], 0.0)
    return replace(
        res,
        region_ids=inp.region_ids,
        routed_sh=routed,
        work_sh=work,
        unserved_sh=unserved,
        backlog_routed_sh=backlog_routed,
    )


# ---------------------------------------------------------------- latency classes sharing an SLO


def latency_groups(inp: PlanInputs) -> list[list[int]]:
    """Latency classes that the LP cannot tell apart, in groups (only groups of two or more).

    Two latency classes have identical columns when they have the same RTT budget
    (the same routes), the same GB per server-hour (the same transfer cost) and, as
    every latency class, pay the same latency cost per ms and server-hour and run in
    their arrival hour. Their demand can then be planned as one class: same optimum.
    """
    lat = np.asarray(inp.is_latency, dtype=bool)
    allowed = None if inp.allowed is None else np.asarray(inp.allowed, dtype=bool)
    keys: dict[tuple[float, float, bytes], list[int]] = {}
    for k in np.flatnonzero(lat):
        types = b"" if allowed is None else allowed[k].tobytes()  # same server type: same clusters
        keys.setdefault((float(inp.slo_ms[k]), float(inp.data_gb_per_sh[k]), types), []).append(int(k))
    return [g for g in keys.values() if len(g) >= 2]


def pool_latency(inp: PlanInputs, groups: list[list[int]]) -> PlanInputs:
    """The same window with each group's latency classes merged into its first class."""
    drop = [k for g in groups for k in g[1:]]
    keep = np.array([k for k in range(len(inp.class_names)) if k not in drop], dtype=np.int64)
    demand = np.array(inp.demand_sh, dtype=float)
    backlog = None if inp.backlog_sh is None else np.array(inp.backlog_sh, dtype=float)
    backlog_at = None if inp.backlog_at_sh is None else np.array(inp.backlog_at_sh, dtype=float)
    for g in groups:
        demand[:, g[0]] = demand[:, g].sum(axis=1)
        if backlog is not None:
            backlog[:, g[0]] = backlog[:, g].sum(axis=1)
        if backlog_at is not None:
            backlog_at[:, g[0]] = backlog_at[:, g].sum(axis=1)
    return replace(
        inp,
        class_names=tuple(inp.class_names[k] for k in keep),
        is_latency=np.asarray(inp.is_latency)[keep],
        slo_ms=np.asarray(inp.slo_ms)[keep],
        deadline_h=np.asarray(inp.deadline_h)[keep],
        data_gb_per_sh=np.asarray(inp.data_gb_per_sh)[keep],
        allowed=None if inp.allowed is None else np.asarray(inp.allowed)[keep],
        demand_sh=demand[:, keep],
        backlog_sh=None if backlog is None else backlog[:, keep],
        backlog_at_sh=None if backlog_at is None else backlog_at[:, keep],
    )


def unpool_latency(res: PlanResult, inp: PlanInputs, groups: list[list[int]]) -> PlanResult:
    """Share a plan of merged latency classes back to the classes of ``inp``.

    Each class of a group gets the group's placements of each region and hour in
    proportion to its demand of that region and hour (latency backlog counts in
    hour 0, where the LP serves it); what it does not get is its unserved work.
    """
    nr, nk, nt = inp.demand_sh.shape
    nc = res.work_sh.shape[2]
    lat = np.asarray(inp.is_latency, dtype=bool)
    d = np.array(inp.demand_sh, dtype=float)
    if inp.backlog_sh is not None:
        d[:, lat, 0] += np.asarray(inp.backlog_sh)[:, lat, :].sum(axis=2)
    first = {g[0]: g for g in groups}
    drop = {k for g in groups for k in g[1:]}
    src = {}  # class of inp -> class of the pooled plan
    j = 0
    for k in range(nk):
        if k in drop:
            continue
        for kk in first.get(k, [k]):
            src[kk] = j
        j += 1
    work = np.zeros((nr, nk, nc, nt))
    routed = np.zeros((nr, nk, nc, nt))
    unserved = np.zeros((nr, nk))
    broute = np.zeros((nr, nk, nc)) if res.backlog_routed_sh.size else res.backlog_routed_sh
    for k in range(nk):
        s = src[k]
        grp = first.get(k) or next((g for g in groups if k in g), None)
        if grp is None:
            work[:, k], routed[:, k] = res.work_sh[:, s], res.routed_sh[:, s]
            unserved[:, k] = res.unserved_sh[:, s]
            if res.backlog_routed_sh.size:
                broute[:, k] = res.backlog_routed_sh[:, s]
            continue
        tot = d[:, grp].sum(axis=1)
        share = np.divide(d[:, k], tot, out=np.zeros((nr, nt)), where=tot > 0)
        routed[:, k] = res.routed_sh[:, s] * share[:, None, :]
        work[:, k] = res.work_sh[:, s] * share[:, None, :]
        unserved[:, k] = np.maximum(d[:, k].sum(axis=1) - routed[:, k].sum(axis=(1, 2)), 0.0)
    names = {inp.class_names[k]: res.class_names[src[k]] for k in range(nk) if lat[k]}
    slo = {name: res.slo_dual[m] for name, m in names.items() if m in res.slo_dual}
    return replace(
        res,
        class_names=inp.class_names,
        work_sh=work,
        routed_sh=routed,
        unserved_sh=unserved,
        backlog_routed_sh=broute,
        slo_dual=slo,
    )
