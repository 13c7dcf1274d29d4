"""The planning LP's objective, term by term: the one definition of each cost.

Each function gives one term as a :class:`~models.plan.sparse.CostTerm`: the
columns it prices and the CNY per unit of each. :func:`objective` sums them
into the cost vector the solvers minimise, and the plan reports each term's
value at the solution (:mod:`models.plan.result`), so the reported terms add
up to the objective. The symbols are those of ``docs/lp.md``.

=================  ==========================================  =============================
term               CNY per unit of                             coefficient
=================  ==========================================  =============================
``energy_cny``     facility kWh: active (a), busy (L) servers   tariff x alpha, tariff x beta
``carbon_cny``     grid kWh (g)                                 carbon price x grid factor
``latency_cny``    latency server-hour routed r -> c            weight x RTT(r, c)
``transfer_cny``   batch or latency server-hour routed          weight x GB per server-hour
``switching_cny``  server switched on or off (up, dn)           switching weight
``unserved_cny``   server-hour left unserved (u)                unserved weight
``cap_slack_cny``  unit of cap violation (elastic mode only)    :data:`CAP_SLACK_CNY`
=================  ==========================================  =============================
"""

from __future__ import annotations

import numpy as np

from models.plan.inputs import FloatArray, PlanInputs, PlanWeights
from models.plan.sparse import CostTerm, Layout

__all__ = [
    "CAP_SLACK_CNY",
    "TERMS",
    "cap_slack",
    "carbon",
    "energy",
    "latency",
    "latency_cny_per_sh",
    "objective",
    "objective_terms",
    "route_cost",
    "switching",
    "transfer",
    "transfer_cny_per_sh",
    "unserved",
]

#: The terms every plan reports, in order (``cap_slack_cny`` only in elastic mode).
TERMS = ("energy_cny", "carbon_cny", "latency_cny", "transfer_cny", "switching_cny", "unserved_cny")
CAP_SLACK_CNY = 1e7  # elastic mode: price of one unit of cap violation (diagnosis only)


def transfer_cny_per_sh(inp: PlanInputs, w: PlanWeights) -> FloatArray:
    """(K,) CNY per server-hour of class k routed anywhere: transfer weight x GB per server-hour."""
    return np.asarray(w.transfer_cny_per_gb * np.asarray(inp.data_gb_per_sh, dtype=float))


def latency_cny_per_sh(inp: PlanInputs, w: PlanWeights) -> FloatArray:
    """(R, K, C) CNY per server-hour routed r -> c: latency weight x RTT, latency classes only."""
    lat = np.asarray(inp.is_latency, dtype=bool)
    rtt = np.asarray(inp.rtt_ms, dtype=float)
    return np.asarray(np.where(lat[None, :, None], w.latency_cny_per_ms_sh * rtt[:, None, :], 0.0))


def route_cost(inp: PlanInputs, w: PlanWeights) -> FloatArray:
    """(R, K, C) CNY per server-hour routed from region r to cluster c for class k.

    Transfer for every class plus latency for latency classes: the cost of a
    route column. Batch pooling (:mod:`models.plan.pool`) checks with it that
    batch cost does not depend on the region.
    """
    return np.asarray(transfer_cny_per_sh(inp, w)[None, :, None] + latency_cny_per_sh(inp, w))


def _route_cols(lay: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every route column (arrival and backlog) with its region, class and cluster."""
    return (
        np.concatenate([lay.x_col, lay.xb_col]),
        np.concatenate([lay.x_r, lay.xb_r]),
        np.concatenate([lay.x_k, lay.xb_k]),
        np.concatenate([lay.x_c, lay.xb_c]),
    )


def energy(inp: PlanInputs, lay: Layout, alpha: FloatArray, beta: FloatArray) -> CostTerm:
    """Tariff x facility energy e = alpha a + beta L, green or not (as the run accounts it)."""
    tariff = np.asarray(inp.tariff_cny_per_kwh, dtype=float)
    return CostTerm(
        "energy_cny",
        np.concatenate([lay.load_col.ravel(), lay.a_col.ravel()]),
        np.concatenate([(tariff * beta).ravel(), (tariff * alpha).ravel()]),
    )


def carbon(inp: PlanInputs, w: PlanWeights, lay: Layout) -> CostTerm:
    """Carbon price x grid energy g x grid factor (kgCO2/kWh, / 1000 for tonnes)."""
    factor = np.asarray(inp.grid_kgco2_per_kwh, dtype=float)
    return CostTerm("carbon_cny", lay.g_col.ravel(), (w.carbon_price_cny_per_t * factor / 1000).ravel())


def latency(inp: PlanInputs, w: PlanWeights, lay: Layout) -> CostTerm:
    """Latency weight x RTT of every routed server-hour of a latency class."""
    cols, r, k, c = _route_cols(lay)
    return CostTerm("latency_cny", cols, latency_cny_per_sh(inp, w)[r, k, c])


def transfer(inp: PlanInputs, w: PlanWeights, lay: Layout) -> CostTerm:
    """Transfer weight x GB moved by every routed server-hour (the bandwidth cost of moving data).

    Arrivals only: backlog is work already waiting at the clusters, whose data moved
    (and was paid for) when it was routed.
    """
    return CostTerm("transfer_cny", lay.x_col, transfer_cny_per_sh(inp, w)[lay.x_k])


def switching(w: PlanWeights, lay: Layout) -> CostTerm:
    """Switching weight x servers switched on (up) or off (dn) between hours."""
    cols = np.concatenate([lay.up_col.ravel(), lay.dn_col.ravel()])
    return CostTerm("switching_cny", cols, np.full(cols.size, w.switching_cny_per_server))


def unserved(w: PlanWeights, lay: Layout) -> CostTerm:
    """Unserved weight x server-hours left unserved (no columns when demand is hard)."""
    cols = lay.u_col[lay.u_col >= 0]
    return CostTerm("unserved_cny", cols, np.full(cols.size, w.unserved_cny_per_sh))


def cap_slack(lay: Layout) -> CostTerm:
    """:data:`CAP_SLACK_CNY` per unit of violation of a hard cap (elastic mode only)."""
    cols = np.array([lay.cap_slack_cols[n] for n in lay.cap_slack_cols], dtype=np.int64)
    return CostTerm("cap_slack_cny", cols, np.full(cols.size, CAP_SLACK_CNY))


def objective_terms(
    inp: PlanInputs, w: PlanWeights, lay: Layout, alpha: FloatArray, beta: FloatArray
) -> tuple[CostTerm, ...]:
    """Every term of the objective, in :data:`TERMS` order (then ``cap_slack_cny`` if elastic)."""
    out = (
        energy(inp, lay, alpha, beta),
        carbon(inp, w, lay),
        latency(inp, w, lay),
        transfer(inp, w, lay),
        switching(w, lay),
        unserved(w, lay),
    )
    return (*out, cap_slack(lay)) if lay.cap_slack_cols else out


def objective(n_cols: int, terms: tuple[CostTerm, ...]) -> FloatArray:
    """The cost vector: the sum of the terms' coefficients on each column."""
    cost = np.zeros(n_cols)
    for t in terms:
        cost[t.cols] += t.coef
    return cost
