"""Inputs of the LP planner: arrays in, weights as knobs, and their validation.

See ``docs/lp.md`` for the formulation every field feeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


class PlanError(ValueError):
    """The planner cannot run: bad input arrays or a solver that is not installed."""


@dataclass(frozen=True)
class PlanInputs:
    """One planning window of ``T`` hours, as arrays indexed by position.

    Shapes: R regions, K classes, C clusters, T hours. Work is in real
    server-hours (sh); energy inputs are per cluster-hour.
    """

    region_ids: tuple[str, ...]
    cluster_ids: tuple[str, ...]
    class_names: tuple[str, ...]
    is_latency: BoolArray  # (K,)
    slo_ms: FloatArray  # (K,) inf for batch
    deadline_h: IntArray  # (K,) hours; 0 for latency classes (served in their arrival hour)
    demand_sh: FloatArray  # (R, K, T) work arriving in hour t
    data_gb_per_sh: FloatArray  # (K,) GB crossing the region->cluster path per server-hour
    rtt_ms: FloatArray  # (R, C)
    capacity_servers: FloatArray  # (C, T) servers available
    cluster_west: BoolArray  # (C,)
    cluster_hub: tuple[str, ...]
    pue: FloatArray  # (C, T)
    tariff_cny_per_kwh: FloatArray  # (C, T)
    grid_kgco2_per_kwh: FloatArray  # (C, T)
    green_kw: FloatArray  # (C, T)
    bandwidth_gbps: FloatArray  # (R, C) path capacity for batch data (inf: unlimited)
    idle_w: float | FloatArray  # one server's power: a number, or (C,) per cluster (server types)
    peak_w: float | FloatArray
    rho_max: float = 0.85
    backlog_sh: FloatArray | None = None  # (R, K, D): waiting work due by the end of window hour d
    # (R, K, C, D): the same backlog by the cluster whose queue holds it. Given, the backlog is
    # pinned there (an engine does not move queued work); None: the plan may place it anywhere
    backlog_at_sh: FloatArray | None = None
    allowed: BoolArray | None = None  # (K, C): class k may run on cluster c (its server type); None: all
    # the window is one period of a periodic steady state (a typical day of the expansion):
    # batch backlog at its end is the backlog at its start, and deadlines wrap around
    cyclic: bool = False

    @property
    def idle_kw(self) -> FloatArray:
        """(C,) idle power of one server of each cluster, kW."""
        return np.broadcast_to(np.asarray(self.idle_w, dtype=float) / 1000.0, (len(self.cluster_ids),))

    @property
    def peak_kw(self) -> FloatArray:
        """(C,) peak power of one server of each cluster, kW."""
        return np.broadcast_to(np.asarray(self.peak_w, dtype=float) / 1000.0, (len(self.cluster_ids),))

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(R, K, C, T)."""
        r, k, t = self.demand_sh.shape
        return r, k, len(self.cluster_ids), t


@dataclass(frozen=True)
class PlanWeights:
    """Objective weights (CNY) and optional hard caps: the knobs users sweep.

    ``unserved_cny_per_sh = math.inf`` makes demand hard (no unserved work allowed).
    ``hub_quota_sh`` caps the server-hours placed on each named hub over the window.
    """

    carbon_price_cny_per_t: float = 0.0
    latency_cny_per_ms_sh: float = 0.01
    transfer_cny_per_gb: float = 0.0
    switching_cny_per_server: float = 0.0
    unserved_cny_per_sh: float = 1e4
    min_green_share: float | None = None
    max_tco2: float | None = None
    min_west_share: float | None = None
    hub_quota_sh: dict[str, float] | None = None


def _shape(name: str, a: np.ndarray, want: tuple[int, ...]) -> None:
    if a.shape != want:
        raise PlanError(f"PlanInputs.{name} has shape {a.shape}, expected {want}")


def validate(inp: PlanInputs, w: PlanWeights) -> None:
    """Raise :class:`PlanError` naming the first field that is malformed."""
    if inp.demand_sh.ndim != 3:
        raise PlanError(f"PlanInputs.demand_sh must be (R, K, T), got shape {inp.demand_sh.shape}")
    r, k, c, t = inp.shape
    if (r, k, c) != (len(inp.region_ids), len(inp.class_names), len(inp.cluster_ids)):
        raise PlanError(
            f"PlanInputs: demand_sh is {inp.demand_sh.shape} but there are {len(inp.region_ids)} regions, "
            f"{len(inp.class_names)} classes and {len(inp.cluster_ids)} clusters"
        )
    if t < 1:
        raise PlanError("PlanInputs.demand_sh must cover at least one hour")
    for name in ("is_latency", "slo_ms", "deadline_h", "data_gb_per_sh"):
        _shape(name, np.asarray(getattr(inp, name)), (k,))
    for name in ("rtt_ms", "bandwidth_gbps"):
        _shape(name, np.asarray(getattr(inp, name)), (r, c))
    for name in ("capacity_servers", "pue", "tariff_cny_per_kwh", "grid_kgco2_per_kwh", "green_kw"):
        _shape(name, np.asarray(getattr(inp, name)), (c, t))
    _shape("cluster_west", np.asarray(inp.cluster_west), (c,))
    if len(inp.cluster_hub) != c:
        raise PlanError(f"PlanInputs.cluster_hub has {len(inp.cluster_hub)} entries, expected {c}")
    finite = (
        "demand_sh",
        "data_gb_per_sh",
        "rtt_ms",
        "capacity_servers",
        "pue",
        "tariff_cny_per_kwh",
        "grid_kgco2_per_kwh",
        "green_kw",
    )
    for name in finite:
        a = np.asarray(getattr(inp, name), dtype=float)
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise PlanError(f"PlanInputs.{name} must be finite and >= 0")
    if np.any(np.asarray(inp.bandwidth_gbps) < 0) or np.any(np.isnan(inp.bandwidth_gbps)):
        raise PlanError("PlanInputs.bandwidth_gbps must be >= 0 (inf for unlimited)")
    batch = ~np.asarray(inp.is_latency, dtype=bool)
    if np.any(np.asarray(inp.deadline_h)[batch] < 1):
        raise PlanError("PlanInputs.deadline_h must be >= 1 hour for every batch class")
    if not 0.0 < inp.rho_max <= 1.0:
        raise PlanError(f"PlanInputs.rho_max must be in (0, 1], got {inp.rho_max}")
    for name in ("idle_w", "peak_w"):
        a = np.asarray(getattr(inp, name), dtype=float)
        if a.ndim and a.shape != (c,):
            raise PlanError(f"PlanInputs.{name} must be a number or ({c},) per cluster, got {a.shape}")
    if not np.all((inp.idle_kw >= 0.0) & (inp.idle_kw <= inp.peak_kw)):
        raise PlanError(f"PlanInputs: need 0 <= idle_w <= peak_w, got {inp.idle_w}, {inp.peak_w}")
    if inp.allowed is not None and np.asarray(inp.allowed).shape != (k, c):
        got = np.asarray(inp.allowed).shape
        raise PlanError(f"PlanInputs.allowed must be (K, C) = ({k}, {c}), got {got}")
    if inp.cyclic and inp.backlog_sh is not None:
        raise PlanError("PlanInputs: a cyclic window has no backlog from before it (backlog_sh must be None)")
    if inp.backlog_sh is not None:
        b = np.asarray(inp.backlog_sh, dtype=float)
        if b.ndim != 3 or b.shape[:2] != (r, k):
            raise PlanError(f"PlanInputs.backlog_sh must be (R, K, D) = ({r}, {k}, D), got {b.shape}")
        if not np.all(np.isfinite(b)) or np.any(b < 0):
            raise PlanError("PlanInputs.backlog_sh must be finite and >= 0")
    if inp.backlog_at_sh is not None:
        at = np.asarray(inp.backlog_at_sh, dtype=float)
        if inp.backlog_sh is None or at.shape != (r, k, c, np.shape(inp.backlog_sh)[2]):
            raise PlanError(
                f"PlanInputs.backlog_at_sh must be (R, K, C, D) = ({r}, {k}, {c}, D) beside backlog_sh "
                f"(R, K, D), got {at.shape}"
            )
        if not np.all(np.isfinite(at)) or np.any(at < 0):
            raise PlanError("PlanInputs.backlog_at_sh must be finite and >= 0")
        if not np.allclose(at.sum(axis=2), np.asarray(inp.backlog_sh, dtype=float), rtol=1e-9, atol=1e-9):
            raise PlanError("PlanInputs.backlog_at_sh must sum over its clusters to backlog_sh")
    for name in (
        "carbon_price_cny_per_t",
        "latency_cny_per_ms_sh",
        "transfer_cny_per_gb",
        "switching_cny_per_server",
    ):
        v = getattr(w, name)
        if not math.isfinite(v) or v < 0:
            raise PlanError(f"PlanWeights.{name} must be finite and >= 0, got {v}")
    if not w.unserved_cny_per_sh > 0:
        raise PlanError("PlanWeights.unserved_cny_per_sh must be > 0 (inf: demand is hard)")
    for name in ("min_green_share", "min_west_share"):
        v = getattr(w, name)
        if v is not None and not 0.0 <= v <= 1.0:
            raise PlanError(f"PlanWeights.{name} must be in [0, 1], got {v}")
    if w.max_tco2 is not None and not w.max_tco2 >= 0:
        raise PlanError(f"PlanWeights.max_tco2 must be >= 0, got {w.max_tco2}")
    for hub, q in (w.hub_quota_sh or {}).items():
        if hub not in inp.cluster_hub:
            raise PlanError(f"PlanWeights.hub_quota_sh names hub {hub!r}, which has no cluster here")
        if not q >= 0:
            raise PlanError(f"PlanWeights.hub_quota_sh[{hub!r}] must be >= 0, got {q}")
