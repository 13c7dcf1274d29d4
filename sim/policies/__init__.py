"""Routing policies: which cluster serves a job.

Built-in: ``nearest``, ``cheapest``, ``greenest``, ``round_robin``,
``random``, ``spill_west``, ``lp`` (follows the planner) and ``carbon_aware``
(any of them for placement, plus holding batch work for the forecast-cleanest hour). Users add their
own by subclassing :class:`Policy` and either calling
:func:`register_policy` from Python, or declaring an entry point in their
package's metadata::

    [project.entry-points."edwc.policies"]
    my_policy = "my_package.module:MyPolicy"

Configs name policies from this registry; they never name import paths, so a
config file cannot make edwc run arbitrary code (an entry point is code the
user installed).
"""

from __future__ import annotations

from importlib.metadata import entry_points

import numpy as np

from models.errors import InputError
from sim.policies.base import Policy, hourly_rankings, ranked_candidates
from sim.policies.builtin import Cheapest, Greenest, Nearest, RandomChoice, RoundRobin, SpillWest
from sim.policies.carbon_aware import CarbonAware
from sim.scenario import Scenario

__all__ = [
    "Policy",
    "hourly_rankings",
    "make_policy",
    "policy_names",
    "ranked_candidates",
    "register_policy",
]

_REGISTRY: dict[str, type[Policy]] = {}
ENTRY_POINT_GROUP = "edwc.policies"


def register_policy(cls: type[Policy]) -> type[Policy]:
    """Register a policy class under its ``name`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise TypeError("a policy must subclass sim.policies.Policy")
    if not cls.name:
        raise ValueError("a policy class needs a non-empty 'name'")
    _REGISTRY[cls.name] = cls
    return cls


for _cls in (Nearest, Cheapest, Greenest, RoundRobin, RandomChoice, SpillWest, CarbonAware):
    register_policy(_cls)


def _load_entry_point(name: str) -> type[Policy] | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            cls: type[Policy] = ep.load()
            register_policy(cls)
            return _REGISTRY.get(name, cls)
    return None


def _builtin_lp() -> None:
    # imported on first use: it pulls in the planner (PuLP, HiGHS)
    if "lp" not in _REGISTRY:
        from sim.policies.lp import LpPolicy

        register_policy(LpPolicy)


def policy_names() -> list[str]:
    _builtin_lp()
    names = set(_REGISTRY) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def policy_class(name: str, source: str) -> type[Policy]:
    _builtin_lp()
    cls = _REGISTRY.get(name) or _load_entry_point(name)
    if cls is None:
        raise InputError(source, "policy.name", f"unknown policy '{name}'; expected one of {policy_names()}")
    return cls


def make_policy(scenario: Scenario, rng: np.random.Generator | None = None) -> Policy:
    """Instantiate the config's policy, checking its name and parameters.

    ``rng`` defaults to the scenario's policy stream (``scenario.streams.policy``).
    """
    pc = scenario.config.policy
    cls = policy_class(pc.name, scenario.source)
    unknown = sorted(set(pc.params) - set(cls.params))
    if unknown:
        allowed = sorted(cls.params) or "none"
        raise InputError(
            scenario.source,
            f"policy.params.{unknown[0]}",
            f"policy '{pc.name}' has no such parameter (accepts: {allowed})",
        )
    try:
        cls.check_params(pc.params)
    except ValueError as exc:
        raise InputError(scenario.source, "policy.params", str(exc)) from None
    if scenario.config.energy.power_management == "planned" and not cls.plans_power:
        raise InputError(
            scenario.source,
            "energy.power_management",
            f"'planned' powers the servers a plan keeps active, and policy '{pc.name}' makes no plan; "
            "expected always_on or reactive (or policy lp)",
        )
    return cls(scenario, pc.params, rng if rng is not None else scenario.streams.policy)
