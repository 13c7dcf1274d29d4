"""edwc's engine and entry points: simulation, policies, metrics, sweeps, reports, CLI.

From Python::

    from sim import run, load, sweep

    res = run("configs/baseline.yaml", set={"horizon_h": 6}, out="runs/six_hours")
    res.summary["cost_cny"]           # summary.json as a dict
    res.timeseries                    # timeseries.parquet as a pandas DataFrame (read on first use)

- :func:`run` simulates a config (a file, a dict or a :class:`~sim.config.Config`)
  and returns a :class:`Result`;
- :func:`load` opens a run folder written earlier;
- :func:`sweep` runs a parameter sweep and returns its summary DataFrame.

They live in :mod:`sim.api` and are imported on first use, so that
``import sim.cli`` (the ``edwc`` command) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.api import Result, load, run, sweep

__all__ = ["Result", "load", "run", "sweep"]


def __getattr__(name: str) -> Any:
    # PEP 562: the API (and numpy, pandas, simpy behind it) is imported on first use
    if name in __all__:
        from sim import api

        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
