"""Typed policy parameters: one pydantic model per policy that takes ``policy.params``.

A model's fields and defaults *are* the policy's parameters: the policy's
``params`` mapping (what the registry lists and checks unknown keys against)
is :meth:`Params.defaults`, and :meth:`Params.parse` validates a config's
``policy.params`` once, raising :class:`ParamError` with the key and what was
expected (the run exits 2 naming ``policy.params.<key>``). Models of the
built-in policies without the planner live here; the ``lp`` policy's is
:mod:`sim.policies.lp_params`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import Field, ValidationError

from models.errors import format_loc
from sim.config_base import Fraction, NonNegFloat
from sim.config_base import Strict as _Strict

__all__ = ["CarbonAwareParams", "ParamError", "Params", "SpillWestParams"]


class ParamError(ValueError):
    """A bad policy parameter: ``key`` (dotted, inside ``policy.params``) and what was expected."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}" if key else message)


class Params(_Strict):
    """Base of typed policy parameters: unknown keys are errors, numbers are not booleans."""

    @classmethod
    def defaults(cls) -> Mapping[str, Any]:
        """Parameter name -> default: the policy's ``params`` mapping."""
        return {name: f.get_default(call_default_factory=True) for name, f in cls.model_fields.items()}

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> Self:
        """Validate ``params`` (missing keys take their defaults); raise :class:`ParamError`."""
        try:
            return cls.model_validate(dict(params))
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            key = format_loc(tuple(p for p in err["loc"] if not str(p).startswith("function-")))
            if err["type"] == "extra_forbidden":
                msg = f"no such parameter (accepts: {', '.join(sorted(cls.model_fields))})"
            else:
                msg = err["msg"].removeprefix("Value error, ")
                bad = err.get("input")
                if not isinstance(bad, dict | list):
                    msg += f" (got {bad!r})"
            raise ParamError(key, msg) from None


class SpillWestParams(Params):
    """``spill_west``: spill to the west when the home hub's utilisation reaches ``threshold``.

    ``home``: ``balanced`` sends home work to the least utilised home-hub site, ``nearest``
    to the nearest one below the threshold.
    """

    threshold: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.8
    home: Literal["nearest", "balanced"] = "balanced"


class CarbonAwareParams(Params):
    """``carbon_aware``: a placing policy (``route``, ``route_params``) plus temporal shifting.

    ``forecast_error``: lognormal sigma of the carbon forecast; ``threshold_kgco2_per_kwh``:
    start at once at or below this factor; ``horizon_h``: forecast hours (default: the longest
    batch deadline); ``max_utilisation``: share of a cluster-hour held work may book (null: no booking).
    """

    route: Annotated[str, Field(min_length=1)] = "nearest"
    route_params: dict[str, Any] = Field(default_factory=dict)
    forecast_error: Annotated[float, Field(ge=0, le=5, allow_inf_nan=False)] = 0.0
    threshold_kgco2_per_kwh: NonNegFloat | None = None
    horizon_h: Annotated[int, Field(ge=1, le=24 * 366)] | None = None
    max_utilisation: Annotated[Fraction, Field(gt=0)] | None = 0.8
