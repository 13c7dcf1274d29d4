"""The run's ``summary.json``, typed: :class:`Summary` and the parts it is made of.

Split out of :mod:`sim.runfolder.layout`, which re-exports every name here
(``layout.Summary`` etc.), so readers keep one place to look up a run folder.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class LatencyClassSummary(TypedDict):
    """``summary["classes"][name]`` of a latency class (request-level flows)."""

    kind: str  # latency
    slo_ms: float
    requests: int
    served: int
    rejected: int  # shed by admission control, or no cluster within the SLO
    rejected_share: float | None
    p_wait: float | None  # share of served requests that waited
    mean_wait_s: float | None
    latency_ms: dict[str, float | None]  # RTT + wait + service p50, p95, p99
    added_latency_ms: dict[str, float | None]  # RTT + wait p50, p95, p99
    slo_violation_rate: float | None  # (rejected + served beyond the SLO) / requests


class ClassSummary(TypedDict):
    """``summary["classes"][name]`` of a batch class (discrete jobs)."""

    kind: str  # batch
    slo_ms: NotRequired[float]
    deadline_h: NotRequired[float]
    jobs: int  # simulated jobs
    completed: int
    dropped: int
    lost: int
    in_flight: int
    job_scale: int  # real jobs per simulated job
    real_jobs: int
    latency_ms: dict[str, float | None]  # response time p50, p95, p99
    added_latency_ms: dict[str, float | None]  # network + wait p50, p95, p99
    mean_wait_s: float | None
    slo_violation_rate: float | None


class ClusterSummary(TypedDict):
    """``summary["clusters"][id]``: one cluster over the run."""

    side: str  # east | west
    kind: str  # cluster (national cluster) | metro (existing eastern metro data centres)
    site: str  # the physical site of this server pool
    server_type: str  # cpu | gpu
    tflops_per_server: float  # peak TFLOPS of one server (FP32 cpu, FP16 gpu)
    installed_pflops: float  # servers x tflops_per_server / 1000
    mean_busy_pflops: float  # mean busy servers x tflops_per_server / 1000
    servers: int  # occupied (上架) real servers: the ceiling of powered and used ones
    built_servers: int  # built capacity
    occupancy: float  # servers / built_servers (上架率)
    occupancy_target: float | None  # the 上架率 target, None where there is none
    simulated_servers: int
    mean_utilisation: float
    busy_server_h: float
    latency_server_h: float  # real server-hours of latency flows (part of busy_server_h)
    powered_server_h: float
    server_ups: int  # real servers switched on
    server_downs: int
    transition_kwh: float  # facility energy of booting servers (in energy_kwh)
    transition_cost_cny: float
    energy_kwh: float
    it_kwh: float
    grid_kwh: float
    cost_cny: float
    tco2: float
    tco2_marginal: float | None  # None when no marginal factor is given


class ComputeGroup(TypedDict):
    """``summary["compute"]["cpu" | "gpu"]``: the server pools of one type, all sites together."""

    precision: str  # FP32 (general-purpose) | FP16 (intelligent compute)
    servers: int  # occupied real servers
    installed_pflops: float  # servers x peak TFLOPS / 1000
    mean_busy_pflops: float  # mean busy servers x peak TFLOPS / 1000
    busy_server_h: float
    energy_kwh: float


class SideSummary(TypedDict):
    """``summary["east_west"]["east" | "west"]``."""

    energy_kwh: float
    cost_cny: float
    tco2: float
    tco2_marginal: float | None
    busy_server_h: float
    share_of_served_compute: float | None


class NetworkSummary(TypedDict):
    """``summary["network"]``: batch data moved over the backbone and its energy."""

    gb: float
    kwh: float
    cost_cny: float
    tco2: float
    kwh_per_gb: float
    bandwidth_cny_per_gb: float  # price of moving one GB to a cluster
    bandwidth_cost_cny: float  # gb x bandwidth_cny_per_gb


class CarbonSummary(TypedDict):
    """``summary["carbon"]``: how carbon was accounted and optimised."""

    signal: str  # energy.carbon_signal: average | marginal
    marginal_given: bool
    residual_mix: bool
    grid_profile: str | None
    held_jobs: int  # simulated jobs the policy held at their cluster (temporal shifting)
    mean_grid_kgco2_per_kwh: dict[str, float]  # per cluster: the factor on net grid draw, over the run


class FaultsSummary(TypedDict):
    count: int
    jobs_affected: int
    jobs_rerouted: int
    jobs_lost: int


class PowerSummary(TypedDict):
    """``summary["power_management"]``: the mode, powered servers and transitions (real servers)."""

    mode: str  # always_on | reactive | planned
    boot_s: float
    boot_w: float
    headroom: NotRequired[float]  # reactive only
    min_powered_share: NotRequired[float]
    idle_timeout_s: NotRequired[float]
    powered_server_h: float
    mean_powered_servers: float
    mean_powered_share: float | None  # of installed servers
    server_ups: int
    server_downs: int
    transition_kwh: float  # facility energy of booting servers (in energy_kwh)
    transition_cost_cny: float


class PerServerHour(TypedDict):
    """``summary["per_served_server_h"]``: totals over the server-hours of work served."""

    kwh: float | None
    cost_cny: float | None
    kgco2: float | None


class SloMetShare(TypedDict):
    """``summary["slo_met_share"]``: share of judged work that met its target (dropped/lost = missed).

    ``*_real`` weights each simulated job by the real jobs (requests) it stands for.
    """

    latency_real: float | None
    latency_simulated_jobs: float | None
    batch_real: float | None
    batch_simulated_jobs: float | None


class BacklogSummary(TypedDict):
    """``summary["terminal_backlog"]``: work still owed at the horizon, valued at the run's own rates."""

    jobs: int  # simulated jobs in flight
    server_h: float  # real server-hours of service they still need
    share_of_work: float | None  # server_h / (served + server_h)
    kwh: float  # server_h x the run's kWh per served server-hour
    cost_cny: float
    tco2: float


class TotalsSummary(TypedDict):
    energy_kwh: float
    cost_cny: float
    tco2: float


class OccupancyGroup(TypedDict):
    """``summary["occupancy"]["cluster" | "metro"]``: occupied vs built servers against the target."""

    built_servers: int
    occupied_servers: int
    occupancy: float | None
    target: float | None
    meets_target: bool | None
    below_target: list[str]  # sites under their own target


class Summary(TypedDict):
    """``summary.json``: one run's totals (units in the key names).

    ``jobs_total`` = ``jobs_completed`` + ``jobs_dropped`` + ``jobs_in_flight``
    (simulated batch jobs; ``classes[k]["real_jobs"]`` counts real ones).
    ``requests_total`` = ``requests_served`` + ``requests_rejected`` (latency flows).
    ``plan`` is present when the policy planned (``lp``).
    """

    name: str
    seed: int
    start: str
    horizon_h: float
    policy: str
    queue: str
    server_scale: int
    jobs_total: int
    jobs_completed: int
    jobs_dropped: int
    jobs_in_flight: int
    requests_total: int
    requests_served: int
    requests_rejected: int
    faults: FaultsSummary
    classes: dict[str, ClassSummary | LatencyClassSummary]
    clusters: dict[str, ClusterSummary]
    energy_kwh: float
    it_kwh: float
    cost_cny: float
    tco2: float
    tco2_marginal: float | None
    bandwidth_cost_cny: float  # network.gb x network.bandwidth_cny_per_gb (not in cost_cny)
    carbon: CarbonSummary
    east_west: dict[str, SideSummary]
    occupancy: dict[str, OccupancyGroup]  # national clusters vs the 65 % target; metro sites
    compute: dict[str, ComputeGroup]  # per server type present: PFLOPS installed and used
    network: NetworkSummary
    power_management: PowerSummary
    served_server_h: float  # busy real server-hours
    per_served_server_h: PerServerHour
    slo_met_share: SloMetShare
    terminal_backlog: BacklogSummary
    with_backlog: TotalsSummary  # totals + terminal_backlog
    plan: NotRequired[dict[str, Any]]
    simulation_s: NotRequired[float]
    wall_s: NotRequired[float]
