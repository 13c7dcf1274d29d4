"""Helpers shared by the built-in policies; the interface itself is :class:`sim.engine.policy.Policy`."""

from __future__ import annotations

import numpy as np

from sim.engine.policy import Policy
from sim.scenario import Scenario

__all__ = ["Policy", "hourly_rankings", "ranked_candidates"]


def ranked_candidates(scn: Scenario, key: np.ndarray) -> list[list[list[int]]]:
    """ranked[k][r] = the candidates of class k from region r by ``key``, then RTT."""
    out: list[list[list[int]]] = []
    for k in range(len(scn.classes)):
        row = []
        for r in range(scn.topology.n_regions):
            cand = scn.candidates[k][r]
            order = np.lexsort((scn.topology.rtt_ms[r, cand], key[cand]))
            row.append([int(c) for c in cand[order]])
        out.append(row)
    return out


def hourly_rankings(scn: Scenario, key_ch: np.ndarray) -> tuple[list[int], list[list[list[list[int]]]]]:
    """Rankings by an hourly key (clusters x hours), computed once per distinct hour pattern.

    Returns ``(by_hour, rankings)`` with ``rankings[by_hour[h]][k][r]`` the
    ranked candidates in hour ``h``.
    """
    seen: dict[bytes, int] = {}
    rankings: list[list[list[list[int]]]] = []
    by_hour: list[int] = []
    for h in range(key_ch.shape[1]):
        col = np.ascontiguousarray(key_ch[:, h])
        sig = np.argsort(col, kind="stable").tobytes() + (col[:, None] == col[None, :]).tobytes()
        if sig not in seen:
            seen[sig] = len(rankings)
            rankings.append(ranked_candidates(scn, col))
        by_hour.append(seen[sig])
    return by_hour, rankings
