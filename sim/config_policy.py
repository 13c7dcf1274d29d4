"""The ``policy`` section of a config: the policy's name, replanning, and the LP's objective weights.

``policy.params`` stays a mapping here: each policy validates its own with a
typed model (:mod:`sim.policies.params`), since the config layer does not know
the policies. The objective weights are typed here, under the planner's own
names (:class:`models.plan.inputs.PlanWeights`), because ``edwc expand`` reads
them as well as the ``lp`` policy.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from sim.config_base import Ident, NonNegFloat
from sim.config_base import Strict as _Strict

__all__ = ["DEPRECATED_WEIGHT_NAMES", "ObjectiveWeights", "PolicyConfig"]

#: The short weight names accepted before the planner's names (deprecated; README "lp policy").
DEPRECATED_WEIGHT_NAMES = {
    "latency": "latency_cny_per_ms_sh",
    "transfer": "transfer_cny_per_gb",
    "switching": "switching_cny_per_server",
    "unserved": "unserved_cny_per_sh",
}


def _named(field: str) -> Any:
    """A weight field under the planner's name that also reads its deprecated short name."""
    old = next(k for k, v in DEPRECATED_WEIGHT_NAMES.items() if v == field)
    return Field(None, validation_alias=AliasChoices(field, old), serialization_alias=field)


class ObjectiveWeights(_Strict):
    """The LP's objective weights (CNY), by :class:`~models.plan.inputs.PlanWeights`'s names.

    A weight left out takes the planner's default (``PlanWeights``, the one
    place defaults live), except ``transfer_cny_per_gb``, which the ``lp``
    policy then takes from ``network.price_cny_per_gb`` (the bandwidth price).
    ``unserved_cny_per_sh: .inf`` makes demand hard (no unserved work). The
    carbon price is ``energy.carbon_price_cny_per_t``. The short names
    ``latency``, ``transfer``, ``switching`` and ``unserved`` are read as
    before (deprecated).
    """

    latency_cny_per_ms_sh: NonNegFloat | None = _named("latency_cny_per_ms_sh")
    transfer_cny_per_gb: NonNegFloat | None = _named("transfer_cny_per_gb")
    switching_cny_per_server: NonNegFloat | None = _named("switching_cny_per_server")
    unserved_cny_per_sh: Annotated[float, Field(gt=0)] | None = _named("unserved_cny_per_sh")

    @model_validator(mode="before")
    @classmethod
    def _one_name_per_weight(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for old, new in DEPRECATED_WEIGHT_NAMES.items():
                if old in v and new in v:
                    raise ValueError(f"'{old}' is the deprecated name of '{new}': give one of them")
        return v

    @model_serializer(mode="wrap")
    def _given_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # the resolved config shows the weights given (the planner's defaults are not config)
        out: dict[str, Any] = handler(self)
        return {k: v for k, v in out.items() if v is not None}

    def planner_kwargs(self) -> dict[str, Any]:
        """The weights given, as ``PlanWeights`` keyword arguments (the rest keep its defaults)."""
        return {k: float(v) for k, v in self.model_dump().items()}


class PolicyConfig(_Strict):
    """The routing policy and its parameters (the knobs users sweep)."""

    name: Ident = "nearest"
    params: dict[str, Any] = Field(default_factory=dict)
    replan_h: Annotated[int, Field(ge=1, le=24 * 366)] = 24
    lookahead_h: Annotated[int, Field(ge=1, le=24 * 31)] = 24
    # LP objective weights (see docs/lp.md)
    weights: ObjectiveWeights = Field(default_factory=ObjectiveWeights)
