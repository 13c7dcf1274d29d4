"""The ``expansion`` section of a scenario config (read by ``edwc expand``; ignored by ``edwc run``).

Every key is optional; ``docs/expansion.md`` has the formulation each feeds.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from sim.config_base import Strict as _Strict

Rate = Annotated[float, Field(ge=-0.5, le=2.0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PueCap = Annotated[float, Field(ge=1, le=3, allow_inf_nan=False)]
Year = Annotated[int, Field(ge=2000, le=2100)]


class ClusterBuild(_Strict):
    """Per-cluster build cost and limits (override the seeds and the inline cluster's own)."""

    capex_cny_per_server_year: NonNeg | None = None
    max_new_servers: NonNeg | None = None
    max_new_mw: NonNeg | None = None


class Candidate(ClusterBuild):
    """A site that does not exist yet and may be built from zero (``expansion.candidates``).

    It is placed like ``overrides.new_sites``: like an existing site (hub, side, climate,
    tariff, grid factor, green and GPU shares), at ``lon``/``lat`` (default: the like
    site's); its build cost and limits are a site's (``ClusterBuild``).
    """

    like: str
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)


class Growth(_Strict):
    """Demand growth per year (a CAGR) from ``base_year``: ``default`` for every class, or per class."""

    default: Rate = 0.0
    classes: dict[str, Rate] = Field(default_factory=dict)


class TargetsConfig(_Strict):
    """The programme's targets, each optional; each gets a dual in expansion.json.

    ``pue_max``: ``seeds`` (each national cluster's approval ceiling), one number for
    every cluster, or cluster -> cap (annual energy-weighted PUE). ``min_occupancy``:
    minimum mean utilisation of installed servers (上架率), one number or cluster ->
    value. ``min_green_share``: green supply over energy of ``green_clusters`` (default
    all). ``min_west_share``: share of served server-hours in western clusters.
    """

    pue_max: (
        Literal["seeds"]
        | Annotated[float, Field(ge=1, le=3)]
        | dict[str, Annotated[float, Field(ge=1, le=3)]]
        | None
    ) = None
    min_occupancy: Fraction | dict[str, Fraction] | None = None
    min_green_share: Fraction | None = None
    green_clusters: list[str] | None = None
    min_west_share: Fraction | None = None


class ValidationConfig(_Strict):
    """The closed loop: simulate the expanded fleet for ``hours`` from the config's start
    (moved to the target year) with ``policy`` (default ``lp``) and ``power_management``
    (default: ``planned`` under ``lp``, whose plan counts only the servers it keeps active,
    like the expansion LP; else the config's own)."""

    enabled: bool = True
    hours: Annotated[int, Field(ge=1, le=24 * 31)] = 168
    policy: str | None = None
    power_management: Literal["always_on", "reactive", "planned"] | None = None
    job_scale: Annotated[int, Field(ge=1)] | None = None


class ExpansionConfig(_Strict):
    """Capacity expansion over a representative year (``edwc expand``).

    ``target_years``: one or more years after ``base_year`` (the year of the config's
    demand and fleet). Several years are planned one after another (myopic): what one
    period builds is installed in the next. ``typical_days``: k, or ``full`` (365 days).
    ``capex_cny_per_server_year`` / ``gpu_capex_cny_per_server_year``: annualised cost of a
    new CPU / GPU server (default: the seeds'). ``clusters`` keys name a site (its limits
    bound all its server pools together) or one pool such as ``zhangjiakou_gpu``
    (:mod:`sim.expansion.costs`). ``candidates``: new sites that may be built from zero
    servers (:class:`Candidate`).
    """

    base_year: Year = 2025
    target_years: Annotated[list[Year], Field(min_length=1)] = Field(default_factory=lambda: [2030])
    typical_days: Annotated[int, Field(ge=1, le=365)] | Literal["full"] = 12
    peak_day: bool = True
    growth: Growth = Field(default_factory=Growth)
    capex_cny_per_server_year: NonNeg | None = None
    gpu_capex_cny_per_server_year: NonNeg | None = None
    capex_decline: Annotated[float, Field(ge=0, lt=1)] | None = None
    clusters: dict[str, ClusterBuild] = Field(default_factory=dict)
    candidates: dict[str, Candidate] = Field(default_factory=dict)
    build_limits: Literal["none", "planned_scale"] = "none"
    bandwidth: bool = False
    bandwidth_cny_per_gbps_year: NonNeg | None = None
    new_green: Literal["proportional", "none"] = "proportional"
    rho_max: Annotated[float, Field(gt=0, le=1)] = 0.85
    targets: TargetsConfig = Field(default_factory=TargetsConfig)
    solver: Literal["highs", "highspy", "cbc"] = "highs"
    time_limit_s: Annotated[float, Field(gt=0)] | None = None
    validation: ValidationConfig = Field(default_factory=ValidationConfig)

    @model_validator(mode="after")
    def _years(self) -> Self:
        ys = self.target_years
        if any(b <= a for a, b in pairwise(ys)):
            raise ValueError("target_years must increase")
        if ys[0] < self.base_year:
            raise ValueError(f"target_years must not precede base_year ({self.base_year})")
        return self
