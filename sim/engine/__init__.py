"""The discrete-event kernel: arrive -> route -> transfer -> queue -> serve.

- :mod:`~sim.engine.kernel`: :class:`Engine`, one simulation of a scenario;
- :mod:`~sim.engine.policy`: :class:`Policy`, the interface the engine calls (a run hands one in);
- :mod:`~sim.engine.pools`, :mod:`~sim.engine.sharing`: server pools and processor sharing;
- :mod:`~sim.engine.flows`, :mod:`~sim.engine.admission`, :mod:`~sim.engine.flowrecords`: latency
  classes as request flows, their admission control, and what they leave behind;
- :mod:`~sim.engine.power`: power management (servers online, by state);
- :mod:`~sim.engine.job`, :mod:`~sim.engine.records`, :mod:`~sim.engine.steplog`: what is recorded.

The engine imports no concrete policy, report or CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.engine.kernel import Engine
    from sim.engine.policy import EngineView, Policy, PolicyOutputs

__all__ = ["Engine", "EngineView", "Policy", "PolicyOutputs"]


def __getattr__(name: str) -> Any:
    """The package's names, imported on first use: a module of the package alone (e.g. the
    flow records' process, :mod:`sim.engine.flowworker`) does not load the whole engine."""
    if name == "Engine":
        from sim.engine.kernel import Engine

        return Engine
    if name in ("EngineView", "Policy", "PolicyOutputs"):
        from sim.engine import policy

        return getattr(policy, name)
    raise AttributeError(f"module 'sim.engine' has no attribute {name!r}")
