"""The scenario config's schema (pydantic v2); loading lives in :mod:`sim.config_io`.

The top-level keys are the user contract of DESIGN.md, plus ``network`` and
``engine`` (documented in the README). Unknown keys are errors everywhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from sim.config_base import Fraction, Ident, NonNegFloat, PosFloat
from sim.config_base import Strict as _Strict
from sim.config_expansion import ExpansionConfig
from sim.config_policy import PolicyConfig
from sim.config_topology import ClusterOverride as ClusterOverride  # re-exported: the config's schema
from sim.config_topology import InlineCluster as InlineCluster
from sim.config_topology import InlineRegion as InlineRegion
from sim.config_topology import InlineTopology as InlineTopology
from sim.config_topology import NewSite as NewSite
from sim.config_topology import Overrides as Overrides
from sim.config_topology import RegionOverride as RegionOverride
from sim.config_topology import Servers as Servers

JOB_SCALE_MAX = 10**12
JobScale = Annotated[int, Field(ge=1, le=JOB_SCALE_MAX)]


# --------------------------------------------------------------------------- workloads


SizeDist = Literal["exponential", "fixed", "lognormal", "pareto"]


class Service(_Strict):
    """Service-time distribution of one job on one (real) server.

    ``cv`` is the coefficient of variation (lognormal, pareto); ``alpha`` the
    Pareto shape (> 1; default derived from ``cv``). Every distribution keeps
    the mean ``mean_s``.
    """

    dist: SizeDist = "exponential"
    mean_s: PosFloat
    cv: NonNegFloat = 1.0
    alpha: Annotated[float, Field(gt=1, allow_inf_nan=False)] | None = None


class BurstConfig(_Strict):
    """A demand burst: arrivals x ``multiplier`` for ``duration_h`` from ``start_h``."""

    start_h: NonNegFloat
    duration_h: PosFloat
    multiplier: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Workload(_Strict):
    """A workload class: latency-sensitive (``slo_ms``) or batch (``deadline_h``).

    ``rate_per_h`` is the mean rate in real jobs (requests) per hour over all
    regions; arrivals are a non-homogeneous Poisson process shaped by
    ``diurnal`` (a named profile or 24 hourly multipliers), ``weekend_factor``
    and ``bursts``. ``trace`` (a CSV or Parquet file, relative to the config
    file) replays this class's rows of a job trace instead. ``data_gb`` is the
    mean data volume per real job, drawn by ``data_dist`` with ``data_cv``.
    ``job_scale`` N (batch classes; default: ``engine.job_scale``): one
    simulated batch job bundles N real jobs and holds one simulated server
    (S real servers) for N/S times the drawn service time. On a latency class
    ``job_scale`` has no effect and is accepted only so that older configs
    run: latency classes are request-level flows at their real rate, queueing
    on the real server count (:mod:`sim.engine.flows`); overload is shed by
    ``engine.admission``.
    ``max_share``: at most this share of a cluster's servers may serve the class
    at once (a per-class utilisation target). ``priority`` (0 = most urgent;
    default 0 for latency, 1 for batch) orders classes when
    ``engine.queue: priority``.
    ``server_type`` (``cpu``, the default, or ``gpu``): the servers the class
    runs on; its service time is in seconds of that type of server. A site's
    GPU servers (its ``gpu_share``) form a pool that serves only ``gpu``
    classes (:mod:`models.servers`).
    """

    name: Ident
    kind: Literal["latency", "batch"]
    server_type: Literal["cpu", "gpu"] = "cpu"
    rate_per_h: NonNegFloat = 0.0
    service: Service
    slo_ms: PosFloat | None = None
    deadline_h: PosFloat | None = None
    data_gb: NonNegFloat = 0.0
    data_dist: SizeDist = "fixed"
    data_cv: NonNegFloat = 1.0
    regions: dict[str, NonNegFloat] | None = None
    diurnal: (
        Literal["daytime", "evening", "night", "flat"]
        | Annotated[list[NonNegFloat], Field(min_length=24, max_length=24)]
    ) = "flat"
    weekend_factor: Annotated[float, Field(ge=0, le=10)] = 1.0
    bursts: list[BurstConfig] = Field(default_factory=list)
    trace: str | None = None
    job_scale: JobScale | None = None
    max_share: Annotated[float, Field(gt=0, le=1)] = 1.0
    priority: Annotated[int, Field(ge=0, le=9)] | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind == "latency" and self.slo_ms is None:
            raise ValueError("a latency workload needs slo_ms (the RTT + wait budget in ms)")
        if self.kind == "batch" and self.deadline_h is None:
            raise ValueError("a batch workload needs deadline_h (hours from arrival to completion)")
        if self.kind == "latency" and self.deadline_h is not None:
            raise ValueError("deadline_h is for batch workloads; latency workloads use slo_ms")
        if self.kind == "batch" and self.slo_ms is not None:
            raise ValueError("slo_ms is for latency workloads; batch workloads use deadline_h")
        if self.regions is not None and sum(self.regions.values()) <= 0:
            raise ValueError("regions weights must not all be zero")
        if isinstance(self.diurnal, list) and sum(self.diurnal) <= 0:
            raise ValueError("a diurnal profile needs a positive hour")
        return self


# --------------------------------------------------------------------------- policy etc.


PowerMode = Literal["always_on", "reactive", "planned"]


class PowerControl(_Strict):
    """Parameters of server power management (``energy.power_control``).

    Defaults and their sources: ``seeds/power_management.yaml`` (engineering
    estimates built on Gandhi et al., ACM TOCS 2012 and Performance Evaluation
    2010). ``boot_s`` and ``boot_w`` apply to every mode that powers servers up
    (``reactive``, ``planned``); the rest to ``reactive`` only.

    - ``headroom``: keep ``ceil(demand x (1 + headroom))`` servers powered,
      where demand = busy servers + jobs waiting for one;
    - ``min_powered_share``: never fewer than this share of the installed
      servers (rounded up);
    - ``idle_timeout_s``: a server powers down only after this long idle (the
      most recently freed server is reused first, so the longest-idle ones go);
    - ``boot_s``: a server switched on serves work this long afterwards;
    - ``boot_w``: power drawn while booting (default: ``energy.peak_w``), so one
      power-up costs ``boot_w x boot_s`` of IT energy.
    """

    headroom: NonNegFloat = 0.2
    min_powered_share: Fraction = 0.05
    idle_timeout_s: NonNegFloat = 650.0
    boot_s: NonNegFloat = 260.0
    boot_w: NonNegFloat | None = None


class EnergyConfig(_Strict):
    """Energy accounting knobs.

    ``power_management`` (the same for every policy, so policies are compared
    on placement alone): ``always_on`` (default: every installed server that
    is not failed stays powered, as most data centres run today),
    ``reactive`` (a per-cluster autoscaler, :mod:`sim.engine.power`, tuned by
    ``power_control``) or ``planned`` (the ``lp`` plan's active servers x
    ``policy.params.power_headroom``; needs a planning policy).

    ``green_profile``: a CSV/Parquet file of hourly green supply (columns
    ``hour`` or ``time``, ``cluster``, ``green_kw``) replacing the synthetic
    solar and wind profiles of the clusters it names. ``network_kwh_per_gb``:
    energy of moving one GB over the backbone (an engineering estimate;
    Aslan et al. 2018 put the whole internet path at 0.06 kWh/GB in 2015,
    halving every two years). ``temp_offset_c`` shifts every cluster's
    outdoor temperature (heat waves). ``dc_tariff`` (default on): use the
    published data-centre tariffs where the reference has them (Guizhou 0.35,
    Inner Mongolia 0.26, Ningxia 0.36 CNY/kWh flat, TOU scaled alike); off: the
    provincial 35 kV grid tariff everywhere. ``idle_w``/``peak_w``: a CPU server;
    ``gpu_idle_w``/``gpu_peak_w``: a GPU server (engineering estimate: an
    8-accelerator training/inference server). ``cpu_tflops`` (FP32) and
    ``gpu_tflops`` (FP16): peak compute of one server of each type (engineering
    estimates: a two-socket server; 8 accelerators of ~310 TFLOPS FP16, the
    A800 / Ascend 910B class). A cluster's ``gpu_share`` of its servers form its
    GPU pool (:mod:`models.servers`); the site as a whole (green supply, fixed
    facility overhead) is sized on the blend of the two.

    ``grid_profile``: a CSV/Parquet file of hourly grid signals (columns
    ``hour`` or ``time``, ``cluster`` and any of ``grid_kgco2_per_kwh``,
    ``marginal_kgco2_per_kwh``, ``tariff_cny_per_kwh``) replacing the constant
    or banded values of the clusters and hours it names
    (:mod:`models.energy.grid_profile`). A run longer than the profile is
    refused unless ``grid_profile_repeat`` repeats it (whole days).
    ``carbon_signal``: the factor the planner and ``greenest`` minimise
    (``average`` or ``marginal``); accounting reports ``tco2`` (average) and,
    when a marginal factor is given, ``tco2_marginal``. ``residual_mix``: grid
    draw of clusters with contracted green power is multiplied by the residual
    mix, the average factor x ``residual_ratio`` (default: MEE's national
    residual over average factor, ``seeds/grid_carbon.yaml``).
    """

    carbon_price_cny_per_t: NonNegFloat = 0.0
    idle_w: NonNegFloat = 200.0
    peak_w: PosFloat = 500.0
    gpu_idle_w: PosFloat = 1500.0
    gpu_peak_w: PosFloat = 6000.0
    cpu_tflops: PosFloat = 3.0
    gpu_tflops: PosFloat = 2500.0
    network_kwh_per_gb: NonNegFloat = 0.005
    temp_offset_c: Annotated[float, Field(ge=-30, le=30)] = 0.0
    green_profile: str | None = None
    dc_tariff: bool = True
    grid_profile: str | None = None
    grid_profile_repeat: bool = False
    carbon_signal: Literal["average", "marginal"] = "average"
    residual_mix: bool = True
    residual_ratio: Annotated[float, Field(ge=1, le=3)] | None = None
    power_management: PowerMode = "always_on"
    power_control: PowerControl = Field(default_factory=PowerControl)

    @model_validator(mode="after")
    def _power(self) -> Self:
        if self.peak_w < self.idle_w:
            raise ValueError("peak_w must be at least idle_w")
        if self.gpu_peak_w < self.gpu_idle_w:
            raise ValueError("gpu_peak_w must be at least gpu_idle_w")
        return self


class Fault(_Strict):
    """A fault with its time window (hours from ``start``).

    - ``outage``: the cluster's servers drop to zero; its queued and running
      jobs, and jobs arriving meanwhile, are re-routed by the policy or lost
      (``on_outage``).
    - ``capacity_loss``: ``fraction`` of the servers are gone; running jobs
      finish, no new job starts above the reduced capacity.
    - ``link_degradation``: paths to the cluster (from ``region`` only, if
      given) have RTT x ``factor`` and bandwidth / ``factor``.
    """

    kind: Literal["outage", "capacity_loss", "link_degradation"]
    cluster: Ident
    start_h: NonNegFloat
    duration_h: PosFloat
    fraction: Annotated[float, Field(gt=0, le=1)] = 1.0
    factor: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 1.0
    region: Ident | None = None
    on_outage: Literal["reroute", "drop"] = "reroute"


class NetworkConfig(_Strict):
    """The paths batch data crosses before the job runs.

    Each region -> cluster path (``links: path``) or each home-hub -> cluster-hub
    pair (``links: hub_pair``) is one link of ``path_gbps``, shared equally by
    the transfers on it (processor sharing), each at most ``flow_gbps``.
    ``paths`` overrides the capacity of named links: ``"beijing->guian": 100``
    or, with hub pairs, ``"jingjinji->guizhou": 800``. ``price_cny_per_gb``: the
    bandwidth price of moving one GB to a cluster, charged in the accounting
    (``summary.json: bandwidth_cost_cny``) and, unless
    ``policy.weights.transfer_cny_per_gb`` is set, in the LP's objective;
    default: the seeds' estimate (national topologies) or 0 (inline
    topologies). ``route_factor`` (direct links from a hub city to a national
    cluster), ``internet_route_factor`` (every other path) and ``access_ms``
    (metro access, added to every path) replace the seeds' latency parameters
    of a national topology (an inline topology has its own ``route_factor``).
    """

    path_gbps: PosFloat = 100.0
    flow_gbps: PosFloat = 10.0
    links: Literal["path", "hub_pair"] = "path"
    paths: dict[str, PosFloat] = Field(default_factory=dict)
    price_cny_per_gb: NonNegFloat | None = None
    route_factor: Annotated[float, Field(ge=1, le=5)] | None = None
    internet_route_factor: Annotated[float, Field(ge=1, le=5)] | None = None
    access_ms: NonNegFloat | None = None


class AdmissionConfig(_Strict):
    """Admission control of latency flows (overload is shed, never queued for hours).

    A cluster admits the largest latency load for which ``P(RTT + wait <= SLO)``
    is at least ``quantile`` for every flow it receives, and at most
    ``max_utilisation`` of its available servers. With ``spill`` (default) the
    excess of each flow goes to its next candidate cluster within the SLO (by
    RTT); what no candidate admits is rejected. Default: 99 % of admitted
    requests meet the SLO, no utilisation cap.
    """

    quantile: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.99
    max_utilisation: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    spill: bool = True


class EngineConfig(_Strict):
    """Simulation knobs.

    ``job_scale`` S (batch work only): one simulated server of the batch pools
    stands for S real servers and, unless a batch workload sets its own
    ``job_scale``, one simulated batch job for S real jobs. Utilisation and
    energy are preserved while the event count falls S-fold; every output is
    in real units. Latency classes are flows on the real server count and do
    not depend on S (:mod:`sim.engine.flows`); ``admission`` sheds their
    overload (:class:`AdmissionConfig`).

    ``queue`` orders batch jobs on the servers latency flows leave them (latency
    flows always come first and preempt batch work): ``fcfs`` (default) first
    come, first served; ``priority`` lets more urgent batch classes
    (``Workload.priority``) preempt less urgent ones, which resume later;
    ``ps`` shares the servers among all present batch jobs (processor sharing).
    ``timestep_s`` is the step of the latency flows and of ``timeseries.parquet``.
    ``gpu_job_scale`` (default: ``job_scale``): the same for the GPU pools and
    the ``gpu`` workload classes, which are far smaller than the CPU side.

    ``bundling`` says where batch jobs are bundled. ``arrival`` (default): each
    (class, region) stream is bundled where it arrives (``job_scale`` real
    jobs a bundle) and the policy routes every bundle (:meth:`Policy.route`).
    ``pool``: the policy routes the batch classes' arrivals once per time step
    as shares (:meth:`Policy.route_batch`) and each pool bundles what it is sent
    at its own scale, ``pool_job_scale[pool]`` (default: its server type's
    ``job_scale`` / ``gpu_job_scale``), so that a large pool may take a large
    bundle while a small busy one keeps a small one (:mod:`sim.engine.poolfeed`).
    """

    job_scale: JobScale = 1
    gpu_job_scale: JobScale | None = None
    # refuse a run that would simulate more discrete jobs than this (an estimate, before the run)
    max_jobs: Annotated[int, Field(ge=1, le=10**12)] = 20_000_000
    timestep_s: Annotated[int, Field(gt=0, le=3600)] = 300
    queue: Literal["fcfs", "priority", "ps"] = "fcfs"
    admission: AdmissionConfig = Field(default_factory=AdmissionConfig)
    bundling: Literal["arrival", "pool"] = "arrival"
    # real servers per simulated server (and real jobs per bundle) of named pools, with bundling: pool
    pool_job_scale: dict[Ident, JobScale] = Field(default_factory=dict)

    @field_validator("timestep_s")
    @classmethod
    def _divides_hour(cls, v: int) -> int:
        if 3600 % v:
            raise ValueError("timestep_s must divide 3600 (e.g. 60, 300, 900, 3600)")
        return v


class OutputConfig(_Strict):
    dir: str | None = None


class Config(_Strict):
    """A whole scenario."""

    name: Ident
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    start: datetime = datetime.fromisoformat("2025-07-01T00:00:00+08:00")
    horizon_h: Annotated[float, Field(gt=0, le=24 * 366 * 10)]
    # national: the 10 clusters and the existing eastern metro data centres;
    # national_clusters: the 10 clusters only
    topology: Literal["national", "national_clusters"] | InlineTopology = "national"
    overrides: Overrides = Field(default_factory=Overrides)
    workloads: Annotated[list[Workload], Field(min_length=1)]
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    energy: EnergyConfig = Field(default_factory=EnergyConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    faults: list[Fault] = Field(default_factory=list)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    expansion: ExpansionConfig | None = None

    @field_validator("topology", mode="before")
    @classmethod
    def _topology_kind(cls, v: Any) -> Any:
        if not isinstance(v, dict) and v not in ("national", "national_clusters"):
            raise ValueError(
                "expected 'national' (the reference clusters and eastern metro data centres), "
                "'national_clusters' (the 10 clusters only) or a mapping with regions and clusters"
            )
        return v

    @field_validator("start")
    @classmethod
    def _tz(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2025-07-01T00:00:00+08:00")
        return v

    @field_validator("workloads")
    @classmethod
    def _unique_names(cls, v: list[Workload]) -> list[Workload]:
        names = [w.name for w in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"workload names must be unique; repeated: {dup}")
        return v
