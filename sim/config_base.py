"""The strict base of every config model: unknown keys are errors and numbers are not booleans.

Shared by :mod:`sim.config` and :mod:`sim.config_expansion`.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Ident = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$", max_length=64)]
PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Strict(BaseModel):
    """A config model: extra keys are refused, defaults validated, booleans refused for numbers."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, v: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads true as 1; a number field takes numbers only
        if info.field_name is not None and _bool_for_number(cls.model_fields[info.field_name].annotation, v):
            raise ValueError("expected a number, not a boolean (true/false)")
        return v


def _accepts_bool(tp: Any) -> bool:
    """Whether the annotation ``tp`` takes a bool as itself (bool, Any, or a union with one)."""
    tp = _unwrap(tp)
    if tp is bool or tp is Any:
        return True
    if get_origin(tp) is Literal:
        return any(isinstance(a, bool) for a in get_args(tp))
    if get_origin(tp) in (Union, UnionType):
        return any(_accepts_bool(a) for a in get_args(tp))
    return False


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _branches(tp: Any) -> tuple[Any, ...]:
    tp = _unwrap(tp)
    if get_origin(tp) in (Union, UnionType):
        return tuple(_unwrap(a) for a in get_args(tp))
    return (tp,)


def _bool_for_number(tp: Any, v: Any) -> bool:
    """True when ``v`` holds a boolean where ``tp`` wants a number (also inside lists and dicts)."""
    if isinstance(v, bool):
        return not _accepts_bool(tp) and any(b in (int, float) for b in _branches(tp))
    if isinstance(v, dict):
        for b in _branches(tp):
            if get_origin(b) is dict:
                value_tp = get_args(b)[1]
                return any(_bool_for_number(value_tp, x) for x in v.values())
    if isinstance(v, list):
        for b in _branches(tp):
            if get_origin(b) is list:
                return any(_bool_for_number(get_args(b)[0], x) for x in v)
    return False
