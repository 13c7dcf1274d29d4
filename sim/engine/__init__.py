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

from sim.engine.kernel import Engine
from sim.engine.policy import EngineView, Policy, PolicyOutputs

__all__ = ["Engine", "EngineView", "Policy", "PolicyOutputs"]
