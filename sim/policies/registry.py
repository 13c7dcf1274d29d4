"""The registry of routing policies: names -> classes, built-ins, entry points, and :func:`make_policy`.

The package's face (:mod:`sim.policies`) registers the built-in policies here;
``lp`` is registered on first use (it pulls in PuLP and HiGHS), and user
policies come from :func:`register_policy` or the ``edwc.policies`` entry
points. This module imports no concrete policy but ``lp`` (lazily), so a
policy that looks others up by name (``carbon_aware``) imports it without a cycle.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import numpy as np

from models.errors import InputError
from sim.policies.base import Policy
from sim.policies.params import ParamError
from sim.scenario import Scenario

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
    cls = _REGISTRY.get(name)
    if cls is None:  # the planner is imported only when it may be the one asked for
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
    except ParamError as exc:
        raise InputError(scenario.source, f"policy.params.{exc.key}", exc.message) from None
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
