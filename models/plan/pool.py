"""Pool batch demand across regions whose path bandwidth cannot bind (an exact reduction).

Batch work pays no RTT-weighted cost; what it costs depends only on the
cluster and hour it runs in and the GB it moves (the same price from every
region). Its region matters only through the bandwidth rows of its paths. When
every region's total batch data of any hour (plus its backlog) fits within
its narrowest path, no bandwidth row can bind, and all regions' batch demand
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

from models.plan.inputs import FloatArray, PlanInputs
from models.plan.result import PlanResult, fifo_split

POOLED_REGION = "__batch_pool__"


def _batch_data_gb(inp: PlanInputs) -> FloatArray:
    """(R, T) GB of batch data each region could route in each hour (backlog in hour 0)."""
    batch = ~np.asarray(inp.is_latency)
    nu = np.asarray(inp.data_gb_per_sh)[batch]
    data = (inp.demand_sh[:, batch, :] * nu[None, :, None]).sum(axis=1)
    if inp.backlog_sh is not None:
        data[:, 0] += (inp.backlog_sh[:, batch, :].sum(axis=2) * nu[None, :]).sum(axis=1)
    return np.asarray(data)


def poolable(inp: PlanInputs) -> NDArray[np.bool_]:
    """(R,) regions whose batch data of every hour fits all their paths (no bandwidth row can bind)."""
    batch = ~np.asarray(inp.is_latency)
    if not batch.any():
        return np.zeros(len(inp.region_ids), dtype=bool)
    cap_gb = np.asarray(inp.bandwidth_gbps, dtype=float).min(axis=1) * 3600.0 / 8.0  # (R,)
    return np.asarray(_batch_data_gb(inp).max(axis=1) <= cap_gb * (1.0 - 1e-9))


def can_pool_batch(inp: PlanInputs) -> bool:
    """True when at least two regions' batch demand can be pooled."""
    return int(poolable(inp).sum()) >= 2


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
    n_c = inp.rtt_ms.shape[1]
    return replace(
        inp,
        region_ids=(*inp.region_ids, POOLED_REGION),
        demand_sh=demand,
        backlog_sh=backlog,
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
        for c in range(res.work_sh.shape[2]):
            z = res.work_sh[r, k, c]
            if z.sum() <= 0.0:
                continue
            slots = [res.routed_sh[r, k, c]]  # (T,) pooled arrivals by hour
            parts = [routed[:, k, c, :]]  # (R, T) each region's part of them
            if has_backlog:
                slots.insert(0, np.array([res.backlog_routed_sh[r, k, c]]))
                parts.insert(0, backlog_routed[:, k, c][:, None])
            arr = np.concatenate(slots)
            part = np.where(mask[:, k][:, None], np.concatenate(parts, axis=1), 0.0)
            m = fifo_split(arr, z)  # (S, T): part of slot s executed in hour t
            frac = np.divide(part, arr[None, :], out=np.zeros_like(part), where=arr[None, :] > 0)
            work[:, k, c, :] += frac @ m[:, :n_t]

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
