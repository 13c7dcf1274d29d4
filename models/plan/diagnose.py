"""Say why a plan is infeasible or leaves work unserved, by re-solving with elastic slack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from models.plan.build import SparseLP, build_lp, route_mask
from models.plan.inputs import PlanInputs, PlanWeights
from models.plan.solve import RawSolution

TOL = 1e-6


def _has_caps(w: PlanWeights) -> bool:
    return any(x is not None for x in (w.max_tco2, w.min_green_share, w.min_west_share)) or bool(
        w.hub_quota_sh
    )


def describe_unserved(
    inp: PlanInputs, unserved: np.ndarray, top: int = 5, binding: tuple[str, ...] = ()
) -> list[str]:
    """One phrase per (region, class) with unserved work, largest first, with its likely cause."""
    routes = route_mask(inp)
    r_idx, k_idx = np.nonzero(unserved > TOL)
    order = np.argsort(-unserved[r_idx, k_idx])
    out = []
    for i in order[:top]:
        r, k = int(r_idx[i]), int(k_idx[i])
        if not routes[r, k].any():
            why = f"no cluster within its {inp.slo_ms[k]:g} ms SLO (nearest {inp.rtt_ms[r].min():.1f} ms)"
        elif binding:
            why = "held back by the binding cap(s) " + ", ".join(binding)
        else:
            why = "capacity x rho_max, bandwidth or deadline too tight on the clusters it may use"
        out.append(f"{inp.region_ids[r]}/{inp.class_names[k]}: {unserved[r, k]:.4g} sh unserved ({why})")
    if len(order) > top:
        out.append(f"... and {len(order) - top} more region/class pairs")
    return out


def _cap_violations(lp: SparseLP, sol: RawSolution) -> list[str]:
    out = []
    for name, col in lp.layout.cap_slack_cols.items():
        s = float(sol.col_value[col])
        if s > TOL:
            unit = {"max_tco2": "tCO2", "min_green_share": "kWh of green energy"}.get(
                name, "sh" if name.startswith("hub") else "sh of share-weighted load"
            )
            out.append(f"{name} cannot be met: it must be relaxed by {s:.4g} {unit}")
    return out


def _unserved_from(inp: PlanInputs, lp: SparseLP, sol: RawSolution) -> np.ndarray:
    L = lp.layout
    nr, nk, _, _ = inp.shape
    un = np.zeros((nr, nk))
    if len(L.u_col) and np.all(L.u_col >= 0):
        rr, kk, _ = np.nonzero(L.dem_row >= 0)
        np.add.at(un, (rr, kk), sol.col_value[L.u_col[: len(rr)]])
        np.add.at(un, (L.bdem_r, L.bdem_k), sol.col_value[L.u_col[len(rr) :]])
    return un


def diagnose_failure(
    inp: PlanInputs, w: PlanWeights, status: str, solve: Callable[[SparseLP], RawSolution]
) -> str:
    """Re-solve elastically: first with slack on every hard cap, then also on demand."""
    head = f"plan is {status}"
    if status not in ("infeasible", "infeasible_or_unbounded", "unbounded", "undefined"):
        return f"{head}: the solver stopped without a plan (try a longer time limit)"
    if _has_caps(w):
        lp = build_lp(inp, w, elastic=True)
        sol = solve(lp)
        if sol.has_solution:
            msgs = _cap_violations(lp, sol) + describe_unserved(inp, _unserved_from(inp, lp, sol))
            return f"{head}: " + "; ".join(msgs or ["caps conflict (no single slack found)"])
    w2 = replace(w, unserved_cny_per_sh=1e4) if not np.isfinite(w.unserved_cny_per_sh) else w
    lp = build_lp(inp, w2, elastic=True)
    sol = solve(lp)
    if not sol.has_solution:
        return f"{head}: the elastic re-solve also failed ({sol.status}); check the input arrays"
    msgs = _cap_violations(lp, sol) + [
        f"demand cannot be met: {m}" for m in describe_unserved(inp, _unserved_from(inp, lp, sol))
    ]
    return f"{head}: " + "; ".join(msgs or ["no slack needed in the elastic model (numerical trouble?)"])


def diagnose_unserved(inp: PlanInputs, unserved: np.ndarray, cap_duals: dict[str, float]) -> str | None:
    """For an optimal plan: which work is left unserved and which caps bind."""
    if unserved.sum() <= TOL:
        return None
    binding = tuple(n for n, d in cap_duals.items() if d > TOL)
    msgs = describe_unserved(inp, unserved, binding=binding)
    return f"{unserved.sum():.4g} sh unserved: " + "; ".join(msgs)
