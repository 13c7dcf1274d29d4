"""What every block of the planning LP shares: the window's demand, queue groups and backlog rows.

:func:`prepare_window` derives them once from :class:`~models.plan.inputs.PlanInputs`;
the ``define_*`` blocks of :mod:`models.plan.build` read them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.energy.site import it_power_kw
from models.plan.inputs import FloatArray, PlanInputs
from models.plan.sparse import IdArray

__all__ = ["Window", "prepare_window", "route_mask"]


def route_mask(inp: PlanInputs) -> NDArray[np.bool_]:
    """(R, K, C): cluster c may serve class k from region r (its RTT alone meets the SLO and
    its servers are of the class's type)."""
    ok = np.asarray(inp.rtt_ms)[:, None, :] <= np.asarray(inp.slo_ms, dtype=float)[None, :, None]
    if inp.allowed is not None:
        ok = ok & np.asarray(inp.allowed, dtype=bool)[None, :, :]
    return ok


@dataclass(frozen=True)
class Window:
    """What the blocks share: the window's demand, batch queue groups and backlog rows.

    Attributes
    ----------
    lat : bool array (K,)
        Latency classes.
    demand : (R, K, T)
        Demand per hour; latency backlog joins hour 0 (latency work is served in its arrival hour).
    has_dem : bool (R, K, T)
        Hours that get a demand row: every hour of a (region, class) with demand somewhere
        in the window (zero demand is a zero right-hand side), so the structure does not
        change between rolling windows.
    routes : bool (R, K, C)
        :func:`route_mask`.
    d_eff : int (K,)
        Effective deadline min(D, T).
    group_deadline, class_group, s_min
        Batch queue groups (one per distinct ``d_eff``), the group of each class (-1 for
        latency) and each group's first virtual arrival hour (<= 0).
    bdem_r, bdem_k, bdem_j, bdem_val
        Backlog demand rows: work of (r, k) due by the end of hour j, and its amount.
    bdem_at : (B, C) or None
        With ``PlanInputs.backlog_at_sh``: each backlog row's amount by the cluster whose
        queue holds it, the bound of its route columns (the backlog is pinned there).
    alpha, beta : (C, T)
        Facility kWh per active and per busy server-hour (PUE x the power law).
    cyclic : bool
        The window is one period of a periodic steady state (``PlanInputs.cyclic``).
    """

    lat: NDArray[np.bool_]
    demand: FloatArray
    has_dem: NDArray[np.bool_]
    routes: NDArray[np.bool_]
    d_eff: IdArray
    group_deadline: IdArray
    class_group: IdArray
    s_min: IdArray
    bdem_r: IdArray
    bdem_k: IdArray
    bdem_j: IdArray
    bdem_val: FloatArray
    alpha: FloatArray
    beta: FloatArray
    cyclic: bool = False
    bdem_at: FloatArray | None = None

    @property
    def n_groups(self) -> int:
        return len(self.group_deadline)


def prepare_window(inp: PlanInputs) -> Window:
    """Derive the shared arrays of :class:`Window` from the inputs (no columns or rows yet)."""
    _, nk, _, nt = inp.shape
    lat = np.asarray(inp.is_latency, dtype=bool)
    demand = np.asarray(inp.demand_sh, dtype=float)
    pue = np.asarray(inp.pue, dtype=float)
    # facility energy e = alpha a + beta L: the power law per powered (a) and busy (L) server-hour
    idle_w, peak_w = inp.idle_kw[:, None] * 1000.0, inp.peak_kw[:, None] * 1000.0
    alpha = pue * it_power_kw(1.0, 0.0, idle_w, peak_w)
    beta = pue * it_power_kw(0.0, 1.0, idle_w, peak_w)
    backlog = None if inp.backlog_sh is None else np.asarray(inp.backlog_sh, dtype=float)
    if backlog is not None:
        demand = demand.copy()
        demand[:, lat, 0] += backlog[:, lat, :].sum(axis=2)
    # batch queue groups: one per distinct effective deadline min(D, T)
    d_eff = np.minimum(np.asarray(inp.deadline_h, dtype=np.int64), nt)
    group_deadline = np.unique(d_eff[~lat]).astype(np.int64)
    class_group = np.full(nk, -1, dtype=np.int64)
    for g, d in enumerate(group_deadline):
        class_group[(~lat) & (d_eff == d)] = g
    # backlog: (r, k, j) due by the end of hour j, entered as a virtual arrival at s = j + 1 - D
    bdem_at = None
    if backlog is not None:
        bsum = _backlog_by_due_hour(backlog, lat, d_eff, nt)
        # one row per hour j < D for every batch (r, k) with backlog or demand, so that the
        # structure stays the same from window to window (zero rows are cheap)
        pair = (bsum > 0).any(axis=2) | ((demand > 0).any(axis=2) & ~lat[None, :])
        has_b = pair[:, :, None] & (np.arange(nt)[None, None, :] < d_eff[None, :, None])
        bdem_r, bdem_k, bdem_j = (a.astype(np.int64) for a in np.nonzero(has_b))
        bdem_val = bsum[bdem_r, bdem_k, bdem_j]
        if inp.backlog_at_sh is not None:
            at = np.moveaxis(np.asarray(inp.backlog_at_sh, dtype=float), 2, 0)  # (C, R, K, D)
            at_sum = _backlog_by_due_hour(at, lat, d_eff, nt)  # (C, R, K, T)
            bdem_at = np.ascontiguousarray(at_sum[:, bdem_r, bdem_k, bdem_j].T)  # (B, C)
    else:
        bdem_r = bdem_k = bdem_j = np.zeros(0, np.int64)
        bdem_val = np.zeros(0)
    s_min = np.array([1 - d if len(bdem_r) else 0 for d in group_deadline], dtype=np.int64)
    has_dem = np.broadcast_to((demand > 0).any(axis=2)[:, :, None], demand.shape)
    return Window(
        lat, demand, has_dem, route_mask(inp), d_eff, group_deadline, class_group, s_min,
        bdem_r, bdem_k, bdem_j, bdem_val, alpha, beta, inp.cyclic, bdem_at,
    )  # fmt: skip


def _backlog_by_due_hour(backlog: FloatArray, lat: NDArray[np.bool_], d_eff: IdArray, nt: int) -> FloatArray:
    """(..., K, D) batch backlog -> (..., K, T): due hours past the window in its last hour, work
    due after its class's deadline at the deadline, latency backlog none (it joins demand)."""
    bj = np.minimum(np.arange(backlog.shape[-1]), nt - 1)
    bsum = np.zeros((*backlog.shape[:-1], nt))
    for j in range(backlog.shape[-1]):
        bsum[..., bj[j]] += backlog[..., j]
    bsum[..., lat, :] = 0.0
    for k in np.nonzero(~lat)[0]:  # work due after the class deadline: due at the deadline
        dk = int(d_eff[k])
        bsum[..., k, dk - 1] += bsum[..., k, dk:].sum(axis=-1)
        bsum[..., k, dk:] = 0.0
    return bsum
