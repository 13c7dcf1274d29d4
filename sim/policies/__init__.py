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

from sim.policies.base import Policy, hourly_rankings, ranked_candidates
from sim.policies.builtin import Cheapest, Greenest, Nearest, RandomChoice, RoundRobin
from sim.policies.carbon_aware import CarbonAware
from sim.policies.registry import make_policy, policy_class, policy_names, register_policy
from sim.policies.spill_west import SpillWest

__all__ = [
    "Policy",
    "hourly_rankings",
    "make_policy",
    "policy_class",
    "policy_names",
    "ranked_candidates",
    "register_policy",
]

for _cls in (Nearest, Cheapest, Greenest, RoundRobin, RandomChoice, SpillWest, CarbonAware):
    register_policy(_cls)
