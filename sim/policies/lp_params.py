"""The ``lp`` policy's parameters, typed, under the planner's own names.

The hard caps (``min_green_share``, ``max_tco2``, ``min_west_share``,
``hub_quota_sh``) are :class:`~models.plan.inputs.PlanWeights` fields and
``rho_max`` is :class:`~models.plan.inputs.PlanInputs`'s; their defaults are
read from there, so each default lives in one place. The objective weights are
``policy.weights`` (:class:`sim.config_policy.ObjectiveWeights`).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import Field

from models.plan.inputs import PlanInputs, PlanWeights
from models.plan.planner import RollingPlanner
from sim.config_base import Fraction, NonNegFloat, PosFloat
from sim.policies.params import Params

__all__ = ["LpParams"]


def _default(cls: type, name: str) -> Any:
    """The default of field ``name`` of the dataclass ``cls`` (the planner's default)."""
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


class LpParams(Params):
    """``policy.params`` of the ``lp`` policy.

    Attributes
    ----------
    rho_max : float
        Maximum utilisation of active servers in the plan, in (0, 1].
    solver : {"highspy", "highs", "cbc"}
        ``highspy``: the kept, warm-started HiGHS model (fast path); ``highs``: PuLP + HiGHS,
        cold (the reference); ``cbc``: PuLP + CBC.
    forecast_error : float
        Lognormal sigma of the demand forecast's error (0: perfect forecast).
    time_limit_s : float or None
        Solver time limit per window.
    defer : bool
        Hold batch work the plan shifts in time until its planned hour.
    min_green_share, max_tco2, min_west_share, hub_quota_sh
        Optional hard caps over each window (:class:`~models.plan.inputs.PlanWeights`).
    power_headroom : float
        ``energy.power_management: planned``: powered servers = planned active x this.
    min_powered_share : float
        ... and never fewer than this share of the installed servers.
    """

    rho_max: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = _default(PlanInputs, "rho_max")
    solver: Literal["highspy", "highs", "cbc"] = _default(RollingPlanner, "solver")
    forecast_error: Annotated[float, Field(ge=0, le=5, allow_inf_nan=False)] = 0.0
    time_limit_s: PosFloat | None = _default(RollingPlanner, "time_limit_s")
    defer: bool = True
    min_green_share: Fraction | None = _default(PlanWeights, "min_green_share")
    max_tco2: NonNegFloat | None = _default(PlanWeights, "max_tco2")
    min_west_share: Fraction | None = _default(PlanWeights, "min_west_share")
    hub_quota_sh: dict[str, NonNegFloat] | None = _default(PlanWeights, "hub_quota_sh")
    power_headroom: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 1.5
    min_powered_share: Fraction = 0.05

    def caps(self) -> dict[str, Any]:
        """The hard caps, as ``PlanWeights`` keyword arguments."""
        quota = self.hub_quota_sh
        return {
            "min_green_share": self.min_green_share,
            "max_tco2": self.max_tco2,
            "min_west_share": self.min_west_share,
            "hub_quota_sh": dict(quota) if quota else None,
        }
